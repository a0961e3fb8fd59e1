package salesforce

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/fakesource"
)

// TestBurstLargerThanQueryLimit: when more records share one stamp than
// one query returns (the simulator seeds bursts of 37), the pull goes on
// by Id within the stamp and misses none.
func TestBurstLargerThanQueryLimit(t *testing.T) {
	t.Parallel()
	sim, c := onSim(t, fakesource.Options{Seed: 2, Records: 400}, Options{QueryLimit: 10})
	seen := map[string]bool{}
	page, pages := "", 0
	for {
		p, err := c.Pull(context.Background(), connectors.PullRequest{Object: "Case", Page: page})
		require.NoError(t, err)
		pages++
		for _, r := range p.Records {
			seen[r.ID] = true
		}
		if p.Next == "" {
			break
		}
		require.Less(t, pages, 1000)
		page = p.Next
	}
	live := sim.Stats().Records[fakesource.Salesforce]["Case"]
	require.Greater(t, live, 37)
	require.Len(t, seen, live)
	require.GreaterOrEqual(t, pages, live/10)
}
