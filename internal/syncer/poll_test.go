package syncer_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/mappings"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pollSetup is a simulated Salesforce and a syncer on a clock of the
// test's, with poll() working the connection's poll job once (rivertest)
// and requiring it completed.
func pollSetup(t *testing.T) (*bundle, *syncer.Syncer, *testClock, func()) {
	b := setup(t, fakesource.Options{Seed: 2, Records: 300})
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	clock := &testClock{t: time.Now()}
	s := syncer.New(syncer.Options{Pool: b.pool, TenantID: 1, Connectors: b.srcs.Connectors(), Mappings: set, PageSize: 200, Now: clock.Now})
	wk := rivertest.NewWorker(t, riverpgxv5.New(b.pool), &river.Config{}, &syncer.PollWorker{Syncer: s, Schedules: s.Schedules(nil)})
	tx := b.tx(t)
	return b, s, clock, func() {
		t.Helper()
		res, err := wk.Work(context.Background(), t, tx, syncer.PollArgs{Connection: "salesforce"}, nil)
		require.NoError(t, err)
		require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	}
}

func TestFreshnessSchedule(t *testing.T) {
	t.Parallel()
	s := syncer.FreshnessSchedule(time.Minute)
	require.Equal(t, syncer.Schedule{Base: 15 * time.Second, Max: 45 * time.Second}, s)
	require.Equal(t, syncer.Schedule{Base: 15 * time.Minute, Max: 45 * time.Minute}, syncer.FreshnessSchedule(time.Hour))
	require.Equal(t, syncer.Schedule{Base: 10 * time.Second, Max: 10 * time.Second}, syncer.FreshnessSchedule(5*time.Second), "no poll more often than every 10 s")
}

// TestIdlePollsBackOffAndWake: with intervals from freshness, each object
// is polled at a quarter of its target while it changes; while its polls
// come back empty it waits twice as long each time, up to 3/4 of the
// target (so a change is still seen within it); a refresh (a webhook, a
// stale read) puts it back on its base interval at once. Objects not due
// cost no call.
func TestIdlePollsBackOffAndWake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, s, clock, poll := pollSetup(t)
	calls := func() int { return b.sim.Stats().CallCount(fakesource.Salesforce, "", 0) }
	runs := func(object string) int {
		var n int
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM sync_run WHERE object = $1`, object).Scan(&n))
		return n
	}
	idle := func(object string) (int, time.Duration) {
		var n int
		var next time.Time
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT idle_polls, next_poll_at FROM sync_cursor WHERE object = $1`, object).Scan(&n, &next))
		return n, next.Sub(clock.Now()).Round(time.Second)
	}

	poll() // every object is due: the first sync of each
	for _, tg := range s.Targets() {
		require.Equal(t, 1, runs(tg.Object), tg.Object)
	}
	n, wait := idle("Case")
	require.Equal(t, 0, n)
	require.Equal(t, 14*time.Second, wait, "a quarter of Case's 60 s target (a second early, for the tick)")

	before := calls()
	poll()
	require.Equal(t, before, calls(), "nothing is due: no call")

	clock.Add(15 * time.Second)
	poll()
	n, wait = idle("Case")
	require.Equal(t, 1, n, "an empty poll")
	require.Equal(t, 29*time.Second, wait, "twice the base")
	accountIdle, accountWait := idle("Account")
	require.Equal(t, 1, accountIdle, "not due, but asked about in the same Composite call, for free")
	require.Greater(t, accountWait, 10*time.Minute, "freshness 1h: its own back-off")

	clock.Add(15 * time.Second)
	before = calls()
	poll()
	require.Equal(t, before, calls(), "Case backs off; nothing else is due")
	clock.Add(15 * time.Second)
	poll()
	n, wait = idle("Case")
	require.Equal(t, 2, n)
	require.Equal(t, 44*time.Second, wait, "capped at 3/4 of the target")

	// A webhook names a changed Case: its refresh wakes the object.
	id, err := b.sim.SeedID(fakesource.Salesforce, "Case", 0)
	require.NoError(t, err)
	require.NoError(t, b.sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Status": "Escalated"}))
	rw := &syncer.RefreshWorker{Syncer: s}
	require.NoError(t, rw.Work(ctx, &river.Job[syncer.RefreshArgs]{Args: syncer.RefreshArgs{Connection: "salesforce", Object: "Case", ID: id}}))
	var woken int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM sync_cursor WHERE object = 'Case' AND idle_polls = 0 AND next_poll_at IS NULL`).Scan(&woken))
	require.Equal(t, 1, woken)
	poll()
	n, wait = idle("Case")
	require.Equal(t, 1, n, "due at once; the refresh stored the change already, so the back-off starts over")
	require.Equal(t, 29*time.Second, wait)

	// A change the poll itself finds puts the object on its base interval.
	clock.Add(30 * time.Second)
	require.NoError(t, b.sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Status": "Closed"}))
	runsBefore := runs("Case")
	poll()
	require.Equal(t, runsBefore+1, runs("Case"), "pulled")
	n, wait = idle("Case")
	require.Equal(t, 0, n, "a change resets the back-off")
	require.Equal(t, 14*time.Second, wait)
}

// TestIdlePollOfSeveralObjectsIsOneCall: Salesforce's objects are asked
// about together in one Composite call: an idle poll of all eight costs
// one call, and a change costs that call plus the changed object's pull.
func TestIdlePollOfSeveralObjectsIsOneCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, s, clock, poll := pollSetup(t)
	calls := func() int {
		n := b.sim.Stats().CallCount(fakesource.Salesforce, "", 0)
		require.Eventually(t, func() bool { // the simulator counts a call once its answer is written
			m := b.sim.Stats().CallCount(fakesource.Salesforce, "", 0)
			ok := m == n
			n = m
			return ok
		}, 5*time.Second, 20*time.Millisecond)
		return n
	}
	poll()
	require.GreaterOrEqual(t, len(s.Targets()), 8)

	clock.Add(time.Hour) // every object is due
	before := calls()
	poll()
	require.Equal(t, before+1, calls(), "%d idle objects, one call", len(s.Targets()))

	id, err := b.sim.SeedID(fakesource.Salesforce, "Case", 1)
	require.NoError(t, err)
	require.NoError(t, b.sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Status": "Escalated"}))
	runsOf := func() map[string]int {
		out := map[string]int{}
		rows, err := b.pool.Query(ctx, `SELECT object, count(*) FROM sync_run GROUP BY object`)
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var o string
			var n int
			require.NoError(t, rows.Scan(&o, &n))
			out[o] = n
		}
		return out
	}
	runs0 := runsOf()
	clock.Add(time.Hour)
	poll()
	runs1 := runsOf()
	for o, n := range runs0 {
		if o == "Case" {
			require.Equal(t, n+1, runs1[o], "the changed object is pulled")
		} else {
			require.Equal(t, n, runs1[o], "%s: unchanged, not pulled", o)
		}
	}
	var status string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT data->>'status' FROM record WHERE source_object = 'Case' AND source_id = $1`, id).Scan(&status))
	require.NotEmpty(t, status)
}
