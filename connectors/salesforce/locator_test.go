package salesforce

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
	"github.com/porticohq/portico/internal/fakesource"
)

// TestExpiredLocatorResumes: a full pull resumed with a page token whose
// query locator the server has forgotten goes on from the last stamp it
// returned, and misses nothing.
func TestExpiredLocatorResumes(t *testing.T) {
	t.Parallel()
	sim, c := onSim(t, fakesource.Options{Seed: 4, Records: 3000}, Options{})
	ctx := context.Background()
	seen := map[string]bool{}
	p, err := c.Pull(ctx, connectors.PullRequest{Object: "CaseComment", Limit: 200})
	require.NoError(t, err)
	require.NotEmpty(t, p.Next, "more than one batch")
	for _, r := range p.Records {
		seen[r.ID] = true
	}
	tok, err := wire.DecodeToken[pageToken](p.Next)
	require.NoError(t, err)
	require.NotEmpty(t, tok.Next)
	tok.Next = "/services/data/v59.0/query/01gFORGOTTEN-200"
	page := wire.EncodeToken(tok)
	for {
		p, err := c.Pull(ctx, connectors.PullRequest{Object: "CaseComment", Limit: 200, Page: page})
		require.NoError(t, err)
		for _, r := range p.Records {
			seen[r.ID] = true
		}
		if p.Next == "" {
			break
		}
		page = p.Next
	}
	require.Len(t, seen, sim.Stats().Records[fakesource.Salesforce]["CaseComment"])
}
