package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const testdataMapping = "../../internal/mapping/testdata"

func TestMappingsCheck(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := portico(t, "mappings", "check")
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "ok: 14 object mappings in the shipped mappings")
	require.Contains(t, stdout, "case               salesforce  Case")

	code, stdout, _ = portico(t, "mappings", "check", "../../mappings")
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, "ok: 14 object mappings in ../../mappings/accounting.yaml, ../../mappings/inventory.yaml, ../../mappings/salesforce.yaml")

	bad := filepath.Join(testdataMapping, "broken", "write_without_validation.yaml")
	code, stdout, stderr = portico(t, "mappings", "check", bad, filepath.Join(testdataMapping, "broken", "missing_owner.yaml"))
	require.Equal(t, exitFailed, code)
	require.Equal(t, []string{
		filepath.Join(testdataMapping, "broken", "missing_owner.yaml") + ":4:3: invoice: missing owner relation (owner: {account: <source path>, contact: <source path>, hierarchy: true|false})",
		bad + ":12:7: write field last_name has no validation (validate: required, max_length, pattern, allowed, min, max)",
		bad + ":16:19: write field title needs max_length, pattern or allowed",
	}, strings.Split(strings.TrimSpace(stdout), "\n"))
	require.Contains(t, stderr, "mappings: 3 problem(s)")

	code, _, stderr = portico(t, "mappings", "check", "no-such-file.yaml")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "no-such-file.yaml")

	// The configured directory is what check reads without arguments.
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(testdataMapping, "broken", "bad_cel.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "x.yaml"), b, 0o600))
	cfg := writeConfig(t, "mappings:\n  dir: "+dir+"\n")
	code, stdout, _ = portico(t, "--config", cfg, "mappings", "check")
	require.Equal(t, exitFailed, code)
	require.Contains(t, stdout, "x.yaml:11:98: bad CEL expression")
}

func TestMappingsPreviewFromFile(t *testing.T) {
	t.Parallel()
	rec := filepath.Join(testdataMapping, "records", "salesforce_Case.json")
	code, stdout, stderr := portico(t, "mappings", "preview", "--object", "case", "--from-file", rec)
	require.Equal(t, exitOK, code, stderr)
	for _, want := range []string{
		"case 5003000000D8cuIAAR from salesforce.Case",
		"owner:   account 0013000000abcDEAAY, contact 0033000000xyzABAA2 (parent accounts see it too)",
		`status:  waiting_on_you = "Waiting for you"; next step: Please reply with the information we asked for.`,
		"status        waiting_on_you                            Status            Waiting on Customer",
		"account_name  Acme Corp                                 Account.Name      Acme Corp",
		"billing         cannot see case",
	} {
		require.Contains(t, stdout, want)
	}

	// A connector record (as stored) is unwrapped; --json is one document.
	raw, err := os.ReadFile(filepath.Join(testdataMapping, "records", "salesforce_Contact.json"))
	require.NoError(t, err)
	wrapped, err := json.Marshal(map[string]any{"object": "Contact", "id": "0033000000xyzABAA2", "raw": json.RawMessage(raw)})
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "rec.json")
	require.NoError(t, os.WriteFile(f, wrapped, 0o600))
	code, stdout, stderr = portico(t, "mappings", "preview", "--object", "contact", "--from-file", f, "--json")
	require.Equal(t, exitOK, code, stderr)
	var doc struct {
		Portal struct {
			Fields map[string]any `json:"fields"`
		} `json:"portal"`
		Roles map[string][]string `json:"roles"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &doc))
	require.Equal(t, "Lovelace", doc.Portal.Fields["last_name"])
	require.Contains(t, doc.Roles["billing"], "email")

	// Ambiguity and bad usage exit 2.
	code, _, stderr = portico(t, "mappings", "preview", "--object", "document", "--from-file", rec)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "pass --connection")
	code, _, _ = portico(t, "mappings", "preview", "--object", "case")
	require.Equal(t, exitUsage, code)
	code, _, stderr = portico(t, "mappings", "preview", "--object", "gizmo", "--from-file", rec)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `no mapping for object "gizmo"`)
	code, _, stderr = portico(t, "mappings", "preview", "--object", "case", "--connection", "nowhere", "--id", "500X")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, `no mapping for case from connection "nowhere"`)
}

func TestMappingsSchemaAndApply(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := portico(t, "mappings", "schema", "--object", "case")
	require.Equal(t, exitOK, code, stderr)
	var s map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &s))
	require.Equal(t, "case (create)", s["title"])

	code, stdout, _ = portico(t, "mappings", "schema", "--object", "approval_request", "--op", "update")
	require.Equal(t, exitOK, code)
	require.Contains(t, stdout, `"accepted"`)

	code, _, stderr = portico(t, "mappings", "schema", "--object", "product")
	require.Equal(t, exitFailed, code)
	require.Contains(t, stderr, "lets customers create nothing")

	code, _, stderr = portico(t, "--config", writeConfig(t, "log: {level: warn}\n"), "mappings", "apply")
	require.Equal(t, exitUsage, code, "apply needs the database")
	require.Contains(t, stderr, "database_url")
}

func TestBenchMappingEndsWithJSON(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := portico(t, "bench", "mapping", "--duration", "50ms", "--workers", "1")
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var fig map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &fig))
	require.Equal(t, "mapping", fig["bench"])
	require.Positive(t, fig["records_per_s"])
	require.Positive(t, fig["baseline_per_s"])
}

// preview --connection fetches the record through the configured
// connection, as the sync would, and maps it.
func TestMappingsPreviewFromConnection(t *testing.T) {
	t.Parallel()
	cfg, sim := simConfig(t)
	id, err := sim.SeedID("salesforce", "Case", 0)
	require.NoError(t, err)
	code, stdout, stderr := portico(t, "--config", cfg, "mappings", "preview", "--object", "case", "--connection", "crm", "--id", id)
	require.Equal(t, exitOK, code, stderr)
	require.Contains(t, stdout, "case "+id+" from crm.Case")
	require.Contains(t, stdout, "subject ")

	code, _, stderr = portico(t, "--config", cfg, "mappings", "preview", "--object", "case", "--connection", "crm", "--id", "500000000000000NOPE")
	require.Equal(t, exitFailed, code)
	require.Contains(t, stderr, "fetching Case 500000000000000NOPE from crm")
}
