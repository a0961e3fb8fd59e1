package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/pgnotify"
	"github.com/porticohq/portico/internal/store"
)

// Register adds the notify workers and the periodic scan (time-based
// events and due digests, every scanEvery; not at start, so a restart
// does not move a digest's hour).
func Register(reg *jobs.Registry, s *Service, scanEvery time.Duration) {
	river.AddWorker(reg.Workers, &sendWorker{s: s})
	river.AddWorker(reg.Workers, &digestWorker{s: s})
	river.AddWorker(reg.Workers, &webhookWorker{s: s})
	river.AddWorker(reg.Workers, &scanWorker{s: s})
	if scanEvery <= 0 {
		scanEvery = 15 * time.Minute
	}
	reg.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(scanEvery),
		func() (river.JobArgs, *river.InsertOpts) { return ScanArgs{}, nil }, nil))
}

// Channel is where PostgreSQL announces new events.
const Channel = "portico_notify"

// Subscriber is what a process's one LISTEN connection (pgnotify) feeds
// with Channel's notifications, when Run is told not to listen itself.
func (s *Service) Subscriber() pgnotify.Subscriber { return s.wake }

// Run dispatches events until ctx ends: at once when PostgreSQL announces
// new ones, and every poll otherwise (a missed notification costs at most
// one poll). Every worker process runs it; they share the events. With
// listen it opens its own LISTEN connection; else the process's listener
// feeds Subscriber.
func (s *Service) Run(ctx context.Context, poll time.Duration, listen bool) error {
	if poll <= 0 {
		poll = time.Second
	}
	wake := s.wake
	if listen {
		go pgnotify.Listen(ctx, s.opts.Pool, map[string]pgnotify.Subscriber{Channel: wake}, s.log)
	}
	// More loops share a burst; each wake-up reaches one, which wakes
	// the next when it found a full batch.
	for range s.opts.Dispatchers - 1 {
		go s.loop(ctx, poll, wake)
	}
	s.loop(ctx, poll, wake)
	return nil
}

func (s *Service) loop(ctx context.Context, poll time.Duration, wake waker) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			n, err := s.DispatchOnce(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "notify: dispatch failed", slog.String("error", err.Error()))
			}
			if err != nil || n < s.opts.Batch {
				break
			}
			wake.Notify("") // more waiting: another loop may help
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-t.C:
		}
	}
}

// waker turns portico_notify notifications into wake-ups of Run.
type waker chan struct{}

func (w waker) SetLive(bool) { w.Notify("") } // (re)connected: look now
func (w waker) Notify(string) {
	select {
	case w <- struct{}{}:
	default:
	}
}

// ScanArgs runs the time-based events and the digests.
type ScanArgs struct{}

// Kind implements river.JobArgs.
func (ScanArgs) Kind() string { return "notify_scan" }

// InsertOpts puts it on the notify queue.
func (ScanArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueNotify, UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: time.Minute}}
}

type scanWorker struct {
	river.WorkerDefaults[ScanArgs]
	s *Service
}

// Work adds the day's time-based events and queues the digests due.
func (w *scanWorker) Work(ctx context.Context, _ *river.Job[ScanArgs]) error {
	if err := w.s.ScanDue(ctx); err != nil {
		return err
	}
	return w.s.QueueDigests(ctx)
}

// DueDays are the days before its due date an invoice's reminder goes
// out, and before its expiry an approval's.
var DueDays = []int{7, 1}

// ScanDue adds the events that time, not a change, brings: an invoice due
// in N days or just overdue, an approval about to expire. Each once.
func (s *Service) ScanDue(ctx context.Context) error {
	today := s.opts.Now().UTC()
	day := func(d int) string { return today.AddDate(0, 0, d).Format("2006-01-02") }
	return pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		for _, n := range DueDays {
			inv, err := store.NotifyDueInvoices(ctx, tx, day(n))
			if err != nil {
				return err
			}
			for _, r := range inv {
				if err := once(ctx, tx, r.TenantID, EventInvoiceDue, r.Connection, "invoice", r.SourceID, fmt.Sprintf("%s:%s:%d", EventInvoiceDue, r.SourceID, n)); err != nil {
					return err
				}
			}
			apr, err := store.NotifyExpiringApprovals(ctx, tx, day(n))
			if err != nil {
				return err
			}
			for _, r := range apr {
				if err := once(ctx, tx, r.TenantID, EventApprovalReminder, r.Connection, "approval_request", r.SourceID, fmt.Sprintf("%s:%s:%d", EventApprovalReminder, r.SourceID, n)); err != nil {
					return err
				}
			}
		}
		// Overdue: fell due within the last week (older ones were told).
		over, err := store.NotifyOverdueInvoices(ctx, tx, store.NotifyOverdueInvoicesParams{FromDay: day(-7), ToDay: day(0)})
		if err != nil {
			return err
		}
		for _, r := range over {
			if err := once(ctx, tx, r.TenantID, EventInvoiceOverdue, r.Connection, "invoice", r.SourceID, EventInvoiceOverdue+":"+r.SourceID); err != nil {
				return err
			}
		}
		return nil
	})
}

func once(ctx context.Context, tx pgx.Tx, tenant int64, kind, conn, object, id, key string) error {
	_, err := store.NotifyEventInsertOnce(ctx, tx, store.NotifyEventInsertOnceParams{
		TenantID: tenant, Kind: kind, Connection: conn, Object: object, SourceID: id, OnceKey: pgtypeText(key),
	})
	return err
}

// QueueDigests queues the digest of every user with notices waiting whose
// local digest hour has come, once per local day.
func (s *Service) QueueDigests(ctx context.Context) error {
	users, err := store.NoticeDigestUsers(ctx, s.opts.Pool)
	if err != nil {
		return err
	}
	now := s.opts.Now()
	for _, u := range users {
		loc, err := time.LoadLocation(u.TimeZone)
		if err != nil {
			loc = time.UTC
		}
		if now.In(loc).Hour() < s.opts.DigestHour {
			continue
		}
		err = pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
			id, err := store.NoticeDigestInsert(ctx, tx, store.NoticeDigestInsertParams{
				TenantID: u.TenantID, UserID: u.UserID, Day: pgtypeDate(localDay(now, loc)),
			})
			if errors.Is(err, store.ErrNotFound) {
				return nil // today's digest is queued or sent
			}
			if err != nil {
				return err
			}
			_, err = s.opts.Insert(ctx, tx, DigestArgs{DigestID: id}, nil)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
