// Package hooks receives the sources' change notices at
// POST /hooks/{connection} (and /hooks/{connection}/{secret} for sources
// that cannot sign, such as Salesforce outbound messages): it has the
// connection's connector verify the notice, drops a replay of events it
// saw within the replay window, enqueues one targeted refresh per named
// record (each record at most once per coalescing window, plus one at the
// window's end when a notice came after that refresh read the source) and
// answers at once. The only thing it stores is which source events it has seen.
package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
)

const (
	// maxBody caps a notice; real ones are a few kilobytes, and Salesforce
	// outbound messages of 100 notifications stay well below it.
	maxBody = 1 << 20
	// maxChanges caps the records one notice may name (Salesforce sends at
	// most 100 per message; its connector refuses more itself).
	maxChanges = 1000
	// DefaultCoalesce is how long a record named again waits for its next
	// refresh: a flood of notices costs one source call per record.
	DefaultCoalesce = 10 * time.Second
	// DefaultReplayWindow is how long a source event is remembered.
	DefaultReplayWindow = 24 * time.Hour
	// pruneEvery spaces the deletion of forgotten events.
	pruneEvery = time.Minute
)

// Lookup finds a connection's connector.
type Lookup func(connection string) (connectors.Connector, bool)

// Inserter enqueues jobs inside a transaction (a River client).
type Inserter interface {
	InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// Handler serves /hooks.
type Handler struct {
	Lookup   Lookup
	Pool     *pgxpool.Pool
	TenantID int64
	River    Inserter
	// PublicURL is the portal's external base URL; signatures that cover
	// the notification URL are checked against PublicURL + the path.
	PublicURL string
	Logger    *slog.Logger
	// Coalesce: each record is refreshed at most once per this window
	// (DefaultCoalesce when zero).
	Coalesce time.Duration
	// ReplayWindow: a notice whose events were all seen within it is
	// answered but enqueues nothing (DefaultReplayWindow when zero).
	ReplayWindow time.Duration
	// Synced says whether anything syncs a connection's source object; a
	// change of one nothing syncs (a webhook names every object its source
	// changed) enqueues nothing. Nil: every object is refreshed.
	Synced func(connection, object string) bool

	lastPrune atomic.Int64
}

// Routes returns the sub-router to mount at /hooks.
func (h *Handler) Routes() chi.Router {
	r := chi.NewRouter()
	r.Post("/{connection}", h.receive)
	r.Post("/{connection}/{secret}", h.receive)
	return r
}

func (h *Handler) receive(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rp := reply.New(h.Logger)
	name := chi.URLParam(r, "connection")
	secret := chi.URLParam(r, "secret")
	url := strings.TrimRight(h.PublicURL, "/") + r.URL.Path
	redactSecret(r, secret)
	conn, ok := h.Lookup(name)
	verifier, canVerify := conn.(connectors.WebhookVerifier)
	if !ok || !canVerify {
		rp.Error(w, r, http.StatusNotFound, "not_found", "no webhook endpoint for this connection")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		rp.Error(w, r, http.StatusRequestEntityTooLarge, "too_large", "notice body is too large")
		return
	}
	changes, err := verifier.VerifyWebhook(ctx, connectors.WebhookRequest{URL: url, Header: r.Header, Body: body, Secret: secret})
	if errors.Is(err, connectors.ErrInvalidSignature) {
		h.Logger.WarnContext(ctx, "webhook with an invalid signature",
			slog.String("connection", name), slog.String("remote", r.RemoteAddr),
			slog.String("request_id", middleware.GetReqID(ctx)))
		rp.Error(w, r, http.StatusUnauthorized, "invalid_signature", "signature does not verify")
		return
	}
	if err != nil {
		rp.Error(w, r, http.StatusBadRequest, "invalid", "cannot read the notice: "+err.Error())
		return
	}
	if len(changes) > maxChanges {
		rp.Error(w, r, http.StatusRequestEntityTooLarge, "too_many", fmt.Sprintf("a notice may name at most %d records", maxChanges))
		return
	}
	res, err := h.enqueue(ctx, name, changes)
	if err != nil {
		// 503 makes the source retry the notice later.
		rp.Fail(w, r, &reply.Error{Status: http.StatusServiceUnavailable, Code: "unavailable", Message: "try again",
			Cause: fmt.Errorf("hooks: enqueueing webhook refreshes for connection %s: %w", name, err)})
		return
	}
	h.prune(ctx)
	if acker, ok := conn.(connectors.WebhookAcker); ok {
		ct, ack := acker.WebhookAck()
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(ack)
		return
	}
	status := http.StatusAccepted
	if res.Replay {
		// 2xx stops the source's retries; nothing was enqueued.
		status = http.StatusOK
	}
	rp.JSON(w, r, status, res)
}

// redactSecret keeps the secret path segment out of the request log, which
// reads the path after the handler returns (the URL is shared with it).
func redactSecret(r *http.Request, secret string) {
	if secret == "" {
		return
	}
	// Replace the last segment whatever its encoding: the secret may reach
	// chi percent-encoded, and then the decoded path would not end with it.
	i := strings.LastIndexByte(strings.TrimSuffix(r.URL.Path, "/"), '/')
	r.URL.Path = r.URL.Path[:i+1] + "[secret]"
	r.URL.RawPath = ""
}

// result is the answer to an accepted notice.
type result struct {
	Accepted  int  `json:"accepted"`            // refreshes enqueued
	Coalesced int  `json:"coalesced,omitempty"` // records refreshed within the window already
	Replay    bool `json:"replay,omitempty"`    // every event was seen before
}

// enqueue records the notice's events and enqueues a refresh per record
// of the unseen ones, in one transaction: a notice that fails to enqueue is
// not remembered, so the source's retry is not taken for a replay.
func (h *Handler) enqueue(ctx context.Context, name string, changes []connectors.Change) (result, error) {
	var res result
	if len(changes) == 0 {
		return res, nil
	}
	err := pgx.BeginFunc(ctx, h.Pool, func(tx pgx.Tx) error {
		fresh, err := h.unseen(ctx, tx, name, changes)
		if err != nil {
			return err
		}
		res.Replay = len(fresh) == 0
		params := h.refreshes(name, fresh)
		if len(params) == 0 {
			return nil
		}
		inserted, err := h.River.InsertManyTx(ctx, tx, params)
		if err != nil {
			return fmt.Errorf("hooks: enqueue: %w", err)
		}
		var trailing []river.InsertManyParams
		for _, in := range inserted {
			if !in.UniqueSkippedAsDuplicate {
				res.Accepted++
				continue
			}
			res.Coalesced++
			if p, ok := h.trailing(in.Job); ok {
				trailing = append(trailing, p)
			}
		}
		if len(trailing) == 0 {
			return nil
		}
		if _, err := h.River.InsertManyTx(ctx, tx, trailing); err != nil {
			return fmt.Errorf("hooks: enqueue: %w", err)
		}
		return nil
	})
	return res, err
}

// trailing returns the refresh that follows a coalesced notice when the
// record's refresh of this window may already have read the source
// (running or done): one more at the start of the next window, unique for
// that window, so the change this notice announces is not lost.
func (h *Handler) trailing(job *rivertype.JobRow) (river.InsertManyParams, bool) {
	if job.State != rivertype.JobStateRunning && job.State != rivertype.JobStateCompleted {
		return river.InsertManyParams{}, false // it has yet to read the source
	}
	var args syncer.RefreshArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		return river.InsertManyParams{}, false
	}
	window := h.coalesce()
	next := time.Now().Truncate(window).Add(window)
	return river.InsertManyParams{Args: args, InsertOpts: &river.InsertOpts{
		ScheduledAt: next, UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: window},
	}}, true
}

