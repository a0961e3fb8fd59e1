package accounting_test

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // the simulator keeps an MD5 of what it received
	"crypto/rand"
	"encoding/hex"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/internal/fakesource"
)

// TestUploadAttachable: a create of an Attachable with a File goes as
// QuickBooks' multipart upload linked to the invoice, the content arriving
// whole; the same write again (its answer lost) returns the first
// attachment through requestid, and a missing invoice is refused with
// QuickBooks' words.
func TestUploadAttachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim, c := onSim(t, fakesource.Options{Seed: 3, Records: 100}, accounting.Options{}, nil)
	invoice, err := sim.SeedID(fakesource.Accounting, "Invoice", 0)
	require.NoError(t, err)
	content := make([]byte, 200<<10)
	_, _ = rand.Read(content)
	write := func(key, inv string) (*connectors.WriteResult, error) {
		return c.Write(ctx, connectors.Write{Op: connectors.OpCreate, Object: "Attachable", IdempotencyKey: key,
			Fields: map[string]any{"FileName": "receipt.pdf",
				"AttachableRef": []any{map[string]any{"EntityRef": map[string]any{"type": "Invoice", "value": inv}}}},
			File: &connectors.File{Name: "receipt.pdf", ContentType: "application/pdf", Size: int64(len(content)),
				Open: func(context.Context) (io.ReadSeeker, error) { return bytes.NewReader(content), nil }}})
	}
	res, err := write("portico-1-5", invoice)
	require.NoError(t, err)
	require.NotNil(t, res.Record)
	rec, err := sim.Record(fakesource.Accounting, "Attachable", res.ID)
	require.NoError(t, err)
	sum := md5.Sum(content) //nolint:gosec // see the import
	got, err := sim.UploadMD5(fakesource.Accounting, "Attachable", res.ID)
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(sum[:]), got)
	require.EqualValues(t, len(content), rec["Size"])
	require.Equal(t, "application/pdf", rec["ContentType"])
	require.NotContains(t, string(res.Record.Raw), "Sim_MD5", "the simulator's bookkeeping is not on the wire")

	again, err := write("portico-1-5", invoice)
	require.NoError(t, err)
	require.Equal(t, res.ID, again.ID)

	_, err = write("portico-1-6", "999999")
	var inv *connectors.InvalidError
	require.ErrorAs(t, err, &inv)
	require.Contains(t, inv.Msg, "999999")
}
