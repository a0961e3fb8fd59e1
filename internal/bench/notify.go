package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/mail"
	"github.com/porticohq/portico/internal/mail/mailtest"
	"github.com/porticohq/portico/internal/store"
)

// goalNotifyP99 is issue 15's goal for an immediate notice: event to
// mail accepted within 2 s at the 99th percentile.
const goalNotifyP99 = 2 * time.Second

// NotifyConfig is the notify bench: case status changes in the cache (as
// a sync writes them) to mail accepted by the in-process SMTP server,
// through the whole pipeline (trigger, dispatch under the access policy,
// notice and job in one transaction, send). First a steady trickle for
// the delay of an immediate notice, then a burst of Events for the
// throughput, next to raw SMTP sends to the same server in the same run.
type NotifyConfig struct {
	Server   Server
	Deps     DepsFunc
	Events   int           // the burst
	Accounts int           // one recipient per account
	Rate     int           // the trickle's events per second
	Trickle  time.Duration // how long the trickle runs
	Workers  int           // River's notify workers
	Hold     time.Duration // notify.hold
	// CPUProfile is where a CPU profile of the burst is written (none
	// when empty): the pipeline runs in this process.
	CPUProfile string
}

// Validate names the bad setting.
func (c NotifyConfig) Validate() error {
	if c.Events < 1 || c.Events > 1_000_000 || c.Accounts < 1 || c.Accounts > 999 || c.Rate < 1 || c.Rate > 1000 ||
		c.Trickle < time.Second || c.Workers < 1 || c.Workers > 1000 || c.Hold < 0 {
		return usage("--events must be 1..1000000, --accounts 1..999, --rate 1..1000, --trickle at least 1s, --workers 1..1000, --hold not negative")
	}
	return nil
}

var noticeMessageID = regexp.MustCompile(`(?m)^Message-ID: <portico-n(\d+)@`)

// RunNotify runs the notify bench and prints its figures.
func RunNotify(ctx context.Context, cfg NotifyConfig, out Output) error {
	return withDatabase(ctx, cfg, cfg.Server, out, func(db *database) error {
		figures, err := notifyBench(ctx, cfg, out, db)
		if err != nil {
			return err
		}
		return writeResult(out.Stdout, figures)
	})
}

// accepted records when the SMTP server accepted each notice's mail.
type accepted struct {
	mu  sync.Mutex
	at  map[int64]time.Time
	dup int
}

func (a *accepted) hear(msg string, at time.Time) {
	m := noticeMessageID.FindStringSubmatch(msg)
	if m == nil {
		return
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.at[id]; ok {
		a.dup++
		return
	}
	a.at[id] = at
}

func (a *accepted) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.at)
}