// unseen drops the changes whose event was seen within the replay window
// and records the others. Changes that name no event are kept.
func (h *Handler) unseen(ctx context.Context, tx pgx.Tx, name string, changes []connectors.Change) ([]connectors.Change, error) {
	var events []string
	named := map[string]bool{}
	for _, c := range changes {
		if c.Event != "" && !named[c.Event] {
			named[c.Event] = true
			events = append(events, c.Event)
		}
	}
	if len(events) == 0 {
		return changes, nil
	}
	fresh, err := store.WebhookEventsSee(ctx, tx, store.WebhookEventsSeeParams{
		TenantID: h.TenantID, Connection: name, Events: events, WindowSeconds: h.replayWindow().Seconds(),
	})
	if err != nil {
		return nil, fmt.Errorf("hooks: recording events: %w", err)
	}
	isFresh := make(map[string]bool, len(fresh))
	for _, e := range fresh {
		isFresh[e] = true
	}
	out := make([]connectors.Change, 0, len(changes))
	for _, c := range changes {
		if c.Event == "" || isFresh[c.Event] {
			out = append(out, c)
		}
	}
	return out, nil
}

// refreshes builds one refresh job per distinct record, unique per record
// and coalescing window (finished jobs included, so a record refreshed a
// moment ago is not fetched again).
func (h *Handler) refreshes(name string, changes []connectors.Change) []river.InsertManyParams {
	opts := &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: h.coalesce()}}
	params := make([]river.InsertManyParams, 0, len(changes))
	seen := make(map[syncer.RefreshArgs]bool, len(changes))
	for _, c := range changes {
		if h.Synced != nil && !h.Synced(name, c.Object) {
			continue // a refresh of it could only be cancelled
		}
		args := syncer.RefreshArgs{Connection: name, Object: c.Object, ID: c.ID}
		if !seen[args] {
			seen[args] = true
			params = append(params, river.InsertManyParams{Args: args, InsertOpts: opts})
		}
	}
	return params
}

func (h *Handler) coalesce() time.Duration {
	if h.Coalesce > 0 {
		return h.Coalesce
	}
	return DefaultCoalesce
}

func (h *Handler) replayWindow() time.Duration {
	if h.ReplayWindow > 0 {
		return h.ReplayWindow
	}
	return DefaultReplayWindow
}

// prune forgets events older than the replay window, at most once a
// minute per process; a failure only delays it.
func (h *Handler) prune(ctx context.Context) {
	now, last := time.Now().UnixNano(), h.lastPrune.Load()
	if now-last < int64(pruneEvery) || !h.lastPrune.CompareAndSwap(last, now) {
		return
	}
	if _, err := store.WebhookEventsPrune(ctx, h.Pool, h.replayWindow().Seconds()); err != nil {
		h.Logger.WarnContext(ctx, "pruning seen webhook events", slog.String("error", err.Error()))
	}
}
