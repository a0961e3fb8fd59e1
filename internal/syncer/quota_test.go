package syncer_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/syncer"
)

type quotaHealth struct{ low bool }

func (h *quotaHealth) QuotaLow(string) bool { return h.low }

func runs(t *testing.T, b *bundle) int {
	t.Helper()
	var n int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM sync_run`).Scan(&n))
	return n
}

// TestLowQuotaSlowsBackgroundSyncs: with the read budget nearly spent, a
// periodic incremental sync of an object synced recently is skipped, so
// the reserved share stays for customer writes; once the slow interval
// has passed it runs anyway, and it runs again as soon as quota is back.
func TestLowQuotaSlowsBackgroundSyncs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, fakesource.Options{Seed: 1, Records: 300})
	health := &quotaHealth{}
	w := &syncer.SyncWorker{Syncer: b.syncer, Health: health, SlowInterval: time.Hour}
	wk := rivertest.NewWorker(t, riverpgxv5.New(b.pool), &river.Config{}, w)
	args := syncer.SyncArgs{Connection: "salesforce", Object: "Case", Mode: syncer.KindIncremental}
	work := func() error {
		res, err := wk.Work(ctx, t, b.tx(t), args, nil)
		if err == nil {
			require.Equal(t, river.EventKindJobCompleted, res.EventKind)
		}
		return err
	}

	require.NoError(t, work())
	require.Equal(t, 1, runs(t, b))

	health.low = true
	calls := b.sim.Stats().CallCount("", "", 0)
	require.NoError(t, work())
	require.Equal(t, 1, runs(t, b), "skipped: synced within the slow interval")
	require.Equal(t, calls, b.sim.Stats().CallCount("", "", 0), "no source calls spent")

	w.SlowInterval = time.Nanosecond
	require.NoError(t, work())
	require.Equal(t, 2, runs(t, b), "a low budget slows syncs down, it does not stop them")

	health.low = false
	w.SlowInterval = time.Hour
	require.NoError(t, work())
	require.Equal(t, 3, runs(t, b))
}