func notifyBench(ctx context.Context, cfg NotifyConfig, out Output, db *database) (map[string]any, error) {
	smtp, err := mailtest.Listen()
	if err != nil {
		return nil, err
	}
	defer smtp.Close()
	acc := &accepted{at: map[int64]time.Time{}}
	smtp.OnData(acc.hear)
	smtpURL := "smtp://" + smtp.Addr()

	baseline, err := smtpBaseline(ctx, smtpURL, cfg.Workers, 2000)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out.Stdout, "baseline: raw SMTP sends to the same server with %d connections at a time: %.0f/s\n", cfg.Workers, baseline)

	acfg := config.Default()
	acfg.DatabaseURL = db.url
	acfg.Log.Level = "warn"
	acfg.Secrets.EncryptionKey = testEncryptionKey
	acfg.Mail.SMTPURL, acfg.Mail.From = smtpURL, "Portal <portal@example.com>"
	acfg.HTTP.PublicURL = "http://portal.example"
	acfg.River.NotifyWorkers = cfg.Workers
	acfg.River.FetchPollInterval, acfg.River.FetchCooldown = 50*time.Millisecond, 10*time.Millisecond
	acfg.Notify.Hold = cfg.Hold
	acfg.Notify.DailyCap = 0 // every notice is mailed at once: the bench counts mails
	deps, err := cfg.Deps(&acfg)
	if err != nil {
		return nil, err
	}
	caseObj, ok := deps.Mappings.Object("case")
	if !ok {
		return nil, errors.New("notify bench: the mappings have no case object")
	}
	total := cfg.Rate*int(cfg.Trickle/time.Second) + cfg.Events
	if err := store.BenchNotifySeedCases(ctx, db.pool, store.BenchNotifySeedCasesParams{Accounts: int32(cfg.Accounts), MappingHash: caseObj.Hash(), Cases: int32(total)}); err != nil {
		return nil, err
	}
	for i := range cfg.Accounts {
		if _, err := auth.CreateUser(ctx, db.pool, auth.NewUser{Email: fmt.Sprintf("bench%03d@example.test", i),
			AccountID: fmt.Sprintf("acc%03d", i), Roles: []string{auth.RoleMember}, Password: "bench-password-0123456789",
			HashParams: auth.HashParams{Memory: 1024, Time: 1, Threads: 1}}); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(out.Stdout, "seeded %d cases over %d accounts, one member user each\n", total, cfg.Accounts)

	runCtx, cancel := context.WithCancel(ctx)
	a, err := app.Open(runCtx, &acfg, slog.New(slog.DiscardHandler), app.Mode{Work: true}, deps)
	if err != nil {
		cancel()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(out.Stderr, "notify bench: run: %v\n", err)
		}
		a.Close()
	}()

	change := func(first, last int) error {
		_, err := store.BenchNotifyChangeCases(ctx, db.pool, store.BenchNotifyChangeCasesParams{
			Status: "in_progress", Label: "In progress", NextStep: "We are working on your request.", Version: "v2",
			First: strconv.Itoa(first), Last: strconv.Itoa(last)})
		return err
	}
	wait := func(n int, limit time.Duration) error {
		deadline := time.Now().Add(limit)
		for acc.count() < n {
			if time.Now().After(deadline) {
				c, _ := store.BenchNotifyCounts(ctx, db.pool)
				return fmt.Errorf("notify bench: %d of %d mails after %s (%+v)", acc.count(), n, limit, c)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
		return nil
	}

	// The trickle: one event at a time at Rate, for the delay.
	fmt.Fprintf(out.Stdout, "trickle: %d events/s for %s (notify.hold %s)\n", cfg.Rate, cfg.Trickle, cfg.Hold)
	n := cfg.Rate * int(cfg.Trickle/time.Second)
	tick := time.NewTicker(time.Second / time.Duration(cfg.Rate))
	for i := 1; i <= n; i++ {
		<-tick.C
		if err := change(i, i); err != nil {
			tick.Stop()
			return nil, err
		}
	}
	tick.Stop()
	if err := wait(n, 2*time.Minute); err != nil {
		return nil, err
	}
	delays, err := noticeDelays(ctx, db, acc)
	if err != nil {
		return nil, err
	}
	p50, p99 := percentile(delays, .5), percentile(delays, .99)
	fmt.Fprintf(out.Stdout, "immediate notice, event to mail accepted: p50 %s, p99 %s (goal p99 <= %s)\n", p50, p99, goalNotifyP99)

	// The burst: Events status changes in statements of 500, for the throughput.
	loadStart := readLoadAvg()
	fmt.Fprintf(out.Stdout, "burst: %d events, load average %s\n", cfg.Events, loadStart)
	stopProfile, err := profileCPU(cfg.CPUProfile)
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	start := time.Now()
	for first := n + 1; first <= total; first += 500 {
		if err := change(first, min(first+499, total)); err != nil {
			return nil, err
		}
	}
	if err := wait(total, 30*time.Minute); err != nil {
		return nil, err
	}
	took := time.Since(start)
	stopProfile()
	loadEnd := readLoadAvg()
	rate := float64(cfg.Events) / took.Seconds()
	counts, err := store.BenchNotifyCounts(ctx, db.pool)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out.Stdout, "burst: %d notices mailed in %s: %.0f/s (raw SMTP %.0f/s); %d resent mails\n", cfg.Events, took.Round(time.Millisecond), rate, baseline, acc.dup)
	return map[string]any{
		"bench": "notify", "events": cfg.Events, "notices": counts.Notices, "mails": acc.count(), "resent": acc.dup,
		"notices_per_s": round1(rate), "baseline_smtp_per_s": round1(baseline), "ratio": round2(rate / baseline),
		"trickle_events": n, "trickle_rate_per_s": cfg.Rate, "p50_ms": ms(p50), "p99_ms": ms(p99),
		"hold_ms": ms(cfg.Hold), "goal_p99_ms": ms(goalNotifyP99), "goal_met": p99 <= goalNotifyP99, "workers": cfg.Workers,
		"loadavg_start": loadStart, "loadavg_end": loadEnd,
	}, nil
}

// noticeDelays are the sorted delays from each mailed notice's first
// event to its mail's acceptance.
func noticeDelays(ctx context.Context, db *database, acc *accepted) ([]time.Duration, error) {
	acc.mu.Lock()
	ids := make([]int64, 0, len(acc.at))
	at := make(map[int64]time.Time, len(acc.at))
	for id, t := range acc.at {
		ids = append(ids, id)
		at[id] = t
	}
	acc.mu.Unlock()
	rows, err := store.BenchNotifyFirstEvents(ctx, db.pool, ids)
	if err != nil {
		return nil, err
	}
	out := make([]time.Duration, 0, len(rows))
	for _, r := range rows {
		out = append(out, at[r.NoticeID].Sub(r.FirstEvent.Time))
	}
	slices.Sort(out)
	return out, nil
}

// smtpBaseline sends n mails straight to the server with conc
// connections at a time, and returns mails per second.
func smtpBaseline(ctx context.Context, url string, conc, n int) (float64, error) {
	s, err := mail.New(url, "Portal <portal@example.com>")
	if err != nil {
		return 0, err
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	next := make(chan int)
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for i := range next {
				m := mail.Rich{To: "baseline@example.test", Subject: "Baseline " + strconv.Itoa(i), Text: "text", HTML: "<p>html</p>",
					Headers: map[string]string{"List-Unsubscribe": "<http://portal.example/u>"}}
				if err := s.DeliverRich(ctx, m); err != nil {
					mu.Lock()
					first = firstErr(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), first
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
