package fleet_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fleet"
	"github.com/porticohq/portico/internal/pgnotify"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// source is a simulated source over real HTTP that counts its calls and
// answers as told.
type source struct {
	srv      *httptest.Server
	calls    atomic.Int64
	inFlight atomic.Int64
	maxIn    atomic.Int64
	status   atomic.Int64
	hold     atomic.Pointer[chan struct{}] // when set, calls wait for it to close
	header   atomic.Pointer[string]        // Sforce-Limit-Info to send
}

func newSource(t *testing.T) *source {
	s := &source{}
	s.status.Store(http.StatusOK)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.calls.Add(1)
		n := s.inFlight.Add(1)
		defer s.inFlight.Add(-1)
		for {
			m := s.maxIn.Load()
			if n <= m || s.maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		if h := s.hold.Load(); h != nil {
			<-*h
		}
		if v := s.header.Load(); v != nil {
			w.Header().Set("Sforce-Limit-Info", *v)
		}
		w.WriteHeader(int(s.status.Load()))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// process is one simulated Portico process: its own pool, its own Fleet,
// its own client (and so its own gobreaker) for the connection.
type process struct {
	pool   *pgxpool.Pool
	fleet  *fleet.Fleet
	client *httpclient.Client
}

func settings(q httpclient.Quota) httpclient.Settings {
	return httpclient.Settings{
		Name: "crm", Quota: q,
		Breaker:        httpclient.Breaker{Failures: 2, OpenTimeout: 500 * time.Millisecond},
		Retry:          httpclient.Retry{Max: 0, WaitMin: time.Millisecond, WaitMax: 2 * time.Millisecond},
		RequestTimeout: 10 * time.Second, MaxResponseBytes: 1 << 20,
	}
}

func startProcess(t *testing.T, url, name string, s httpclient.Settings, lease int, listen bool) *process {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	f := fleet.New(fleet.Options{Pool: pool, Process: name, Lease: lease})
	t.Cleanup(func() { f.Close(context.Background()) })
	budget, signal, err := f.Attach(ctx, s)
	require.NoError(t, err)
	client, err := httpclient.New(httpclient.Options{Connection: s, Budget: budget, Signal: signal})
	require.NoError(t, err)
	if listen {
		lctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { pgnotify.Listen(lctx, pool, f.Subscriptions(), nil) })
		t.Cleanup(func() { cancel(); wg.Wait() })
	}
	return &process{pool: pool, fleet: f, client: client}
}

func (p *process) call(t *testing.T, url string, write bool) (int, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if write {
		req = httpclient.Write(req)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func rateLimited(err error) bool {
	var rl *connectors.RateLimitedError
	return errors.As(err, &rl)
}

// TestBudgetIsSharedByProcesses: three processes, each free to call as fast
// as it likes, together spend no more than the one budget: reads stop at
// the share kept for writes, and writes may spend that share. With a
// budget per process (the old in-memory one), each would spend its own 80.
func TestBudgetIsSharedByProcesses(t *testing.T) {
	t.Parallel()
	for _, lease := range []int{1, 5} {
		t.Run("lease"+string(rune('0'+lease)), func(t *testing.T) {
			t.Parallel()
			url := dbtest.URL(t)
			src := newSource(t)
			s := settings(httpclient.Quota{PerDay: 100, WriteShare: 0.2})
			var procs []*process
			for _, name := range []string{"a", "b", "c"} {
				procs = append(procs, startProcess(t, url, name, s, lease, false))
			}
			var wg sync.WaitGroup
			var ok, limited atomic.Int64
			for _, p := range procs {
				for range 4 {
					wg.Go(func() {
						for range 20 {
							_, err := p.call(t, src.srv.URL, false)
							switch {
							case err == nil:
								ok.Add(1)
							case rateLimited(err):
								limited.Add(1)
							default:
								t.Errorf("unexpected error: %v", err)
							}
						}
					})
				}
			}
			wg.Wait()
			require.LessOrEqual(t, src.calls.Load(), int64(80), "reads across the fleet stop at 80 of 100 (20 kept for writes)")
			require.GreaterOrEqual(t, src.calls.Load(), int64(80-3*(lease-1)), "the budget is spent, but for what leases hold")
			require.Equal(t, ok.Load(), src.calls.Load())
			require.Equal(t, int64(240), ok.Load()+limited.Load())

			// Writes reach into the reserved share, across processes.
			for i := range 20 {
				_, err := procs[i%3].call(t, src.srv.URL, true)
				require.NoError(t, err, "write %d", i)
			}
			_, err := procs[0].call(t, src.srv.URL, true)
			require.True(t, rateLimited(err), "the 101st call of the day is refused: %v", err)
			var rl *connectors.RateLimitedError
			require.ErrorAs(t, err, &rl)
			require.Greater(t, rl.RetryAfter, 10*time.Minute, "a day's bucket refills a call in 86400/100 s")

			// Leases go back when a process stops; the fleet's view counts
			// every process's calls.
			for _, p := range procs {
				p.fleet.Close(context.Background())
			}
			st, err := procs[0].fleet.Status(context.Background())
			require.NoError(t, err)
			require.Equal(t, src.calls.Load(), st["crm"].Spent)
		})
	}
}

// TestSourceReportIsTheTruth: the source's own usage report (shared by
// every client of the org) sets what the fleet has left: after one
// process hears "95 of 100 used", another process's reads stop.
func TestSourceReportIsTheTruth(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	src := newSource(t)
	report := "api-usage=95/100"
	src.header.Store(&report)
	s := settings(httpclient.Quota{WriteShare: 0.2}) // no daily limit of our own
	a := startProcess(t, url, "a", s, 1, false)
	b := startProcess(t, url, "b", s, 1, false)

	_, err := a.call(t, src.srv.URL, false)
	require.NoError(t, err)
	_, err = b.call(t, src.srv.URL, false)
	require.True(t, rateLimited(err), "5 left of 100, 20 kept for writes: %v", err)
	_, err = b.call(t, src.srv.URL, true)
	require.NoError(t, err, "writes may still spend the reserved share")
	st, err := b.fleet.Status(context.Background())
	require.NoError(t, err)
	require.Equal(t, 95, st["crm"].SourceUsed)
	require.Equal(t, 100, st["crm"].SourceMax)
	require.Equal(t, 5, st["crm"].DayLeft, "the write's answer says 95 of 100 again: that is the truth")
	require.Equal(t, httpclient.Remaining{Minute: -1, Day: 5}, b.client.Quota())
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestBreakerTripIsShared: when one process's breaker opens, another
// process stops calling the source before its own breaker saw a single
// failure; after the open time one probe at a time goes out across the
// fleet, and its success lets every process call again.
func TestBreakerTripIsShared(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	src := newSource(t)
	s := settings(httpclient.Quota{WriteShare: 0.2})
	a := startProcess(t, url, "proc-a", s, 1, true)
	b := startProcess(t, url, "proc-b", s, 1, true)
	c := startProcess(t, url, "proc-c", s, 1, true)

	// b has seen the source healthy: its view of the breaker is fresh.
	_, err := b.call(t, src.srv.URL, false)
	require.NoError(t, err)

	src.status.Store(http.StatusInternalServerError)
	for range 2 {
		code, err := a.call(t, src.srv.URL, false)
		require.NoError(t, err)
		require.Equal(t, http.StatusInternalServerError, code)
	}
	require.Equal(t, httpclient.BreakerOpen, a.client.Breaker())
	waitFor(t, "b to hear of a's trip", func() bool {
		st, by := b.client.BreakerTrippedBy()
		return st == httpclient.BreakerOpen && by == "proc-a"
	})
	calls := src.calls.Load()
	_, err = b.call(t, src.srv.URL, false)
	require.ErrorIs(t, err, connectors.ErrUnavailable)
	_, err = c.call(t, src.srv.URL, false)
	require.ErrorIs(t, err, connectors.ErrUnavailable)
	require.Equal(t, calls, src.calls.Load(), "no process calls a source the fleet saw down")
	st, err := c.fleet.Status(context.Background())
	require.NoError(t, err)
	require.Equal(t, "open", st["crm"].Breaker)
	require.Equal(t, "proc-a", st["crm"].TrippedBy)

	// Half-open: the source is back, but slow. Every process tries at
	// once; one probe reaches the source, the others are refused.
	src.status.Store(http.StatusOK)
	hold := make(chan struct{})
	src.hold.Store(&hold)
	waitFor(t, "the open time to pass", func() bool {
		st, _ := b.client.BreakerTrippedBy()
		return st == httpclient.BreakerHalfOpen
	})
	var wg sync.WaitGroup
	var refused atomic.Int64
	for _, p := range []*process{a, b, c, b, c} {
		wg.Go(func() {
			if _, err := p.call(t, src.srv.URL, false); err != nil {
				require.ErrorIs(t, err, connectors.ErrUnavailable)
				refused.Add(1)
			}
		})
	}
	waitFor(t, "the others to be refused", func() bool { return refused.Load() == 4 })
	require.Equal(t, int64(1), src.inFlight.Load(), "one probe at a time across the fleet")
	close(hold)
	src.hold.Store(nil)
	wg.Wait()
	require.Equal(t, calls+1, src.calls.Load())

	// The probe succeeded: every process calls again.
	for _, p := range []*process{a, b, c} {
		waitFor(t, "the breaker to close", func() bool {
			_, err := p.call(t, src.srv.URL, false)
			return err == nil
		})
	}
	st, err = a.fleet.Status(context.Background())
	require.NoError(t, err)
	require.Equal(t, "closed", st["crm"].Breaker)
}

// TestAProcessStartingKeepsWhatIsLeft: a process that starts after the
// source reported its usage (every process makes the budget's row on
// start) keeps the fleet's view of what is left; it neither refills the
// day nor empties it.
func TestAProcessStartingKeepsWhatIsLeft(t *testing.T) {
	t.Parallel()
	url := dbtest.URL(t)
	src := newSource(t)
	report := "api-usage=10/100"
	src.header.Store(&report)
	s := settings(httpclient.Quota{WriteShare: 0.2}) // no daily limit of our own: the source's is the truth
	a := startProcess(t, url, "a", s, 1, false)
	_, err := a.call(t, src.srv.URL, false)
	require.NoError(t, err)

	b := startProcess(t, url, "b", s, 1, false)
	require.Equal(t, httpclient.Remaining{Minute: -1, Day: 90}, b.client.Quota(), "b starts with what the source said is left")
	_, err = b.call(t, src.srv.URL, false)
	require.NoError(t, err, "70 calls left for reads")
	st, err := b.fleet.Status(context.Background())
	require.NoError(t, err)
	require.Equal(t, 90, st["crm"].DayLeft)

	// With a daily limit of our own, a restart keeps what was spent.
	s2 := settings(httpclient.Quota{PerDay: 50, WriteShare: 0.2})
	s2.Name = "books"
	c := startProcess(t, url, "c", s2, 1, false)
	for range 10 {
		_, err := c.call(t, src.srv.URL, false)
		require.NoError(t, err)
	}
	d := startProcess(t, url, "d", s2, 1, false)
	require.Equal(t, 40, d.client.Quota().Day, "10 of 50 spent before d started")
}
