package writeback_test

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // the simulators keep an MD5 of what they received, as Salesforce's Checksum
	"crypto/rand"
	"encoding/hex"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/seal/sealtest"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/writeback"
)

// stored keeps a file for a record as an upload would.
func (e *env) stored(t *testing.T, connection, object, recordID, owner string, content []byte) *files.File {
	t.Helper()
	f, err := e.files.Store(context.Background(), files.Upload{TenantID: 1, Connection: connection, Object: object, RecordID: recordID,
		OwnerAccount: owner, UploadedBy: "u1", Name: "report.pdf", DeclaredType: "application/pdf", DeclaredSize: -1,
		Body: bytes.NewReader(content)})
	require.NoError(t, err)
	return f
}

func pdfContent(t *testing.T, n int) []byte {
	t.Helper()
	c := append([]byte("%PDF-1.4\n"), make([]byte, n)...)
	_, _ = rand.Read(c[9:])
	return c
}

func md5Hex(b []byte) string {
	s := md5.Sum(b) //nolint:gosec // see the import
	return hex.EncodeToString(s[:])
}

// TestUploadAppliedEndToEnd: a stored file's attach_file action runs
// through River against the simulated CRM over HTTP: the content arrives
// whole as a ContentVersion published to the case, the action holds only
// the file's id, and the file then lists the source's id and when it was
// confirmed. The same for an invoice's file through QuickBooks' upload.
func TestUploadAppliedEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stackOptions{})
	ctx := context.Background()
	c, caseID := e.caseCustomer(t, 0)
	e.cache(t, "Case", caseID)
	content := pdfContent(t, 2<<20)
	f := e.stored(t, "salesforce", "case", caseID, c.account, content)

	req := c.request(writeback.KindAttachFile, "", map[string]any{"title": "Report", "file_name": f.Name, "related_id": caseID, "file_id": f.ID}, "")
	req.ParentObject = "case"
	a, _, err := e.svc.Submit(ctx, req)
	require.NoError(t, err)
	require.NoError(t, e.files.SetAction(ctx, f.ID, a.ID))
	require.Less(t, len(a.Input), 200, "the action holds a reference, not the file")

	a = e.waitState(t, a.ID, writeback.StateApplied, 20*time.Second)
	sum, err := e.sim.UploadMD5(fakesource.Salesforce, "ContentVersion", a.ResultID)
	require.NoError(t, err)
	require.Equal(t, md5Hex(content), sum, "the source holds the same bytes")
	cv, err := e.sim.Record(fakesource.Salesforce, "ContentVersion", a.ResultID)
	require.NoError(t, err)
	require.Equal(t, caseID, cv["FirstPublishLocationId"])
	list, err := e.files.List(ctx, store.Scope{TenantID: 1, Staff: true}, "salesforce", "case", caseID, 10)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, a.ResultID, list[0].SourceID)
	require.NotNil(t, list[0].SyncedAt)

	// QuickBooks: an invoice's attachment (as staff, whose scope needs no
	// owner resolved for the invoice).
	invoice, err := e.sim.SeedID(fakesource.Accounting, "Invoice", 0)
	require.NoError(t, err)
	e.cacheFrom(t, "accounting", "Invoice", invoice)
	content = pdfContent(t, 300<<10)
	f = e.stored(t, "accounting", "invoice", invoice, c.account, content)
	req = c.request(writeback.KindAttachFile, "", map[string]any{"file_name": f.Name, "related_id": invoice, "file_id": f.ID}, "")
	req.ParentObject, req.Connection, req.Scope.Staff = "invoice", "accounting", true
	a, _, err = e.svc.Submit(ctx, req)
	require.NoError(t, err)
	require.Equal(t, "accounting", a.Connection)
	require.NoError(t, e.files.SetAction(ctx, f.ID, a.ID))
	a = e.waitState(t, a.ID, writeback.StateApplied, 20*time.Second)
	sum, err = e.sim.UploadMD5(fakesource.Accounting, "Attachable", a.ResultID)
	require.NoError(t, err)
	require.Equal(t, md5Hex(content), sum)
	att, err := e.sim.Record(fakesource.Accounting, "Attachable", a.ResultID)
	require.NoError(t, err)
	require.Contains(t, att["AttachableRef"], map[string]any{"EntityRef": map[string]any{"type": "Invoice", "value": invoice}})
	list, err = e.files.List(ctx, store.Scope{TenantID: 1, Staff: true}, "accounting", "invoice", invoice, 10)
	require.NoError(t, err)
	require.Equal(t, a.ResultID, list[0].SourceID)
}

