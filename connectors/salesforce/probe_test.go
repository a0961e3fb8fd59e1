package salesforce

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/fakesource"
)

// TestProbeChangesInOneCompositeCall: several objects are asked about in
// one Composite call (one call against the org's limit); each answers
// changed only after a record of its own changed or was deleted; and a
// sub-request the source refuses inside the call's 200 is that object's
// classified error, never "unchanged", while the others still answer.
func TestProbeChangesInOneCompositeCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim, c := onSim(t, fakesource.Options{Seed: 5, Records: 200}, Options{})
	cursorOf := func(object string) string {
		var cur string
		var req = connectors.PullRequest{Object: object}
		for {
			page, err := c.Pull(ctx, req)
			require.NoError(t, err)
			if page.Cursor != "" {
				cur = page.Cursor
			}
			if page.Next == "" {
				return cur
			}
			req.Page = page.Next
		}
	}
	objects := []string{"Account", "Case", "Contact"}
	probes := make([]connectors.Probe, len(objects))
	since := time.Now()
	for i, o := range objects {
		probes[i] = connectors.Probe{Object: o, Cursor: cursorOf(o), Since: since}
	}
	// The simulator counts a call once its answer is written, so a count
	// read right after an answer may lag it: read until it settles.
	calls := func() int {
		n := sim.Stats().CallCount(fakesource.Salesforce, "", 0)
		for range 50 {
			time.Sleep(10 * time.Millisecond)
			m := sim.Stats().CallCount(fakesource.Salesforce, "", 0)
			if m == n {
				return n
			}
			n = m
		}
		return n
	}

	before := calls()
	res, err := c.ProbeChanges(ctx, probes)
	require.NoError(t, err)
	require.Equal(t, before+1, calls(), "three objects, six sub-requests, one call: %+v", sim.Stats().Calls)
	for i, r := range res {
		require.Equal(t, objects[i], r.Object)
		require.NoError(t, r.Err, r.Object)
		require.False(t, r.Changed, "%s: nothing changed", r.Object)
	}

	caseID, err := sim.SeedID(fakesource.Salesforce, "Case", 0)
	require.NoError(t, err)
	require.NoError(t, sim.StaffEdit(fakesource.Salesforce, "Case", caseID, map[string]any{"Status": "Escalated"}))
	contactID, err := sim.SeedID(fakesource.Salesforce, "Contact", 0)
	require.NoError(t, err)
	require.NoError(t, sim.DeleteRecord(fakesource.Salesforce, "Contact", contactID))
	res, err = c.ProbeChanges(ctx, probes)
	require.NoError(t, err)
	require.False(t, res[0].Changed, "Account unchanged")
	require.True(t, res[1].Changed, "a Case was edited")
	require.True(t, res[2].Changed, "a Contact was deleted")

	// The deleted list refuses a start more than 30 days back: that
	// sub-request fails inside the 200, the others still answer.
	probes[1].Since = time.Now().Add(-40 * 24 * time.Hour)
	res, err = c.ProbeChanges(ctx, probes)
	require.NoError(t, err)
	require.ErrorIs(t, res[1].Err, connectors.ErrInvalid, "classified: %v", res[1].Err)
	require.Contains(t, res[1].Err.Error(), "INVALID_REPLICATION_DATE")
	require.NoError(t, res[0].Err)
	require.NoError(t, res[2].Err)
	require.True(t, res[2].Changed)

	// An object the connector does not know fails on its own, without a call.
	before = calls()
	res, err = c.ProbeChanges(ctx, []connectors.Probe{{Object: "Nope__c", Cursor: probes[0].Cursor}})
	require.NoError(t, err)
	require.Error(t, res[0].Err)
	require.Equal(t, before, calls())
}
