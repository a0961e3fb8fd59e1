package salesforce

import (
	"context"
	"encoding/base64"
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
