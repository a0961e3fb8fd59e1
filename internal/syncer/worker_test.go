package syncer_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/mappings"
)

// tx begins a transaction that rivertest inserts and completes its job in,
// rolled back when the test ends: the worker's own writes go through the
// pool and stay. It has its own connection so the worker keeps the whole
// pool.
func (b *bundle) tx(t *testing.T) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.ConnectConfig(ctx, b.pool.Config().ConnConfig.Copy())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(ctx) })
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	return tx
}

func TestSyncWorkerCancelsAnUnknownMode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, fakesource.Options{Seed: 1, Records: 10})
	wk := rivertest.NewWorker(t, riverpgxv5.New(b.pool), &river.Config{}, &syncer.SyncWorker{Syncer: b.syncer})
	res, err := wk.Work(ctx, t, b.tx(t), syncer.SyncArgs{Connection: "salesforce", Object: "Case", Mode: "sideways"}, nil)
	require.NoError(t, err, "rivertest reports a cancellation in the result")
	require.Equal(t, river.EventKindJobCancelled, res.EventKind, "retrying an unknown mode cannot help")
	require.Zero(t, runs(t, b), "no sync was started")
}

// TestMappingChangeEnqueuesAndWorksARemap: after a mapping change,
// EnqueueRemaps inserts a re-map job for the target whose records carry the
// old hash, and the worker re-maps them all.
func TestMappingChangeEnqueuesAndWorksARemap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, fakesource.Options{Seed: 3, Records: 300})
	_, err := b.syncer.Full(ctx, "salesforce", "Case")
	require.NoError(t, err)

	raw, err := fs.ReadFile(mappings.FS(), "salesforce.yaml")
	require.NoError(t, err)
	set, err := mapping.Parse("salesforce.yaml", []byte(strings.Replace(string(raw), "We are working on your request.", "Our team is on it.", 1)))
	require.NoError(t, err)
	s2 := syncer.New(syncer.Options{Pool: b.pool, TenantID: 1, Connectors: b.srcs.Connectors(), Mappings: set})

	client, err := river.NewClient(riverpgxv5.New(b.pool), &river.Config{}) // insert only
	require.NoError(t, err)
	n, err := s2.EnqueueRemaps(ctx, client)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	want := syncer.RemapArgs{Connection: "salesforce", Object: "Case"}
	job := rivertest.RequireInserted(ctx, t, riverpgxv5.New(b.pool), want, nil)
	require.Equal(t, want, job.Args)

	wk := rivertest.NewWorker(t, riverpgxv5.New(b.pool), &river.Config{}, &syncer.RemapWorker{Syncer: s2})
	res, err := wk.WorkJob(ctx, t, b.tx(t), job.JobRow)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	pending, err := s2.Pending(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.Zero(t, pending, "every case re-mapped")
}
