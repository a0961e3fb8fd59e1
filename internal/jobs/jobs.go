// Package jobs builds the River client: the named queues and their worker
// counts, fetch timings, and the place where subsystems register their
// workers and periodic jobs. It owns no job kinds itself.
package jobs

import (
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/internal/config"
)

// Queue names.
const (
	QueueSync      = "sync"
	QueueWriteback = "writeback"
	QueueNotify    = "notify"
	QueueDefault   = river.QueueDefault
)

// Registry collects what subsystems contribute to the River client. The
// binary's wiring creates one, hands it to each subsystem, then builds the
// client from it.
type Registry struct {
	Workers  *river.Workers
	Periodic []*river.PeriodicJob
}

// NewRegistry returns a registry holding the built-in ping worker.
func NewRegistry() *Registry {
	r := &Registry{Workers: river.NewWorkers()}
	river.AddWorker(r.Workers, &PingWorker{})
	return r
}

// AddPeriodic schedules a periodic job.
func (r *Registry) AddPeriodic(jobs ...*river.PeriodicJob) {
	r.Periodic = append(r.Periodic, jobs...)
}

// Mode says whether the client works jobs or only inserts them.
type Mode int

const (
	// InsertOnly is for API servers: they enqueue but never work jobs.
	InsertOnly Mode = iota
	// Work runs the queues.
	Work
)

// NewClient builds the River client; mw are River middleware (tracing).
func NewClient(pool *pgxpool.Pool, cfg config.RiverConfig, reg *Registry, mode Mode, logger *slog.Logger, mw ...rivertype.Middleware) (*river.Client[pgx.Tx], error) {
	rc := &river.Config{
		Middleware:        mw,
		Logger:            logger.With(slog.String("component", "river")),
		FetchCooldown:     cfg.FetchCooldown,
		FetchPollInterval: cfg.FetchPollInterval,
		// River refuses a rescue time below the job timeout: a short
		// rescue time (tests that kill workers) shortens the default
		// timeout with it.
		JobTimeout:           min(cfg.RescueStuckJobsAfter, river.JobTimeoutDefault),
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
	}
	if mode == Work {
		rc.Queues = map[string]river.QueueConfig{
			QueueSync:      {MaxWorkers: cfg.SyncWorkers},
			QueueWriteback: {MaxWorkers: cfg.WritebackWorkers},
			QueueNotify:    {MaxWorkers: cfg.NotifyWorkers},
			QueueDefault:   {MaxWorkers: cfg.DefaultWorkers},
		}
		rc.Workers = reg.Workers
		rc.PeriodicJobs = reg.Periodic
	} else {
		// An insert-only client still validates kinds against workers when
		// it has them, catching a job inserted with no worker anywhere.
		rc.Workers = reg.Workers
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return client, nil
}
