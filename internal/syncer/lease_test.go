package syncer_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
)

// One pull of an object at a time across the fleet: a pull asked for
// while another holds the object's lease (here another process's, taken
// by hand) is ErrBusy and calls nothing; a lease whose process died runs
// out; a pull asked for while another is on its pages is busy, so every
// page is fetched and stored once.
func TestOnePullOfAnObjectAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, fakesource.Options{Seed: 3, Records: 2500})
	want := b.sim.Stats().Records["salesforce"]["Case"]
	key := store.SyncPullLeaseParams{TenantID: 1, Connection: "salesforce", Object: "Case"}
	_, err := store.SyncCursorEnsure(ctx, b.pool, store.SyncCursorEnsureParams{TenantID: 1, Connection: "salesforce", Object: "Case"})
	require.NoError(t, err)
	runs := func() int {
		var n int
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM sync_run WHERE object = 'Case'`).Scan(&n))
		return n
	}

	elsewhere := key
	elsewhere.Owner, elsewhere.Seconds = "another process", 60
	n, err := store.SyncPullLease(ctx, b.pool, elsewhere)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	calls := b.sim.Stats().CallCount("salesforce", "", 0)
	_, err = b.syncer.Full(ctx, "salesforce", "Case")
	require.ErrorIs(t, err, syncer.ErrBusy)
	_, err = b.syncer.Incremental(ctx, "salesforce", "Case")
	require.ErrorIs(t, err, syncer.ErrBusy)
	require.Equal(t, calls, b.sim.Stats().CallCount("salesforce", "", 0), "a busy pull calls nothing")
	require.Zero(t, runs(), "nor records a run")

	// That process died: its lease ran out.
	elsewhere.Seconds = -1
	_, err = store.SyncPullLease(ctx, b.pool, elsewhere)
	require.NoError(t, err)
	res, err := b.syncer.Full(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.Equal(t, want, res.Records)

	// A second full pull while the first is on its pages (slowed down,
	// so that they overlap): the first stores them, the second is busy.
	require.NoError(t, b.sim.SetFaults("salesforce", fakesource.Faults{LatencyMinMS: 300, LatencyMaxMS: 300}))
	first := make(chan error, 1)
	go func() {
		_, err := b.syncer.Full(ctx, "salesforce", "Case")
		first <- err
	}()
	require.Eventually(t, func() bool {
		var held bool
		require.NoError(t, b.pool.QueryRow(ctx, `SELECT coalesce(pull_until > now(), false) FROM sync_cursor WHERE object = 'Case'`).Scan(&held))
		return held
	}, 20*time.Second, 10*time.Millisecond, "the first pull holds the lease")
	_, err = b.syncer.Full(ctx, "salesforce", "Case")
	require.ErrorIs(t, err, syncer.ErrBusy)
	require.NoError(t, <-first)
	require.NoError(t, b.sim.SetFaults("salesforce", fakesource.Faults{}))
	require.Equal(t, 2, runs(), "one run each time")
	// Released: the next pull runs.
	_, err = b.syncer.Incremental(ctx, "salesforce", "Case")
	require.NoError(t, err)
}
