package salesforce

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/fakesource"
)

// If-Unmodified-Since compares to the second, so a staff edit in the same
// second as the version the customer's change was made against would
// pass it: the update must still end in conflict (invariant 6), never
// overwrite the newer version.
func TestUpdateAgainstAnEditInTheSameSecondIsAConflict(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 10, 0, 0, 200_000_000, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); defer mu.Unlock(); now = t }
	sim, c := onSim(t, fakesource.Options{Seed: 1, Records: 5, Now: clock}, Options{})
	ctx := context.Background()
	id, err := sim.SeedID(fakesource.Salesforce, "Case", 0)
	require.NoError(t, err)
	require.NoError(t, sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Subject": "read by the customer"}))
	read, err := c.Get(ctx, "Case", id)
	require.NoError(t, err)

	set(now.Add(500 * time.Millisecond)) // the same second
	require.NoError(t, sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Subject": "changed by staff"}))
	current, err := c.Get(ctx, "Case", id)
	require.NoError(t, err)
	require.NotEqual(t, read.Version, current.Version)

	_, err = c.Write(ctx, connectors.Write{Op: connectors.OpUpdate, Object: "Case", ID: id,
		Fields: map[string]any{"Subject": "the customer's change"}, ExpectedVersion: read.Version})
	var ce *connectors.ConflictError
	require.True(t, errors.As(err, &ce), "a conflict, not %v", err)
	require.Equal(t, current.Version, ce.CurrentVersion)
	rec, err := sim.Record(fakesource.Salesforce, "Case", id)
	require.NoError(t, err)
	require.Equal(t, "changed by staff", rec["Subject"], "the newer version stands")

	// Against the current version the update applies.
	res, err := c.Write(ctx, connectors.Write{Op: connectors.OpUpdate, Object: "Case", ID: id,
		Fields: map[string]any{"Subject": "the customer's change"}, ExpectedVersion: current.Version})
	require.NoError(t, err)
	require.Equal(t, id, res.ID)
	rec, err = sim.Record(fakesource.Salesforce, "Case", id)
	require.NoError(t, err)
	require.Equal(t, "the customer's change", rec["Subject"])
}
