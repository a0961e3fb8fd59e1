package accounting_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/wire"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/logtest"
)

// TestOldCursorIsSaidOncePerConnection: over seed data a month old, every
// incremental pull's cursor is older than change data capture keeps. That
// is expected, so it is said once per connection, at info, not on every
// pass for every entity; a real gap (deletions last read longer ago than
// the window) is a warning.
func TestOldCursorIsSaidOncePerConnection(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := conntest.NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	rec := logtest.New()
	_, c := onSim(t, fakesource.Options{Seed: 3, Records: 300, Now: clock.Now}, accounting.Options{Tuning: wire.Tuning{Now: clock.Now}}, rec.Logger())

	entities := []string{"Invoice", "Payment", "CreditMemo"}
	cursors := map[string]string{}
	for _, e := range entities {
		page, err := c.Pull(ctx, connectors.PullRequest{Object: e})
		require.NoError(t, err)
		require.Empty(t, page.Next)
		cursors[e] = page.Cursor
	}
	pass := func() {
		for _, e := range entities {
			_, err := c.Pull(ctx, connectors.PullRequest{Object: e, Cursor: cursors[e]})
			require.NoError(t, err)
		}
	}
	for range 3 { // three passes, 30 s apart
		pass()
		clock.Advance(30 * time.Second)
	}
	said := rec.Matching("change data capture keeps")
	require.Len(t, said, 1, "once per connection")
	require.Equal(t, slog.LevelInfo, said[0].Level)
	for _, r := range rec.Records() {
		require.Less(t, r.Level, slog.LevelWarn, "nothing to warn about: %s", r.Message)
	}

	// Deletions last read longer ago than the window: some may be lost.
	clock.Advance(31 * 24 * time.Hour)
	pass()
	gap := rec.Matching("longer ago than change data capture keeps")
	require.Len(t, gap, len(entities))
	require.Equal(t, slog.LevelWarn, gap[0].Level)
}
