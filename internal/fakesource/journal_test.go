package fakesource_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
)

// startIn serves a simulator that keeps its state in dir; stop closes it as a shutdown would.
func startIn(t *testing.T, dir string, c *clock) (*env, func()) {
	t.Helper()
	sim, err := fakesource.New(fakesource.Options{Seed: 3, Records: 2000, Now: c.Now, StateDir: dir})
	require.NoError(t, err)
	srvURL := newServer(t, sim)
	return &env{t: t, sim: sim, url: srvURL, clock: c, cr: sim.Credentials(srvURL)}, sim.Close
}

// TestStateDirKeepsTheWorldAcrossRestarts: records created and edited through the vendor
// APIs and /_sim/, their versions, deletions, idempotent answers and rotated tokens are all
// there after a restart from the same directory, and nothing is applied twice.
func TestStateDirKeepsTheWorldAcrossRestarts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := newClock()
	e, stop := startIn(t, dir, c)

	sf := e.sf()
	status, _, raw := sf.do(http.MethodPost, "/services/data/v59.0/sobjects/Case", map[string]any{"Subject": "Made before the restart"})
	require.Equal(t, http.StatusCreated, status, string(raw))
	caseID := decode(t, raw)["id"].(string)
	c.Advance(1e9)
	status, _, raw = (&client{t: t, base: e.url}).do(http.MethodPatch, "/_sim/salesforce/Case/"+caseID, map[string]any{"Status": "Escalated"})
	require.Equal(t, http.StatusOK, status, string(raw))
	seedCase, err := e.sim.SeedID(fakesource.Salesforce, "Case", 1)
	require.NoError(t, err)
	require.NoError(t, e.sim.DeleteRecord(fakesource.Salesforce, "Case", seedCase))

	qb := e.qb() // rotates the refresh token
	rotated := e.sim.Credentials(e.url).Accounting.RefreshToken
	require.NotEqual(t, e.cr.Accounting.RefreshToken, rotated, "the credentials hand out the newest refresh token")
	status, _, invoiceBody := qb.do(http.MethodPost, e.qbPath("/customer?requestid=persist-1"), map[string]any{"DisplayName": "Journal Ltd"})
	require.Equal(t, http.StatusOK, status, string(invoiceBody))
	custID := decode(t, invoiceBody)["Customer"].(map[string]any)["Id"].(string)

	before := map[string]map[string]any{}
	for _, k := range [][3]string{{fakesource.Salesforce, "Case", caseID}, {fakesource.Accounting, "Customer", custID}} {
		rec, err := e.sim.Record(k[0], k[1], k[2])
		require.NoError(t, err)
		before[k[2]] = rec
	}
	stats := e.sim.Stats().Records
	stop()

	e2, stop2 := startIn(t, dir, c)
	defer stop2()
	for id, want := range before {
		got, err := e2.sim.Record(map[bool]string{true: fakesource.Salesforce, false: fakesource.Accounting}[id == caseID],
			map[bool]string{true: "Case", false: "Customer"}[id == caseID], id)
		require.NoError(t, err, "record %s survives the restart", id)
		require.Equal(t, want, got, "with its fields, version and stamps")
	}
	require.Equal(t, "Escalated", before[caseID]["Status"])
	require.Equal(t, stats, e2.sim.Stats().Records, "the same number of live records")
	_, err = e2.sim.Record(fakesource.Salesforce, "Case", seedCase)
	require.NoError(t, err)
	require.Error(t, e2.sim.StaffEdit(fakesource.Salesforce, "Case", seedCase, map[string]any{"Status": "New"}), "still deleted")

	// The rotated refresh token still works; the replayed request id answers the same and
	// creates nothing.
	require.Equal(t, rotated, e2.cr.Accounting.RefreshToken)
	e2.cr.Accounting.RefreshToken = rotated
	qb2 := e2.qb()
	status, _, again := qb2.do(http.MethodPost, e2.qbPath("/customer?requestid=persist-1"), map[string]any{"DisplayName": "Journal Ltd"})
	require.Equal(t, http.StatusOK, status)
	require.True(t, bytes.Equal(invoiceBody, again), "the first answer, byte for byte")
	require.Equal(t, stats, e2.sim.Stats().Records)
	// An access token issued before the restart is still good.
	qb.base = e2.url
	status, _, _ = qb.do(http.MethodGet, e2.qbPath("/customer/"+custID), nil)
	require.Equal(t, http.StatusOK, status)

	// A new create gets a new id, not one of the earlier run's.
	status, _, raw = e2.sf().do(http.MethodPost, "/services/data/v59.0/sobjects/Case", map[string]any{"Subject": "After"})
	require.Equal(t, http.StatusCreated, status, string(raw))
	require.NotEqual(t, caseID, decode(t, raw)["id"])

	// /_sim/reset empties the journal too.
	e2.sim.Reset()
	stop2()
	e3, stop3 := startIn(t, dir, c)
	defer stop3()
	_, err = e3.sim.Record(fakesource.Salesforce, "Case", caseID)
	require.ErrorIs(t, err, fakesource.ErrNotFound)
}

// TestStateDirSurvivesATornLineAndAnotherWorld: a journal cut mid-line (power loss) keeps
// what came before the cut; a journal of another seed is set aside, not applied.
func TestStateDirSurvivesATornLineAndAnotherWorld(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := newClock()
	e, stop := startIn(t, dir, c)
	id, err := e.sim.CreateRecord(fakesource.Salesforce, "Case", map[string]any{"Subject": "kept"})
	require.NoError(t, err)
	stop()
	f, err := os.OpenFile(filepath.Join(dir, "journal.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"rec":{"system":"salesforce","obj`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	e2, stop2 := startIn(t, dir, c)
	_, err = e2.sim.Record(fakesource.Salesforce, "Case", id)
	require.NoError(t, err)
	stop2()

	other, err := fakesource.New(fakesource.Options{Seed: 4, Records: 2000, Now: c.Now, StateDir: dir})
	require.NoError(t, err)
	defer other.Close()
	_, err = other.Record(fakesource.Salesforce, "Case", id)
	require.ErrorIs(t, err, fakesource.ErrNotFound)
	require.FileExists(t, filepath.Join(dir, "journal.jsonl.old"))
}
