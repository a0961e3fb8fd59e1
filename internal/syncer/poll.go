package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/store"
)

// Schedule is how often one object is polled when its interval comes from
// its mapping's freshness target: every Base while it changes; while polls
// keep coming back empty, twice as long after each, up to Max.
type Schedule struct {
	Base, Max time.Duration
}

// FreshnessSchedule is the schedule a freshness target implies: polled
// four times per target while it changes, backing off to 3/4 of it while
// idle, so that a change is seen within the target (plus one sync) even
// at the longest wait. Polls run no more often than every minPoll.
func FreshnessSchedule(freshness time.Duration) Schedule {
	return Schedule{Base: max(freshness/4, minPoll), Max: max(freshness*3/4, minPoll)}
}

// minPoll is the shortest poll interval a freshness target implies.
const minPoll = 10 * time.Second

// after is the wait after a poll: Base after a change, doubling per empty
// poll in a row (idle is their count, this one included) up to Max.
func (s Schedule) after(idle int) time.Duration {
	d := s.Base
	for range idle {
		if d >= s.Max {
			break
		}
		d *= 2
	}
	return min(d, max(s.Max, s.Base))
}

// PollArgs polls the due objects of one connection.
type PollArgs struct {
	Connection string `json:"connection"`
}

// Kind implements river.JobArgs.
func (PollArgs) Kind() string { return "sync_poll" }

// InsertOpts: one poll of a connection at a time.
func (PollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueSync, UniqueOpts: uniqueWhileQueued, MaxAttempts: 3}
}

// PollWorker polls a connection's objects each at its own schedule.
type PollWorker struct {
	river.WorkerDefaults[PollArgs]
	Syncer    *Syncer
	Health    Health              // nil: always healthy
	Schedules map[string]Schedule // by "connection/object" (Syncer.Schedules)
	// SlowInterval: see SyncWorker.SlowInterval.
	SlowInterval time.Duration
}

// Timeout implements river.Worker.
func (w *PollWorker) Timeout(*river.Job[PollArgs]) time.Duration { return MaxSyncRun }

