package syncer_test

import (
	"context"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/fakesource"
)

// offsetClock is real time plus an offset the test moves forward: a
// 30-second outage of the simulator passes without waiting 30 seconds.
type offsetClock struct {
	conntest.Clock // the offset, from the zero time
}

func (c *offsetClock) Now() time.Time {
	return time.Now().Add(c.Clock.Now().Sub(time.Time{}))
}

// TestChaosConverges: with 20% 5xx, 429s, connection resets and a 30 s
// outage while records change, syncs fail and are retried; once the
// faults end, incremental syncs catch up, reconciliation finds zero
// differences, and every tombstone is a record the source really deleted.
// PORTICO_CHAOS_RECORDS sets the volume (default 10,000 Salesforce
// records; CI runs the default).
func TestChaosConverges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := &offsetClock{}
	total := 19000 // over 10,000 of them Salesforce's
	if v := os.Getenv("PORTICO_CHAOS_RECORDS"); v != "" {
		var n int
		_, err := fmtSscan(v, &n)
		require.NoError(t, err)
		total = n
	}
	b := setup(t, fakesource.Options{Seed: 9, Records: total, Now: clock.Now})
	b.syncer = b.syncer.WithPageSize(2000)
	targets := b.syncer.Targets()
	sfTotal := 0
	for _, tg := range targets {
		sfTotal += b.sim.Stats().Records["salesforce"][tg.Object]
	}
	t.Logf("%d Salesforce records across %d objects", sfTotal, len(targets))
	// The first sync runs every object at once, as the sync workers do:
	// comments and their cases are stored by concurrent transactions.
	var wg sync.WaitGroup
	errs := make([]error, len(targets))
	for i, tg := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.syncer.Incremental(ctx, tg.Connection, tg.Object)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, targets[i].Object)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	deleted := map[string]bool{}
	mutate := func(n int, step time.Duration) {
		for range n {
			obj := []string{"Case", "Contact", "CaseComment"}[rng.IntN(3)]
			id, err := b.sim.SeedID("salesforce", obj, rng.IntN(200))
			require.NoError(t, err)
			if deleted[id] {
				continue
			}
			switch rng.IntN(10) {
			case 0:
				require.NoError(t, b.sim.DeleteRecord("salesforce", obj, id))
				deleted[id] = true
			default:
				field := map[string]string{"Case": "Subject", "Contact": "Title", "CaseComment": "CommentBody"}[obj]
				require.NoError(t, b.sim.StaffEdit("salesforce", obj, id, map[string]any{field: "edited " + time.Now().String()}))
			}
			clock.Advance(time.Duration(rng.Int64N(int64(step) + 1)))
		}
	}
	syncAll := func() (failures int) {
		for _, tg := range targets {
			if _, err := b.syncer.Incremental(ctx, tg.Connection, tg.Object); err != nil {
				failures++
			}
		}
		return failures
	}

	require.NoError(t, b.sim.SetFaults("salesforce", fakesource.Faults{ErrorRate: 0.2, RateLimitRate: 0.1, RetryAfterSeconds: 1, ResetRate: 0.02}))
	failures := 0
	for range 3 {
		mutate(60, 1500*time.Millisecond)
		failures += syncAll()
	}
	require.NoError(t, b.sim.SetFaults("salesforce", fakesource.Faults{OutageSeconds: 30}))
	mutate(60, 100*time.Millisecond) // within the outage
	outageFailures := syncAll()
	require.Equal(t, len(targets), outageFailures, "every sync fails during the outage")
	clock.Advance(31 * time.Second)
	require.NoError(t, b.sim.SetFaults("salesforce", fakesource.Faults{}))
	t.Logf("%d syncs failed under faults, %d during the outage", failures, outageFailures)

	// Faults over: incremental syncs catch up (the breaker may need its
	// open timeout to pass first).
	require.Eventually(t, func() bool { return syncAll() == 0 }, 30*time.Second, 50*time.Millisecond)

	diffs := 0
	for _, tg := range targets {
		res, err := b.syncer.Reconcile(ctx, tg.Connection, tg.Object)
		require.NoError(t, err)
		if res.Differences > 0 {
			t.Logf("%s %s: %d differences (%d repaired, %d tombstoned)", tg.Connection, tg.Object, res.Differences, res.Records, res.Deleted)
		}
		diffs += res.Differences
	}
	require.Zero(t, diffs, "reconciliation finds nothing the incremental syncs missed")

	rows, err := b.pool.Query(ctx, `SELECT source_object, source_id, deleted_at IS NOT NULL FROM record`)
	require.NoError(t, err)
	defer rows.Close()
	live := map[string]int{}
	tombstoned := 0
	for rows.Next() {
		var obj, id string
		var tomb bool
		require.NoError(t, rows.Scan(&obj, &id, &tomb))
		if tomb {
			tombstoned++
			require.True(t, deleted[id], "%s %s was tombstoned but not deleted at the source", obj, id)
			continue
		}
		live[obj]++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, len(deleted), tombstoned, "every source delete is tombstoned")
	for _, tg := range targets {
		require.Equal(t, b.sim.Stats().Records["salesforce"][tg.Object], live[tg.Object], "%s converged", tg.Object)
	}
	requireOwnersConverged(t, b.syncer)
}
