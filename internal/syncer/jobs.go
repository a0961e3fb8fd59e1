package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/jobs"
)

// uniqueWhileQueued dedupes a job while one with the same args waits or
// runs, but not against finished ones (River's default includes completed).
var uniqueWhileQueued = river.UniqueOpts{
	ByArgs: true,
	ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	},
}

// SyncArgs runs one sync of one object.
type SyncArgs struct {
	Connection string `json:"connection"`
	Object     string `json:"object"` // vendor object
	Mode       Kind   `json:"mode"`   // incremental, full or reconcile
}

// Kind implements river.JobArgs.
func (SyncArgs) Kind() string { return "sync" }

// InsertOpts: one sync of an object at a time.
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueSync, UniqueOpts: uniqueWhileQueued, MaxAttempts: 10}
}

// RefreshArgs refreshes one record (webhooks, stale reads).
type RefreshArgs struct {
	Connection string `json:"connection"`
	Object     string `json:"object"` // vendor object
	ID         string `json:"id"`
}

// Kind implements river.JobArgs.
func (RefreshArgs) Kind() string { return "sync_refresh" }

// InsertOpts: a webhook flood for one record becomes one refresh.
func (RefreshArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueSync, UniqueOpts: uniqueWhileQueued, MaxAttempts: 10, Priority: 1}
}

// PurgeArgs deletes tombstones older than the retention period.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "sync_purge" }

// InsertOpts routes the purge to the sync queue.
func (PurgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueSync, UniqueOpts: uniqueWhileQueued}
}

// Health tells a worker about a connection's state before it spends calls.
type Health interface {
	// QuotaLow reports whether background reads should slow down.
	QuotaLow(connection string) bool
}

// SyncWorker works SyncArgs.
type SyncWorker struct {
	river.WorkerDefaults[SyncArgs]
	Syncer *Syncer
	Health Health // nil: always healthy
	// SlowInterval is the longest a low-quota connection waits between
	// incremental runs of an object.
	SlowInterval time.Duration
	// MaxRun bounds one run (default MaxSyncRun). It must stay below
	// River's rescue_stuck_jobs_after, or a long run would be started a
	// second time while the first still runs; a cut-off full sync resumes
	// from its saved page on the next run.
	MaxRun time.Duration
}

// MaxSyncRun is the longest a sync run may take: a full sync of a large
// object takes longer than River's default job timeout.
const MaxSyncRun = 2 * time.Hour

// Timeout implements river.Worker.
func (w *SyncWorker) Timeout(*river.Job[SyncArgs]) time.Duration {
	if w.MaxRun > 0 {
		return w.MaxRun
	}
	return MaxSyncRun
}

// Work implements river.Worker.
func (w *SyncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	a := job.Args
	var err error
	switch a.Mode {
	case KindIncremental, "":
		if w.Health != nil && w.Health.QuotaLow(a.Connection) && w.recentlySynced(ctx, a) {
			return nil // keep the rest of the budget for customer writes
		}
		_, err = w.Syncer.Incremental(ctx, a.Connection, a.Object)
		if errors.Is(err, ErrBusy) {
			return nil // the pull running now brings the object up to date
		}
	case KindFull:
		_, err = w.Syncer.Full(ctx, a.Connection, a.Object)
		if errors.Is(err, ErrBusy) {
			return river.JobSnooze(5 * time.Second) // a full sync asked for runs after the pull running now
		}
	case KindReconcile:
		_, err = w.Syncer.Reconcile(ctx, a.Connection, a.Object)
	default:
		return river.JobCancel(fmt.Errorf("sync: unknown mode %q", a.Mode))
	}
	return snoozeUnavailable(err)
}

func (w *SyncWorker) recentlySynced(ctx context.Context, a SyncArgs) bool {
	cur, err := w.Syncer.cursor(ctx, a.Connection, a.Object)
	return err == nil && cur.LastSuccessAt.Valid && time.Since(cur.LastSuccessAt.Time) < w.SlowInterval
}

// RefreshWorker works RefreshArgs.
type RefreshWorker struct {
	river.WorkerDefaults[RefreshArgs]
	Syncer *Syncer
}

