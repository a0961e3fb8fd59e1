// Package pgnotify keeps one PostgreSQL connection listening, on a channel
// per cache, for the in-memory caches that PostgreSQL invalidates: a cache is live
// only while its listener is connected, so that it never serves a value
// whose change notification it could have missed.
//
// A connection through a transaction-mode pooler (PgBouncer's pool_mode =
// transaction) accepts LISTEN but does not deliver the notifications: the
// server connection that listened goes back to the pool when the statement
// ends. So the listener proves each connection with a round trip (Probe)
// before any cache goes live, and a connection that fails it keeps every
// cache off, with a warning, instead of serving entries nobody drops.
package pgnotify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/store"
)

// Subscriber is a cache kept current by notifications.
type Subscriber interface {
	// SetLive is called with true once the channel is listened on, and
	// with false as soon as the connection is lost; either way the cache
	// must drop what it holds.
	SetLive(live bool)
	// Notify receives one notification's payload.
	Notify(payload string)
}

// ErrCannotListen means LISTEN was accepted but the probe's notification
// never came back on that connection.
var ErrCannotListen = errors.New("pgnotify: a notification sent through the pool never reached the listening connection: " +
	"the database is reached through a transaction-mode pooler (PgBouncer pool_mode = transaction) or another proxy that cannot LISTEN")

// ProbeTimeout is how long a probe waits for its own notification.
const ProbeTimeout = 5 * time.Second

// cannotListenRetry is how often a listener whose connection failed the
// probe tries again (a pooler's configuration may change).
const cannotListenRetry = 30 * time.Second

// Listen listens on every channel of subs with one connection (configured
// as the pool's) until ctx ends, reconnecting with backoff, and feeds each
// channel's notifications to its subscriber. A connection that cannot
// deliver notifications (ErrCannotListen) keeps every subscriber off, said
// once as a warning, and is tried again every 30 seconds.
func Listen(ctx context.Context, pool *pgxpool.Pool, subs map[string]Subscriber, log *slog.Logger) {
	if len(subs) == 0 {
		return
	}
	backoff := 100 * time.Millisecond
	warned := false
	for ctx.Err() == nil {
		err := listenOnce(ctx, pool, subs, func() {
			backoff = 100 * time.Millisecond
			if warned {
				log.InfoContext(ctx, "the cache listener's notifications arrive again: caches and live updates are on")
				warned = false
			}
		})
		if ctx.Err() != nil {
			return
		}
		wait := backoff
		switch {
		case errors.Is(err, ErrCannotListen):
			if !warned {
				log.WarnContext(ctx, "cannot LISTEN through this database connection: the in-memory caches (sessions, API tokens, list pages, unread counts) "+
					"and the pages' live updates are OFF, every read goes to the database, and pages update on reload; "+
					"give serve a direct or session-pooled connection to turn them on", slog.String("error", err.Error()))
				warned = true
			}
			wait = cannotListenRetry
		default:
			log.WarnContext(ctx, "cache listener down; reading from the database until it is back", slog.String("error", err.Error()))
			backoff = min(2*backoff, 10*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Probe checks that a connection configured as pool's receives
// notifications: it listens on a channel of its own, sends one
// notification there through the pool, and waits up to timeout for it.
// ErrCannotListen when it does not come.
func Probe(ctx context.Context, pool *pgxpool.Pool, timeout time.Duration) error {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return probe(ctx, conn, pool, timeout)
}

// probe runs the round trip on conn, which may listen on other channels
// already: their notifications meanwhile are dropped (no cache is live
// yet).
func probe(ctx context.Context, conn *pgx.Conn, pool *pgxpool.Pool, timeout time.Duration) error {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	channel := "portico_probe_" + hex.EncodeToString(b)
	if err := store.Listen(ctx, conn, channel); err != nil {
		return err
	}
	if err := store.NotifyProbe(ctx, pool, store.NotifyProbeParams{Channel: channel, Payload: "probe"}); err != nil {
		return fmt.Errorf("pgnotify: sending the probe: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		n, err := conn.WaitForNotification(wctx)
		switch {
		case err == nil && n.Channel == channel:
			return nil // the channel stays listened on: nothing else sends there
		case err == nil:
			continue
		case ctx.Err() == nil && wctx.Err() != nil:
			return ErrCannotListen
		default:
			return err
		}
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, subs map[string]Subscriber, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// Only a connection that has shown it receives notifications makes
	// the caches live. The probe comes first, so that the connection's
	// last statement in pg_stat_activity names what it listens for; what
	// is sent before the LISTENs below does not matter, since no cache is
	// live yet.
	if err := probe(ctx, conn, pool, ProbeTimeout); err != nil {
		return err
	}
	for channel := range subs {
		if err := store.Listen(ctx, conn, channel); err != nil {
			return err
		}
	}
	connected()
	for _, sub := range subs {
		sub.SetLive(true)
		defer sub.SetLive(false)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if sub, ok := subs[n.Channel]; ok {
			sub.Notify(n.Payload)
		}
	}
}
