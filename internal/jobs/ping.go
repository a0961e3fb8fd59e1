package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// PingArgs is a job that does nothing but record when it ran. It measures
// the queue's own latency (`portico bench river`) and proves end to end
// that workers are consuming a queue.
type PingArgs struct {
	// Queue is where the ping runs, so every queue can be probed.
	Queue    string    `json:"queue"`
	Inserted time.Time `json:"inserted"`
}

// Kind implements river.JobArgs.
func (PingArgs) Kind() string { return "ping" }

// InsertOpts routes the ping to the queue it probes.
func (a PingArgs) InsertOpts() river.InsertOpts {
	q := a.Queue
	if q == "" {
		q = QueueDefault
	}
	return river.InsertOpts{Queue: q, MaxAttempts: 1}
}

// PingWorker works PingArgs. OnDone, if set, receives the latency from
// insertion to work.
type PingWorker struct {
	river.WorkerDefaults[PingArgs]
	OnDone func(latency time.Duration)
}

// Work implements river.Worker.
func (w *PingWorker) Work(_ context.Context, job *river.Job[PingArgs]) error {
	if w.OnDone != nil {
		w.OnDone(time.Since(job.Args.Inserted))
	}
	return nil
}