// Work implements river.Worker.
// A refresh of an object nothing syncs (a webhook names every object its
// source changed) is cancelled: running it again cannot succeed.
func (w *RefreshWorker) Work(ctx context.Context, job *river.Job[RefreshArgs]) error {
	err := w.Syncer.Refresh(ctx, job.Args.Connection, job.Args.Object, job.Args.ID)
	if errors.Is(err, ErrNotSynced) {
		return river.JobCancel(err)
	}
	if err == nil {
		// The object changes: an idle one is polled at its base interval again.
		if werr := w.Syncer.Wake(ctx, job.Args.Connection, job.Args.Object); werr != nil {
			w.Syncer.opts.Logger.WarnContext(ctx, "waking an idle object", "connection", job.Args.Connection, "object", job.Args.Object, "error", werr.Error())
		}
	}
	return snoozeUnavailable(err)
}

// PurgeWorker works PurgeArgs.
type PurgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	Syncer    *Syncer
	Retention time.Duration
}

// Work implements river.Worker.
func (w *PurgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	_, err := w.Syncer.PurgeTombstones(ctx, time.Now().Add(-w.Retention))
	return err
}

// snoozeUnavailable turns a source that cannot answer now into a snooze:
// waiting for it is not a failed attempt. Other errors are returned for
// River's retry with backoff.
func snoozeUnavailable(err error) error {
	var rl *connectors.RateLimitedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rl):
		return river.JobSnooze(max(rl.RetryAfter, time.Second))
	case errors.Is(err, connectors.ErrRateLimited):
		return river.JobSnooze(30 * time.Second)
	case errors.Is(err, connectors.ErrUnavailable):
		return river.JobSnooze(15 * time.Second)
	case errors.Is(err, connectors.ErrAuthExpired):
		return river.JobSnooze(time.Minute)
	}
	return err
}

// Config is what Register needs to schedule syncs. Defaults are applied by
// internal/config; Register only checks the values.
type Config struct {
	Health Health // nil: always healthy
	// Interval is the time between incremental runs of a target;
	// Intervals overrides it per vendor object. 0 derives each object's
	// from its mapping's freshness target (FreshnessSchedule), backing off
	// while it stays idle, and polls a connection's objects together.
	Interval  time.Duration
	Intervals map[string]time.Duration
	// ReconcileInterval is the time between reconciliations of a target.
	ReconcileInterval time.Duration
	// TombstoneRetention is how long a tombstone is kept before the purge.
	TombstoneRetention time.Duration
	// SlowInterval: see SyncWorker.SlowInterval.
	SlowInterval time.Duration
	// MaxRun bounds a sync run: see SyncWorker.MaxRun.
	MaxRun time.Duration
}

// validate names the first bad field: a zero interval would make River
// schedule a periodic job without pause.
func (c Config) validate() error {
	switch {
	case c.Interval < 0:
		return fmt.Errorf("syncer: Interval must not be negative, got %s", c.Interval)
	case c.ReconcileInterval <= 0:
		return fmt.Errorf("syncer: ReconcileInterval must be positive, got %s", c.ReconcileInterval)
	case c.TombstoneRetention <= 0:
		return fmt.Errorf("syncer: TombstoneRetention must be positive, got %s", c.TombstoneRetention)
	case c.SlowInterval < 0:
		return fmt.Errorf("syncer: SlowInterval must not be negative, got %s", c.SlowInterval)
	case c.MaxRun <= 0:
		return fmt.Errorf("syncer: MaxRun must be positive, got %s", c.MaxRun)
	}
	for obj, d := range c.Intervals {
		if d <= 0 {
			return fmt.Errorf("syncer: Intervals[%q] must be positive, got %s", obj, d)
		}
	}
	return nil
}

