package syncer_test

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/salesforce"
	"github.com/porticohq/portico/connectors/wire"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/mappings"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

type bundle struct {
	sim    *fakesource.Sim
	pool   *pgxpool.Pool
	syncer *syncer.Syncer
	srcs   *sources.Sources
}

func setup(t *testing.T, opts fakesource.Options) *bundle { return setupB(t, opts) }

// setupSynced is setup with the simulator's cases synced in by a full sync.
func setupSynced(t *testing.T, opts fakesource.Options) *bundle {
	t.Helper()
	b := setup(t, opts)
	_, err := b.syncer.Full(context.Background(), "salesforce", "Case")
	require.NoError(t, err)
	return b
}

func setupB(t testing.TB, opts fakesource.Options) *bundle {
	t.Helper()
	sim, srv := fakesourcetest.Start(t, opts)
	cr := sim.Credentials(srv.URL).Salesforce
	cfg := config.ConnectionConfig{
		Name: "salesforce", Type: "salesforce", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
		ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken,
		Breaker: config.BreakerConfig{Failures: 3, OpenTimeout: 200 * time.Millisecond},
		Retry:   config.RetryConfig{Max: 1, WaitMin: time.Millisecond, WaitMax: 5 * time.Millisecond},
	}
	reg := connectorsRegistry(opts.Now)
	srcs, err := sources.Open(context.Background(), sources.Options{
		Connections: []config.ConnectionConfig{config.DefaultConnection(cfg)}, Registry: reg,
		Credentials: &conntest.MemoryCredentials{}, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	pool := dbtest.Pool(t)
	s := syncer.New(syncer.Options{Pool: pool, TenantID: 1, Connectors: srcs.Connectors(), Mappings: set, PageSize: 50})
	return &bundle{sim: sim, pool: pool, syncer: s, srcs: srcs}
}

// connectorsRegistry builds Salesforce connectors on the simulator's
// clock, as a real deployment's clocks agree with the source's.
func connectorsRegistry(now func() time.Time) *sources.Registry {
	reg := connectors.NewRegistry[connectors.Deps]()
	reg.MustRegister("salesforce", func(d connectors.Deps) (connectors.Connector, error) {
		return salesforce.NewWithOptions(d, salesforce.Options{Tuning: wire.Tuning{Now: now}})
	})
	return reg
}

func (b *bundle) count(t *testing.T, object string) (live, tombstoned int64) {
	t.Helper()
	var l, d int64
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT count(*) FILTER (WHERE deleted_at IS NULL), count(*) FILTER (WHERE deleted_at IS NOT NULL)
		 FROM record WHERE source_object = $1`, object).Scan(&l, &d))
	return l, d
}

func (b *bundle) version(t *testing.T, object, id string) string {
	t.Helper()
	var v string
	require.NoError(t, b.pool.QueryRow(context.Background(),
		`SELECT source_version FROM record WHERE source_object = $1 AND source_id = $2`, object, id).Scan(&v))
	return v
}

func TestFullThenIncrementalConverge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, fakesource.Options{Seed: 3, Records: 2500}) // > 200 cases: Salesforce batches are at least 200
	want := b.sim.Stats().Records["salesforce"]["Case"]
	require.Positive(t, want)

	res, err := b.syncer.Full(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.Equal(t, want, res.Records)
	require.Greater(t, res.Pages, 1, "paged")
	live, _ := b.count(t, "Case")
	require.EqualValues(t, want, live)

	// A staff edit shows up in the next incremental run.
	id, err := b.sim.SeedID("salesforce", "Case", 0)
	require.NoError(t, err)
	before := b.version(t, "Case", id)
	require.NoError(t, b.sim.StaffEdit("salesforce", "Case", id, map[string]any{"Status": "Escalated"}))
	_, err = b.syncer.Incremental(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.NotEqual(t, before, b.version(t, "Case", id))
	var status string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT data->>'status_label' FROM record WHERE source_id = $1`, id).Scan(&status))
	require.NotEmpty(t, status, "mapped with the status label")

	// Deleted at the source: tombstoned by the change feed.
	require.NoError(t, b.sim.DeleteRecord("salesforce", "Case", id))
	res, err = b.syncer.Incremental(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.Equal(t, 1, res.Deleted)
	_, tomb := b.count(t, "Case")
	require.EqualValues(t, 1, tomb)

	rec, err := b.syncer.Reconcile(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.Zero(t, rec.Differences, "converged")
}

func TestEqualTimestampsAndLateRecordsAreNotMissed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := conntest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	b := setup(t, fakesource.Options{Seed: 5, Records: 200, Now: clock.Now, VisibilityLag: 30 * time.Second})
	clock.Advance(time.Hour) // every seed record is visible
	_, err := b.syncer.Full(ctx, "salesforce", "Case")
	require.NoError(t, err)
	live0, _ := b.count(t, "Case")

	// Five cases on one stamp, straddling the page size, then a sync while
	// they are still invisible to queries, then one after.
	stamp := clock.Now().Add(-time.Second)
	for range 60 {
		_, err := b.sim.CreateRecord("salesforce", "Case", map[string]any{"Subject": "same stamp", "Status": "New", "AccountId": firstAccount(t, b)}, fakesource.WithModstamp(stamp))
		require.NoError(t, err)
	}
	_, err = b.syncer.Incremental(ctx, "salesforce", "Case")
	require.NoError(t, err)
	mid, _ := b.count(t, "Case")
	require.Equal(t, live0, mid, "not yet visible to queries")
	clock.Advance(time.Minute) // now visible, with a stamp older than the cursor
	_, err = b.syncer.Incremental(ctx, "salesforce", "Case")
	require.NoError(t, err)
	live, _ := b.count(t, "Case")
	require.EqualValues(t, live0+60, live, "all 60 records sharing one late-visible stamp")
}

func TestFailedRunIsReportedAndChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSynced(t, fakesource.Options{Seed: 7, Records: 300})
	cur0 := cursor(t, b.pool)
	live0, _ := b.count(t, "Case")

	require.NoError(t, b.sim.SetFaults("salesforce", fakesource.Faults{ErrorRate: 1}))
	_, err := b.syncer.Incremental(ctx, "salesforce", "Case")
	require.Error(t, err)
	_, err = b.syncer.Reconcile(ctx, "salesforce", "Case")
	require.Error(t, err, "a reconciliation that cannot list fails")

	var state, errText string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT state, coalesce(error, '') FROM sync_run WHERE kind = 'incremental' ORDER BY id DESC LIMIT 1`).Scan(&state, &errText))
	require.Equal(t, "failed", state)
	require.NotEmpty(t, errText)
	require.Equal(t, cur0, cursor(t, b.pool), "the cursor did not move")
	live, tomb := b.count(t, "Case")
	require.Equal(t, live0, live)
	require.Zero(t, tomb, "a failed run tombstones nothing")
}

func firstAccount(t *testing.T, b *bundle) string {
	t.Helper()
	id, err := b.sim.SeedID("salesforce", "Account", 0)
	require.NoError(t, err)
	return id
}

func cursor(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var c string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT cursor FROM sync_cursor WHERE object = 'Case'`).Scan(&c))
	return c
}

