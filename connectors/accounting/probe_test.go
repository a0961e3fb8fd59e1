package accounting_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/wire"
	"github.com/porticohq/portico/internal/fakesource"
)

// TestProbeChangesInOneCDCCall: the entities of one QuickBooks company
// are asked about in one change data capture call; each answers changed
// only after one of its own records was updated or deleted; a cursor
// older than CDC keeps answers changed (its pull decides) without a call
// of its own.
func TestProbeChangesInOneCDCCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := conntest.NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	sim, c := onSim(t, fakesource.Options{Seed: 3, Records: 300, Now: clock.Now}, accounting.Options{Tuning: wire.Tuning{Now: clock.Now}}, nil)
	calls := func() int { return sim.Stats().CallCount(fakesource.Accounting, "", 0) }

	entities := []string{"Invoice", "Payment"}
	probes := make([]connectors.Probe, len(entities))
	for i, e := range entities {
		id, err := sim.SeedID(fakesource.Accounting, e, 0)
		require.NoError(t, err)
		require.NoError(t, sim.StaffEdit(fakesource.Accounting, e, id, map[string]any{"PrivateNote": "fresh"}))
		clock.Advance(time.Second)
		req := connectors.PullRequest{Object: e}
		for {
			page, err := c.Pull(ctx, req)
			require.NoError(t, err)
			probes[i].Cursor = page.Cursor
			if page.Next == "" {
				break
			}
			req.Page = page.Next
		}
		probes[i].Object, probes[i].Since = e, clock.Now()
	}
	clock.Advance(time.Minute)

	require.Eventually(t, func() bool { n := calls(); return n == calls() }, time.Second, 10*time.Millisecond)
	before := calls()
	res, err := c.ProbeChanges(ctx, probes)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return calls() == before+1 }, time.Second, 10*time.Millisecond, "two entities, one call")
	for _, r := range res {
		require.NoError(t, r.Err)
		require.False(t, r.Changed, r.Object)
	}

	id, err := sim.SeedID(fakesource.Accounting, "Invoice", 1)
	require.NoError(t, err)
	require.NoError(t, sim.StaffEdit(fakesource.Accounting, "Invoice", id, map[string]any{"PrivateNote": "edited"}))
	res, err = c.ProbeChanges(ctx, probes)
	require.NoError(t, err)
	require.True(t, res[0].Changed, "an Invoice was edited")
	require.False(t, res[1].Changed, "no Payment was")

	// An idle entity's cursor may be far older than CDC keeps: what counts
	// is when it was last pulled.
	clock.Advance(40 * 24 * time.Hour)
	idle := probes[1]
	idle.Since = clock.Now().Add(-time.Minute)
	res, err = c.ProbeChanges(ctx, []connectors.Probe{idle})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.False(t, res[0].Changed, "pulled a minute ago, nothing since: unchanged however old its cursor")
	old := idle
	old.Since = time.Time{}
	res, err = c.ProbeChanges(ctx, []connectors.Probe{old, {Object: "Nope", Cursor: probes[0].Cursor}})
	require.NoError(t, err)
	require.True(t, res[0].Changed, "no last pull, a cursor older than CDC keeps: the pull decides")
	require.ErrorIs(t, res[1].Err, connectors.ErrInvalid)
}