// Register adds the sync workers and their periodic schedule: an
// incremental run per target every cfg.Interval (cfg.Intervals per vendor
// object override it), a reconciliation per target, and the tombstone
// purge. It registers nothing if cfg is invalid.
func Register(reg *jobs.Registry, s *Syncer, cfg Config) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	river.AddWorker(reg.Workers, &SyncWorker{Syncer: s, Health: cfg.Health, SlowInterval: cfg.SlowInterval, MaxRun: cfg.MaxRun})
	river.AddWorker(reg.Workers, &RefreshWorker{Syncer: s})
	river.AddWorker(reg.Workers, &PurgeWorker{Syncer: s, Retention: cfg.TombstoneRetention})
	river.AddWorker(reg.Workers, &RemapWorker{Syncer: s})
	if cfg.Interval == 0 {
		registerPolls(reg, s, cfg)
	}
	for _, t := range s.Targets() {
		every := cfg.Interval
		if d, ok := cfg.Intervals[t.Object]; ok {
			every = d
		}
		inc := SyncArgs{Connection: t.Connection, Object: t.Object, Mode: KindIncremental}
		rec := SyncArgs{Connection: t.Connection, Object: t.Object, Mode: KindReconcile}
		if cfg.Interval > 0 {
			reg.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(every),
				func() (river.JobArgs, *river.InsertOpts) { return inc, nil },
				&river.PeriodicJobOpts{RunOnStart: true, ID: "sync:" + t.Connection + ":" + t.Object}))
		}
		reg.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(cfg.ReconcileInterval),
			func() (river.JobArgs, *river.InsertOpts) { return rec, nil },
			&river.PeriodicJobOpts{ID: "reconcile:" + t.Connection + ":" + t.Object}))
	}
	reg.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeArgs{}, nil },
		&river.PeriodicJobOpts{ID: "sync_purge"}))
	return nil
}

// registerPolls schedules one poll per connection, ticking at the shortest
// base interval of its objects; each poll pulls only the objects due.
func registerPolls(reg *jobs.Registry, s *Syncer, cfg Config) {
	scheds := s.Schedules(cfg.Intervals)
	tick := map[string]time.Duration{}
	var order []string
	for _, t := range s.Targets() {
		b := scheds[t.Connection+"/"+t.Object].Base
		if cur, ok := tick[t.Connection]; !ok || b < cur {
			if !ok {
				order = append(order, t.Connection)
			}
			tick[t.Connection] = b
		}
	}
	river.AddWorker(reg.Workers, &PollWorker{Syncer: s, Health: cfg.Health, Schedules: scheds, SlowInterval: cfg.SlowInterval})
	for _, conn := range order {
		args := PollArgs{Connection: conn}
		reg.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(tick[conn]),
			func() (river.JobArgs, *river.InsertOpts) { return args, nil },
			&river.PeriodicJobOpts{RunOnStart: true, ID: "poll:" + conn}))
	}
}

// Schedules gives each synced source object (by "connection/object") its
// poll schedule: from its mapping's freshness target, or fixed at
// intervals[object] when set.
func (s *Syncer) Schedules(intervals map[string]time.Duration) map[string]Schedule {
	out := map[string]Schedule{}
	for _, t := range s.Targets() {
		key := t.Connection + "/" + t.Object
		if d, ok := intervals[t.Object]; ok {
			out[key] = Schedule{Base: d, Max: d}
			continue
		}
		fresh := time.Minute
		if obj, ok := s.opts.Mappings.BySource(t.Connection, t.Object); ok {
			fresh = obj.Freshness()
		}
		sc := FreshnessSchedule(fresh)
		if old, ok := out[key]; ok && old.Base < sc.Base {
			sc = old // two mappings read one object: the stricter target
		}
		out[key] = sc
	}
	return out
}

// Inserter inserts jobs (a River client).
type Inserter interface {
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
}

// EnqueueAll schedules an incremental sync of every target now, accounts
// and parent objects at a higher priority (see Targets).
func (s *Syncer) EnqueueAll(ctx context.Context, ins Inserter) error {
	var params []river.InsertManyParams
	for i, t := range s.Targets() {
		opts := &river.InsertOpts{Priority: min(i+1, 4)}
		params = append(params, river.InsertManyParams{Args: SyncArgs{Connection: t.Connection, Object: t.Object, Mode: KindIncremental}, InsertOpts: opts})
	}
	if len(params) == 0 {
		return nil
	}
	_, err := ins.InsertMany(ctx, params)
	return err
}
