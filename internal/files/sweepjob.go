package files

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/internal/jobs"
)

// SweepOptions time the periodic sweep of orphan content.
type SweepOptions struct {
	// Interval is how often it runs (0: hourly).
	Interval time.Duration
	// Grace is how old orphan content must be (0: DefaultOrphanGrace).
	Grace time.Duration
	// MaxRun bounds one run (0: 30 minutes): a large bucket takes longer
	// to list than River's default job timeout. Keep it below River's
	// rescue time; a run rescued anyway only repeats removals, which are
	// no error.
	MaxRun time.Duration
}

// SweepArgs is the periodic job that runs SweepOrphans.
type SweepArgs struct{}

// Kind implements river.JobArgs.
func (SweepArgs) Kind() string { return "files_sweep" }

// InsertOpts: one at a time, on the default queue.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueDefault, UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}}}
}

// SweepWorker works SweepArgs.
type SweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	Service *Service
	Options SweepOptions
}

// Timeout implements river.Worker.
func (w *SweepWorker) Timeout(*river.Job[SweepArgs]) time.Duration {
	if w.Options.MaxRun > 0 {
		return w.Options.MaxRun
	}
	return 30 * time.Minute
}

// Work implements river.Worker. A failure is logged and the job ends: the
// next periodic run is its retry, where River's would pile up beside it.
func (w *SweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	grace := w.Options.Grace
	if grace <= 0 {
		grace = DefaultOrphanGrace
	}
	log := w.Service.opts.Logger
	n, err := w.Service.SweepOrphans(ctx, grace, time.Now())
	if err != nil {
		log.WarnContext(ctx, "files: sweeping orphan content", slog.Int64("removed", n), slog.String("error", err.Error()))
		return nil
	}
	log.InfoContext(ctx, "files: swept orphan content", slog.Int64("removed", n), slog.Duration("grace", grace))
	return nil
}

// RegisterSweep adds the sweep's worker and runs it periodically, when
// the store has content to sweep (Sweeps; PGBlobs has none). River's
// leader alone schedules it and the job is unique, so one worker process
// sweeps at a time.
func RegisterSweep(reg *jobs.Registry, s *Service, o SweepOptions) {
	if !s.Sweeps() {
		return
	}
	every := o.Interval
	if every <= 0 {
		every = time.Hour
	}
	river.AddWorker(reg.Workers, &SweepWorker{Service: s, Options: o})
	reg.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
		&river.PeriodicJobOpts{ID: "files_sweep"}))
}
