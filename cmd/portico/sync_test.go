package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// simConfig writes a config file that reaches a fresh database and a
// simulated Salesforce.
func simConfig(t *testing.T) (string, *fakesource.Sim) {
	t.Helper()
	cfg, sim, _ := simConfigDir(t)
	return cfg, sim
}

func simConfigDir(t *testing.T) (string, *fakesource.Sim, string) {
	t.Helper()
	dir := crmMappings(t)
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 2, Records: 400})
	cr := sim.Credentials(srv.URL).Salesforce
	return writeConfig(t, fmt.Sprintf(`database_url: %s
log: {level: warn}
secrets: {encryption_key: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA}
connections:
  - name: crm
    type: salesforce
    base_url: %s
    token_url: %s
    client_id: %s
    client_secret: %s
    retry: {max: 1, wait_min: 1ms, wait_max: 2ms}
    breaker: {failures: 50, open_timeout: 1s}
mappings: {dir: %s}
`, dbtest.URL(t), cr.BaseURL, cr.TokenURL, cr.ClientID, cr.ClientSecret, dir)), sim, dir
}

// crmMappings copies the shipped Salesforce mapping for a connection named crm.
func crmMappings(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	raw, err := readShipped("salesforce.yaml")
	require.NoError(t, err)
	writeFileIn(t, dir, "crm.yaml", strings.Replace(raw, "connection: salesforce", "connection: crm", 1))
	return dir
}

func TestSyncCommand(t *testing.T) {
	t.Parallel()
	cfg, sim := simConfig(t)
	cases := sim.Stats().Records["salesforce"]["Case"]

	code, stdout, stderr := portico(t, "--config", cfg, "sync", "--connection", "crm", "--object", "Case")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, fmt.Sprintf("crm Case: full ok, %d records", cases), "the first run is a full one")

	code, stdout, _ = portico(t, "--config", cfg, "sync", "status")
	require.Equal(t, exitOK, code)
	line := lineWith(stdout, "crm", "Case")
	require.Contains(t, line, fmt.Sprint(cases))
	require.Contains(t, line, "closed")

	code, _, stderr = portico(t, "--config", cfg, "sync", "--connection", "nope")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `unknown connection "nope"`)
	code, _, _ = portico(t, "--config", cfg, "sync", "--connection", "crm", "--full", "--reconcile")
	require.Equal(t, exitUsage, code)

	require.NoError(t, sim.SetFaults(fakesource.Salesforce, fakesource.Faults{ErrorRate: 1}))
	code, stdout, _ = portico(t, "--config", cfg, "sync", "--connection", "crm", "--object", "case")
	require.Equal(t, exitFailed, code, "a failed sync is never reported as a success")
	require.Contains(t, stdout, "crm Case: FAILED")

	code, stdout, _ = portico(t, "--config", cfg, "sync", "status", "--json")
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, `"state": "failed"`)
}

func lineWith(out string, words ...string) string {
	for _, l := range strings.Split(out, "\n") {
		ok := true
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			return l
		}
	}
	return ""
}

func TestMappingsApplyRemapsStoredRecords(t *testing.T) {
	t.Parallel()
	cfg, sim, dir := simConfigDir(t)
	code, _, stderr := portico(t, "--config", cfg, "sync", "--connection", "crm", "--object", "Case")
	require.Equal(t, exitOK, code, stderr)
	calls := sim.Stats().CallCount("", "", 0)

	raw, err := os.ReadFile(filepath.Join(dir, "crm.yaml"))
	require.NoError(t, err)
	writeFileIn(t, dir, "crm.yaml", strings.Replace(string(raw), "We are working on your request.", "Our team is on it.", 1))

	code, stdout, stderr := portico(t, "--config", cfg, "mappings", "apply")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "crm Case: re-mapped")
	require.Equal(t, calls, sim.Stats().CallCount("", "", 0), "re-mapping reads no source")

	code, stdout, _ = portico(t, "--config", cfg, "mappings", "apply")
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "0 records re-mapped", "a second run finds nothing left")
}

func TestSyncStatusCountsRecordsWithoutOwner(t *testing.T) {
	t.Parallel()
	cfg, _ := simConfig(t)
	for _, obj := range []string{"Case", "CaseComment"} {
		code, _, stderr := portico(t, "--config", cfg, "sync", "--connection", "crm", "--object", obj)
		require.Equal(t, exitOK, code, stderr)
	}
	ownerColumns := func() (line string, without, known int) {
		code, stdout, _ := portico(t, "--config", cfg, "sync", "status")
		require.Equal(t, exitOK, code)
		require.Contains(t, stdout, "NO OWNER")
		line = lineWith(stdout, "crm", "CaseComment")
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 7, line)
		_, err := fmt.Sscan(f[5]+" "+f[6], &without, &known)
		require.NoError(t, err, line)
		return stdout, without, known
	}
	out, without0, known := ownerColumns()
	require.Zero(t, known, "a settled sync leaves no derivable owner unresolved")
	require.NotContains(t, out, "although their owner is known")

	raw, err := os.ReadFile(cfg)
	require.NoError(t, err)
	url := strings.TrimSpace(strings.TrimPrefix(lineWith(string(raw), "database_url:"), "database_url:"))
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	tag, err := conn.Exec(context.Background(), `UPDATE record SET owner_account = NULL WHERE source_id =
		(SELECT min(source_id) FROM record WHERE source_object = 'CaseComment' AND owner_account IS NOT NULL)`)
	require.NoError(t, err)
	require.EqualValues(t, 1, tag.RowsAffected())

	out, without, known := ownerColumns()
	require.Equal(t, without0+1, without)
	require.Equal(t, 1, known, "the comment's case names its owner")
	require.Contains(t, out, "although their owner is known (customers miss them): crm CaseComment: 1")
}

// A mapping that reads a new source field: mappings apply says a full
// re-pull is queued, sync status shows it due until a full sync ran.
func TestMappingsApplyQueuesARepullForANewSourceField(t *testing.T) {
	t.Parallel()
	cfg, _, dir := simConfigDir(t)
	code, _, stderr := portico(t, "--config", cfg, "sync", "--connection", "crm", "--object", "Case")
	require.Equal(t, exitOK, code, stderr)
	raw, err := os.ReadFile(filepath.Join(dir, "crm.yaml"))
	require.NoError(t, err)
	const anchor = "      account_name: Account.Name\n"
	require.Contains(t, string(raw), anchor)
	writeFileIn(t, dir, "crm.yaml", strings.Replace(string(raw), anchor, anchor+"      x_owner_email: {source: Owner.Email, type: string}\n", 1))

	code, stdout, stderr := portico(t, "--config", cfg, "mappings", "apply")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "crm Case: the mapping reads new source fields (Owner.Email): a full re-pull is queued")
	code, stdout, _ = portico(t, "--config", cfg, "sync", "status")
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "crm Case: full re-pull for new source fields (Owner.Email) due")

	code, _, stderr = portico(t, "--config", cfg, "sync", "--connection", "crm", "--object", "Case", "--full")
	require.Equal(t, exitOK, code, stderr)
	code, stdout, _ = portico(t, "--config", cfg, "sync", "status")
	require.Equal(t, exitOK, code)
	require.NotContains(t, stdout, "re-pull")
}