func fmtSscan(s string, n *int) (int, error) { return fmt.Sscan(s, n) }

func TestRemapAfterAMappingChangeWithoutCallingTheSource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setupSynced(t, fakesource.Options{Seed: 3, Records: 2500})
	id, err := b.sim.SeedID("salesforce", "Case", 1)
	require.NoError(t, err)
	require.NoError(t, b.sim.DeleteRecord("salesforce", "Case", id))
	_, err = b.syncer.Incremental(ctx, "salesforce", "Case")
	require.NoError(t, err)
	var syncedBefore time.Time
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT max(synced_at) FROM record`).Scan(&syncedBefore))

	// The integrator relabels a status.
	raw, err := fs.ReadFile(mappings.FS(), "salesforce.yaml")
	require.NoError(t, err)
	changed := strings.Replace(string(raw), "We are working on your request.", "Our team is on it.", 1)
	require.NotEqual(t, string(raw), changed, "the shipped mapping has the label this test changes")
	set, err := mapping.Parse("salesforce.yaml", []byte(changed))
	require.NoError(t, err)
	s2 := syncer.New(syncer.Options{Pool: b.pool, TenantID: 1, Connectors: b.srcs.Connectors(), Mappings: set})

	pending, err := s2.Pending(ctx, "salesforce", "Case")
	require.NoError(t, err)
	live, tomb := b.count(t, "Case")
	require.EqualValues(t, live, pending, "every live case is mapped with the old hash")
	require.EqualValues(t, 1, tomb)

	// Interrupted after the first batch, then resumed.
	calls := b.sim.Stats().CallCount("", "", 0)
	cctx, cancel := context.WithCancel(ctx)
	n1, err := s2.Remap(cctx, "salesforce", "Case", func(syncer.RemapProgress) { cancel() })
	require.Error(t, err)
	n2, err := s2.Remap(ctx, "salesforce", "Case", nil)
	require.NoError(t, err)
	require.EqualValues(t, live, n1+n2, "resumed where it stopped")
	require.Equal(t, calls, b.sim.Stats().CallCount("", "", 0), "no source calls")

	pending, err = s2.Pending(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.Zero(t, pending)
	var relabelled int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM record WHERE source_object = 'Case' AND data->>'next_step' = 'Our team is on it.'`).Scan(&relabelled))
	require.Positive(t, relabelled)
	_, tomb = b.count(t, "Case")
	require.EqualValues(t, 1, tomb, "a re-map does not bring a deleted record back")
	var syncedAfter time.Time
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT max(synced_at) FROM record`).Scan(&syncedAfter))
	require.Equal(t, syncedBefore, syncedAfter, "a re-map confirms nothing with the source")
}

func TestFullResyncResumesWhereItStopped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, fakesource.Options{Seed: 3, Records: 6000}) // several Salesforce batches of cases
	want := b.sim.Stats().Records["salesforce"]["Case"]

	cctx, cancel := context.WithCancel(ctx)
	first := b.syncer.WithPageSize(200).WithProgress(func(p syncer.Progress) {
		if p.Pages == 1 {
			cancel() // the operator's process dies after the first page
		}
	})
	res1, err := first.Full(cctx, "salesforce", "Case")
	require.Error(t, err)
	require.Equal(t, 1, res1.Pages)
	var state string
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT state FROM sync_run WHERE id = $1`, res1.RunID).Scan(&state))
	require.Equal(t, "failed", state, "an interrupted run is recorded as failed")

	res2, err := b.syncer.WithPageSize(200).Full(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.Less(t, res2.Records, want, "the second run did not start over")
	live, _ := b.count(t, "Case")
	require.EqualValues(t, want, live)
}

func TestTargetsPutOwnersFirst(t *testing.T) {
	t.Parallel()
	b := setup(t, fakesource.Options{Seed: 1, Records: 100})
	var order []string
	for _, tg := range b.syncer.Targets() {
		order = append(order, tg.Portal)
	}
	require.Equal(t, "account", order[0], "accounts first: references to them resolve on insert")
	require.Less(t, slices.Index(order, "case"), slices.Index(order, "case_comment"), "a parent before the records owned through it")
}
