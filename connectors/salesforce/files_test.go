package salesforce

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // the simulator's Checksum is an MD5, as Salesforce's
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/fakesource"
)

// TestFileOnAnAccountOrACase: a file may be published to an account (the
// shipped mapping's attach-file) or a case, as in Salesforce; any other id
// is refused with the field named.
func TestFileOnAnAccountOrACase(t *testing.T) {
	t.Parallel()
	sim, c := onSim(t, fakesource.Options{Seed: 4, Records: 300}, Options{})
	ctx := context.Background()
	account, err := sim.SeedID("salesforce", "Account", 0)
	require.NoError(t, err)
	caseID, err := sim.SeedID("salesforce", "Case", 0)
	require.NoError(t, err)
	file := func(key, parent string) error {
		_, err := c.Write(ctx, connectors.Write{Op: connectors.OpCreate, Object: "ContentVersion", IdempotencyKey: key, Fields: map[string]any{
			"Title": "Invoice scan", "PathOnClient": "scan.pdf", "FirstPublishLocationId": parent,
			"VersionData": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4")),
		}})
		return err
	}
	require.NoError(t, file("k-account", account))
	require.NoError(t, file("k-case", caseID))
	err = file("k-bad", "003000000000000AAA")
	var inv *connectors.InvalidError
	require.ErrorAs(t, err, &inv)
	require.Equal(t, "FirstPublishLocationId", inv.Field)
}

// TestFileUploadStreamsMultipart: a write with a File goes as the
// multipart ContentVersion insert, the content arriving whole (the
// simulator's size and MD5); the same write again, as after a lost
// answer, finds the first record by its key instead of making a second.
func TestFileUploadStreamsMultipart(t *testing.T) {
	t.Parallel()
	sim, c := onSim(t, fakesource.Options{Seed: 4, Records: 300}, Options{})
	ctx := context.Background()
	caseID, err := sim.SeedID("salesforce", "Case", 0)
	require.NoError(t, err)
	content := make([]byte, 300<<10)
	_, _ = rand.Read(content)
	w := connectors.Write{Op: connectors.OpCreate, Object: "ContentVersion", IdempotencyKey: "portico-1-77",
		Fields: map[string]any{"Title": "Logs", "PathOnClient": "logs.bin", "FirstPublishLocationId": caseID},
		File: &connectors.File{Name: "logs.bin", ContentType: "application/octet-stream", Size: int64(len(content)),
			Open: func(context.Context) (io.ReadSeeker, error) { return bytes.NewReader(content), nil }}}
	res, err := c.Write(ctx, w)
	require.NoError(t, err)
	require.True(t, res.Created)
	require.NotNil(t, res.Record)
	rec, err := sim.Record("salesforce", "ContentVersion", res.ID)
	require.NoError(t, err)
	sum := md5.Sum(content)
	require.Equal(t, hex.EncodeToString(sum[:]), rec["Checksum"])
	require.EqualValues(t, len(content), rec["ContentSize"])
	require.Equal(t, caseID, rec["FirstPublishLocationId"])

	again, err := c.Write(ctx, w)
	require.NoError(t, err)
	require.Equal(t, res.ID, again.ID, "the retried upload is the first one")
}
