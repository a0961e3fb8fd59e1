package syncer_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

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
	b := setupSynced(t, fakesource.Options{Seed: 3, Records: 300})

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

// TestSyncWorkerSyncsAndWaitsForADownSource: a full sync job brings every
// case of the source into the cache and completes; with the source down an
// incremental job is snoozed, which spends no attempt.
func TestSyncWorkerSyncsAndWaitsForADownSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, fakesource.Options{Seed: 2, Records: 60})
	wk := rivertest.NewWorker(t, riverpgxv5.New(b.pool), &river.Config{}, &syncer.SyncWorker{Syncer: b.syncer})
	tx := b.tx(t)
	res, err := wk.Work(ctx, t, tx, syncer.SyncArgs{Connection: "salesforce", Object: "Case", Mode: syncer.KindFull}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	var cached int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM record WHERE source_object = 'Case' AND deleted_at IS NULL`).Scan(&cached))
	require.Equal(t, b.sim.Stats().Records["salesforce"]["Case"], cached)

	require.NoError(t, b.sim.SetFaults(fakesource.Salesforce, fakesource.Faults{OutageSeconds: 3600}))
	res, err = wk.Work(ctx, t, tx, syncer.SyncArgs{Connection: "salesforce", Object: "Case", Mode: syncer.KindIncremental}, nil)
	require.NoError(t, err, "rivertest reports a snooze in the result")
	require.Equal(t, river.EventKindJobSnoozed, res.EventKind, "a down source is waited for")
	require.Empty(t, res.Job.Errors, "waiting spends no attempt")
}

// TestRefreshWorkerRefreshesOneRecord: a refresh job reads the record the
// source changed into the cache at once, without a sync run.
func TestRefreshWorkerRefreshesOneRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSynced(t, fakesource.Options{Seed: 2, Records: 60})
	id, err := b.sim.SeedID(fakesource.Salesforce, "Case", 0)
	require.NoError(t, err)
	require.NoError(t, b.sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Subject": "Changed at the source"}))
	before := runs(t, b)

	wk := rivertest.NewWorker(t, riverpgxv5.New(b.pool), &river.Config{}, &syncer.RefreshWorker{Syncer: b.syncer})
	res, err := wk.Work(ctx, t, b.tx(t), syncer.RefreshArgs{Connection: "salesforce", Object: "Case", ID: id}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	var subject string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT data->'fields'->>'subject' FROM record WHERE source_object = 'Case' AND source_id = $1`, id).Scan(&subject))
	require.Equal(t, "Changed at the source", subject)
	require.Equal(t, before, runs(t, b), "no sync run")
}

// TestPurgeRemovesOnlyOldTombstones: the purge job, worked with rivertest,
// deletes the tombstones older than the retention and keeps a recent one.
func TestPurgeRemovesOnlyOldTombstones(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSynced(t, fakesource.Options{Seed: 3, Records: 600})
	_, err := b.pool.Exec(ctx, `UPDATE record SET deleted_at = now() - interval '40 days' WHERE source_id IN (SELECT source_id FROM record WHERE object = 'case' ORDER BY source_id LIMIT 2)`)
	require.NoError(t, err)
	_, err = b.pool.Exec(ctx, `UPDATE record SET deleted_at = now() - interval '1 day' WHERE source_id IN (SELECT source_id FROM record WHERE object = 'case' AND deleted_at IS NULL ORDER BY source_id LIMIT 1)`)
	require.NoError(t, err)
	_, tomb := b.count(t, "Case")
	require.EqualValues(t, 3, tomb)
	wk := rivertest.NewWorker(t, riverpgxv5.New(b.pool), &river.Config{}, &syncer.PurgeWorker{Syncer: b.syncer, Retention: 30 * 24 * time.Hour})
	res, err := wk.Work(ctx, t, b.tx(t), syncer.PurgeArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	_, tomb = b.count(t, "Case")
	require.EqualValues(t, 1, tomb, "a recent tombstone is kept")
}