// Work implements river.Worker: it finds the objects due, asks the source
// in one call which of them changed when the connector can
// (connectors.ChangeProber), and pulls those (all of them otherwise). An
// object whose pull or probe found nothing waits longer before its next
// poll; one that changed goes back to its base interval.
func (w *PollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	s := w.Syncer
	connection := job.Args.Connection
	conn, ok := s.opts.Connectors[connection]
	if !ok {
		return river.JobCancel(fmt.Errorf("sync poll: %w: connection %s", ErrNotSynced, connection))
	}
	due, cursors, err := w.due(ctx, connection)
	if err != nil || len(due) == 0 {
		return err
	}
	pull := due
	if prober, ok := conn.(connectors.ChangeProber); ok && len(due) > 0 {
		// The probe's call is paid for: ask about every object of the
		// connection, due or not, so that they all fall into step with the
		// one polled most often instead of each costing calls of its own.
		var all []string
		for _, t := range s.Targets() {
			if t.Connection == connection {
				all = append(all, t.Object)
			}
		}
		if pull, err = w.probe(ctx, prober, connection, due, all, cursors); err != nil {
			return snoozeUnavailable(err)
		}
	}
	var errs []error
	for _, object := range pull {
		res, err := s.Incremental(ctx, connection, object)
		if errors.Is(err, ErrBusy) {
			continue // another pull has it; still due, for the next tick
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := w.done(ctx, connection, object, res.Changed+res.Deleted == 0, cursors[object].IdlePolls); err != nil {
			errs = append(errs, err)
		}
	}
	return snoozeUnavailable(errors.Join(errs...))
}

// due lists the connection's objects whose next poll time has come.
func (w *PollWorker) due(ctx context.Context, connection string) ([]string, map[string]store.SyncCursor, error) {
	s := w.Syncer
	all, err := store.SyncCursorList(ctx, s.opts.Pool, s.opts.TenantID)
	if err != nil {
		return nil, nil, fmt.Errorf("syncer: %w", err)
	}
	cursors := map[string]store.SyncCursor{}
	for _, c := range all {
		if c.Connection == connection {
			cursors[c.Object] = c
		}
	}
	now := s.opts.Now()
	var due []string
	for _, t := range s.Targets() {
		if t.Connection != connection {
			continue
		}
		c, ok := cursors[t.Object]
		if ok && c.NextPollAt.Valid && now.Before(c.NextPollAt.Time) {
			continue
		}
		if ok && w.Health != nil && w.Health.QuotaLow(connection) && c.LastSuccessAt.Valid && now.Sub(c.LastSuccessAt.Time) < w.SlowInterval {
			continue // keep the rest of the budget for customer writes
		}
		due = append(due, t.Object)
	}
	return due, cursors, nil
}

// probe asks which of all the connection's objects changed, records the
// unchanged ones as idle (polled now, due or not) and returns those to
// pull: the changed, the due ones never synced, and those whose
// sub-request failed (their pull reports the error).
func (w *PollWorker) probe(ctx context.Context, p connectors.ChangeProber, connection string, due, all []string, cursors map[string]store.SyncCursor) ([]string, error) {
	var probes []connectors.Probe
	var pull []string
	isDue := map[string]bool{}
	for _, object := range due {
		isDue[object] = true
	}
	for _, object := range all {
		c, ok := cursors[object]
		if !ok || c.Cursor == "" || !c.LastSuccessAt.Valid || c.FullPage.Valid {
			if isDue[object] {
				pull = append(pull, object)
			}
			continue
		}
		probes = append(probes, connectors.Probe{Object: object, Cursor: c.Cursor, Since: c.SyncedThrough.Time})
	}
	if len(probes) == 0 {
		return pull, nil
	}
	results, err := p.ProbeChanges(ctx, probes)
	if err != nil {
		return nil, fmt.Errorf("syncer: %s: probing %d objects: %w", connection, len(probes), err)
	}
	for _, r := range results {
		switch {
		case r.Err != nil:
			w.Syncer.opts.Logger.WarnContext(ctx, "change probe failed for one object; pulling it instead",
				slog.String("connection", connection), slog.String("object", r.Object), slog.String("error", r.Err.Error()))
			pull = append(pull, r.Object)
		case r.Changed:
			pull = append(pull, r.Object)
		default:
			if err := w.done(ctx, connection, r.Object, true, cursors[r.Object].IdlePolls); err != nil {
				return nil, err
			}
		}
	}
	return pull, nil
}

// done records a poll's outcome and when the object is due again.
func (w *PollWorker) done(ctx context.Context, connection, object string, idle bool, idleBefore int32) error {
	s := w.Syncer
	sched, ok := w.Schedules[connection+"/"+object]
	if !ok {
		sched = FreshnessSchedule(time.Minute)
	}
	n := 0
	if idle {
		n = int(idleBefore) + 1
	}
	// A tick early: the next periodic poll must find the object due.
	next := s.opts.Now().Add(sched.after(n) - time.Second)
	err := store.SyncPollDone(ctx, s.opts.Pool, store.SyncPollDoneParams{
		Idle: idle, NextPollAt: pgtype.Timestamptz{Time: next, Valid: true},
		TenantID: s.opts.TenantID, Connection: connection, Object: object,
	})
	if err != nil {
		return fmt.Errorf("syncer: %w", err)
	}
	return nil
}

// Wake puts an object back on its base interval, due at once: a webhook or
// a stale read says it changes.
func (s *Syncer) Wake(ctx context.Context, connection, object string) error {
	err := store.SyncPollWake(ctx, s.opts.Pool, store.SyncPollWakeParams{TenantID: s.opts.TenantID, Connection: connection, Object: object})
	if err != nil {
		return fmt.Errorf("syncer: %w", err)
	}
	return nil
}
