package privacy

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/jobs"
)

// Period is the configured retention of a kind; 0 keeps it until erased.
func Period(r config.RetentionConfig, kind string) time.Duration {
	switch kind {
	case KindSessions:
		return r.Sessions
	case KindNotifications:
		return r.Notifications
	case KindActions:
		return r.Actions
	case KindFiles:
		return r.Files
	case KindAudit:
		return r.Audit
	}
	return 0
}

// Purge deletes, part by part, what is older than its retention period
// at now (each part in its own transaction), and says how many rows of
// each it removed. A part bounded by something else than a period
// (exports: their expiry) purges by its own rule.
func (s *Service) Purge(ctx context.Context, now time.Time) (map[string]int64, error) {
	out := map[string]int64{}
	for _, p := range s.o.Registry.Parts() {
		if p.Purge == nil {
			continue
		}
		period := Period(s.o.Config.Retention, p.Retention)
		if p.Retention != "" && period <= 0 {
			continue // kept until erased
		}
		var n int64
		err := pgx.BeginFunc(ctx, s.o.Pool, func(tx pgx.Tx) error {
			var err error
			n, err = p.Purge(ctx, tx, now.Add(-period))
			return err
		})
		if err != nil {
			return out, fmt.Errorf("privacy: purging %s: %w", p.Name, err)
		}
		out[p.Name] = n
	}
	return out, nil
}

// PurgeArgs runs the retention purge.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "privacy_purge" }

// InsertOpts: one purge at a time.
func (PurgeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueDefault, UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: time.Minute}}
}

// PurgeWorker runs the purge.
type PurgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	Service *Service
}

// Work implements river.Worker.
func (w *PurgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	n, err := w.Service.Purge(ctx, time.Now())
	if err != nil {
		return err
	}
	attrs := make([]any, 0, len(n))
	for k, v := range n {
		if v > 0 {
			attrs = append(attrs, slog.Int64(k, v))
		}
	}
	w.Service.o.Logger.InfoContext(ctx, "privacy: retention purge", attrs...)
	return nil
}

// Register adds the export and purge workers, and the purge as a periodic
// job every privacy.purge_interval.
func Register(reg *jobs.Registry, s *Service) {
	river.AddWorker(reg.Workers, &ExportWorker{Service: s})
	river.AddWorker(reg.Workers, &PurgeWorker{Service: s})
	every := s.o.Config.PurgeInterval
	if every <= 0 {
		every = time.Hour
	}
	reg.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) { return PurgeArgs{}, nil },
		&river.PeriodicJobOpts{ID: "privacy_purge"}))
}

// Activity is one line of the record of processing (GDPR Art. 30).
type Activity struct {
	Part      string `json:"part"`
	Holds     string `json:"holds"`
	Purpose   string `json:"purpose"`
	Basis     string `json:"basis"`
	Retention string `json:"retention"`
	Export    bool   `json:"export"`
	Erase     bool   `json:"erase"`
}

// Processing is the record of processing: every part, what it holds,
// why, on what basis, and for how long under the configuration.
func Processing(reg *Registry, r config.RetentionConfig) []Activity {
	var out []Activity
	for _, p := range reg.Parts() {
		a := Activity{Part: p.Name, Holds: p.Holds, Purpose: p.Purpose, Basis: p.Basis, Export: p.Export != nil, Erase: p.Erase != nil}
		switch d := Period(r, p.Retention); {
		case p.Retention == "":
			a.Retention = p.Until
		case d <= 0:
			a.Retention = "until erased (privacy.retention." + p.Retention + " is 0)"
		default:
			a.Retention = Days(d) + " (privacy.retention." + p.Retention + ")"
		}
		out = append(out, a)
	}
	return out
}

// Days says a period in days, or hours under two days.
func Days(d time.Duration) string {
	if d < 48*time.Hour {
		return fmt.Sprintf("%d hours", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}
