package syncer_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
)

// Quote lines sync as approval_line records owned through their quote,
// whichever arrives first, carrying the quote's currency; a line's
// approval_id names the quote as the portal knows it.
func TestQuoteLinesSyncOwnedThroughTheirQuote(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, fakesource.Options{Seed: 3, Records: 600})
	st, err := b.sim.TellStory()
	require.NoError(t, err)
	// Lines first: they wait for their quote's owner, then take it.
	for _, obj := range []string{"QuoteLineItem", "Account", "Quote"} {
		_, err := b.syncer.Incremental(ctx, "salesforce", obj)
		require.NoError(t, err, obj)
	}
	want := b.sim.Stats().Records["salesforce"]["QuoteLineItem"]
	live, _ := b.count(t, "QuoteLineItem")
	require.EqualValues(t, want, live)

	rows, err := b.pool.Query(ctx, `SELECT l.owner_account, q.owner_account, l.data->'fields'->>'currency', q.data->'fields'->>'currency'
		FROM record l JOIN record q ON q.object = 'approval_request' AND q.source_id = l.data->'fields'->>'approval_id'
		WHERE l.object = 'approval_line' AND l.data->'fields'->>'approval_id' = $1`, st.Quotes[1])
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var lineOwner, quoteOwner, lineCur, quoteCur *string
		require.NoError(t, rows.Scan(&lineOwner, &quoteOwner, &lineCur, &quoteCur))
		require.NotNil(t, lineOwner, "the line has its quote's owner")
		require.Equal(t, st.Other, *quoteOwner)
		require.Equal(t, *quoteOwner, *lineOwner)
		require.Equal(t, "EUR", *quoteCur)
		require.Equal(t, "EUR", *lineCur)
		n++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 3, n, "the story's euro quote has three lines")

	var orphans int
	require.NoError(t, b.pool.QueryRow(ctx, `SELECT count(*) FROM record WHERE object = 'approval_line' AND owner_account IS NULL`).Scan(&orphans))
	require.Zero(t, orphans, "every line found its quote's owner")
}
