// Package pgnotify keeps one PostgreSQL connection listening, on a channel
// per cache, for the in-memory caches that PostgreSQL invalidates: a cache is live
// only while its listener is connected, so that it never serves a value
// whose change notification it could have missed.
package pgnotify

import (
	"context"
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

// Listen listens on every channel of subs with one connection (configured
// as the pool's) until ctx ends, reconnecting with backoff, and feeds each
// channel's notifications to its subscriber.
func Listen(ctx context.Context, pool *pgxpool.Pool, subs map[string]Subscriber, log *slog.Logger) {
	if len(subs) == 0 {
		return
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := listenOnce(ctx, pool, subs, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		log.WarnContext(ctx, "cache listener down; reading from the database until it is back", slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, subs map[string]Subscriber, connected func()) error {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
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
