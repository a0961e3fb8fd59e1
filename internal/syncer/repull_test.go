package syncer_test

import (
	"context"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/sources"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/mappings"
)

// inserts records what EnqueueRepulls asks River for.
type inserts struct{ args []river.JobArgs }

func (i *inserts) InsertMany(_ context.Context, ps []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	for _, p := range ps {
		i.args = append(i.args, p.Args)
	}
	return nil, nil
}

// A deploy whose case mapping reads a new source field (Region__c): the
// stored payloads lack it, so a re-map leaves it empty; the syncer says a
// full re-pull is due (and status shows it), EnqueueRepulls asks for one
// full sync of Case, and after it the field is filled and nothing is due.
func TestNewSourceFieldMarksTheObjectForARepull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 6, Records: 400, SalesforceCustomFields: map[string][]string{"Case": {"Region__c"}}})
	id, err := sim.SeedID(fakesource.Salesforce, "Case", 2)
	require.NoError(t, err)
	require.NoError(t, sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Region__c": "EMEA"}))
	pool := dbtest.Pool(t)
	shipped, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	withRegion := caseMappingWith(t, "      x_region: {source: Region__c, type: string}")

	before := syncerOver(t, sim, srv.URL, pool, shipped)
	_, err = before.Full(ctx, "salesforce", "Case")
	require.NoError(t, err)
	paths, err := before.NewPaths(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.Empty(t, paths)

	after := syncerOver(t, sim, srv.URL, pool, withRegion)
	_, err = after.Remap(ctx, "salesforce", "Case", nil)
	require.NoError(t, err)
	require.Empty(t, region(t, pool, id), "the stored payload lacks the field: a re-map cannot fill it")
	paths, err = after.NewPaths(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.Equal(t, []string{"Region__c"}, paths)
	st, err := after.Status(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"Region__c"}, caseStatus(t, st).NewSourcePaths, "status shows the re-pull")

	_, err = after.Incremental(ctx, "salesforce", "Case")
	require.NoError(t, err)
	paths, err = after.NewPaths(ctx, "salesforce", "Case")
	require.NoError(t, err)
	require.Equal(t, []string{"Region__c"}, paths, "an incremental run does not fetch unchanged records again")

	var ins inserts
	due, err := after.EnqueueRepulls(ctx, &ins)
	require.NoError(t, err)
	require.Equal(t, []syncer.Repull{{Connection: "salesforce", Object: "Case", Paths: []string{"Region__c"}}}, due)
	require.Equal(t, []river.JobArgs{syncer.SyncArgs{Connection: "salesforce", Object: "Case", Mode: syncer.KindFull}}, ins.args)

	_, err = after.Full(ctx, "salesforce", "Case") // what the job runs
	require.NoError(t, err)
	require.Equal(t, "EMEA", region(t, pool, id))
	due, err = after.EnqueueRepulls(ctx, &ins)
	require.NoError(t, err)
	require.Empty(t, due, "asked for once")
	st, err = after.Status(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, caseStatus(t, st).NewSourcePaths)
}

// caseMappingWith is the shipped mappings with lines added to the case
// mapping's fields.
func caseMappingWith(t *testing.T, lines ...string) *mapping.Set {
	t.Helper()
	files := fstest.MapFS{}
	entries, err := fs.ReadDir(mappings.FS(), ".")
	require.NoError(t, err)
	for _, e := range entries {
		b, err := fs.ReadFile(mappings.FS(), e.Name())
		require.NoError(t, err)
		if e.Name() == "salesforce.yaml" {
			b = []byte(strings.Replace(string(b), "      account_name: Account.Name\n", "      account_name: Account.Name\n"+strings.Join(lines, "\n")+"\n", 1))
		}
		files[e.Name()] = &fstest.MapFile{Data: b}
	}
	set, err := mapping.Load(files)
	require.NoError(t, err)
	return set
}

// syncerOver is a syncer whose Salesforce connector reads what set reads.
func syncerOver(t *testing.T, sim *fakesource.Sim, url string, pool *pgxpool.Pool, set *mapping.Set) *syncer.Syncer {
	t.Helper()
	cr := sim.Credentials(url).Salesforce
	conns := []config.ConnectionConfig{config.DefaultConnection(config.ConnectionConfig{Name: "salesforce", Type: "salesforce",
		BaseURL: cr.BaseURL, TokenURL: cr.TokenURL, ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken})}
	srcs, err := sources.Open(context.Background(), sources.Options{Connections: conns, Registry: connectorsRegistry(nil), Credentials: &conntest.MemoryCredentials{},
		Logger: slog.New(slog.DiscardHandler), Fields: map[string]map[string][]string{"salesforce": set.SourcePaths("salesforce")}})
	require.NoError(t, err)
	return syncer.New(syncer.Options{Pool: pool, TenantID: 1, Connectors: srcs.Connectors(), Mappings: set, PageSize: 100})
}

func region(t *testing.T, pool *pgxpool.Pool, id string) string {
	t.Helper()
	var v *string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT data->'fields'->>'x_region' FROM record WHERE source_id = $1`, id).Scan(&v))
	if v == nil {
		return ""
	}
	return *v
}

func caseStatus(t *testing.T, st []syncer.ConnectionStatus) syncer.ObjectStatus {
	t.Helper()
	for _, c := range st {
		for _, o := range c.Objects {
			if o.Object == "Case" {
				return o
			}
		}
	}
	t.Fatal("no Case in the status")
	return syncer.ObjectStatus{}
}