// TestQuarantinedFileNeverReachesTheSource: an action naming a
// quarantined file fails with the reason and sends nothing.
func TestQuarantinedFileNeverReachesTheSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stackOptions{})
	ctx := context.Background()
	c, caseID := e.caseCustomer(t, 0)
	e.cache(t, "Case", caseID)
	q := files.New(files.Options{Pool: e.pool, Scanner: fixedScanner("Eicar-Test-Signature")})
	_, err := q.Store(ctx, files.Upload{TenantID: 1, Connection: "salesforce", Object: "case", RecordID: caseID, OwnerAccount: c.account,
		UploadedBy: "u1", Name: "x.txt", DeclaredSize: -1, Body: bytes.NewReader([]byte("bad"))})
	var r *files.Refusal
	require.ErrorAs(t, err, &r)
	before := e.sim.Stats().Records[fakesource.Salesforce]["ContentVersion"]
	req := c.request(writeback.KindAttachFile, "", map[string]any{"title": "x", "file_name": "x.txt", "related_id": caseID, "file_id": r.File.ID}, "")
	req.ParentObject = "case"
	a, _, err := e.svc.Submit(ctx, req)
	require.NoError(t, err)
	a = e.waitState(t, a.ID, writeback.StateFailed, 20*time.Second)
	require.Contains(t, a.Message, "quarantined")
	require.Equal(t, before, e.sim.Stats().Records[fakesource.Salesforce]["ContentVersion"], "nothing was sent")
	require.Zero(t, e.sim.Stats().CallCount(fakesource.Salesforce, "POST sobjects", 0))
}

// fixedScanner finds the same signature in everything.
type fixedScanner string

func (s fixedScanner) Scan(_ context.Context, r io.Reader) (string, error) {
	_, err := io.Copy(io.Discard, r)
	return string(s), err
}

// TestSignedQuoteAppliedEndToEnd: a signed quote's sealed PDF (stored
// as a file of the approval request) goes to the simulated CRM as a
// ContentVersion published to the quote, byte for byte, and its file
// lists the source's id.
func TestSignedQuoteAppliedEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, stackOptions{})
	ctx := context.Background()
	var c customer
	var quote string
	for i := 0; quote == ""; i++ {
		id, err := e.sim.SeedID(fakesource.Salesforce, "Quote", i)
		require.NoError(t, err)
		rec, err := e.sim.Record(fakesource.Salesforce, "Quote", id)
		require.NoError(t, err)
		acc, _ := rec["AccountId"].(string)
		con, _ := rec["ContactId"].(string)
		if acc != "" && con != "" {
			c, quote = customer{userID: "user-" + con, account: acc, contact: con}, id
		}
	}
	e.cache(t, "Quote", quote)
	content := sealtest.PDF(t, 2, true)
	f := e.stored(t, "salesforce", "approval_request", quote, c.account, content)
	req := c.request(writeback.KindAttachFile, "", map[string]any{"title": "Quote (signed).pdf", "file_name": f.Name, "related_id": quote, "file_id": f.ID}, "")
	req.ParentObject = "approval_request"
	a, _, err := e.svc.Submit(ctx, req)
	require.NoError(t, err)
	require.NoError(t, e.files.SetAction(ctx, f.ID, a.ID))
	a = e.waitState(t, a.ID, writeback.StateApplied, 20*time.Second)
	sum, err := e.sim.UploadMD5(fakesource.Salesforce, "ContentVersion", a.ResultID)
	require.NoError(t, err)
	require.Equal(t, md5Hex(content), sum)
	cv, err := e.sim.Record(fakesource.Salesforce, "ContentVersion", a.ResultID)
	require.NoError(t, err)
	require.Equal(t, quote, cv["FirstPublishLocationId"])
	list, err := e.files.List(ctx, store.Scope{TenantID: 1, Staff: true}, "salesforce", "approval_request", quote, 10)
	require.NoError(t, err)
	require.Equal(t, a.ResultID, list[0].SourceID)
}
