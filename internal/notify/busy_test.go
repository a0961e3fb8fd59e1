package notify_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/config"
)

// While another dispatcher holds Mark (here: a session holding his lock),
// the case change that concerns him and his colleagues waits, whole, for
// a later pass; the one dispatcher goes on meanwhile with Owen's case of
// the other account. Waiting for the lock instead held the dispatcher,
// and deadlocked two of them whose batches share users in another order.
func TestABusyRecipientDelaysOnlyTheirOwnNotice(t *testing.T) {
	t.Parallel()
	w := start(t, func(c *config.Config) { c.Notify.Dispatchers = 1 })
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, w.app.Pool().Config().ConnConfig.ConnString())
	require.NoError(t, err)
	defer holder.Close(ctx)
	lock := `SELECT pg_advisory_lock(hashtext('portico_notify_user'), mod($1::bigint, 2147483647)::int)`
	_, err = holder.Exec(ctx, lock, w.users[mark])
	require.NoError(t, err)

	require.NoError(t, w.sim.StaffEdit("salesforce", "Case", w.story.WaitingCase, map[string]any{"Status": "Working"}))
	// The event is there (and so first in line) before Owen's case moves.
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, w.app.Pool().QueryRow(ctx, `SELECT count(*) FROM notify_event WHERE kind = 'case_status' AND source_id = $1`,
			w.story.WaitingCase).Scan(&n))
		return n > 0
	}, 30*time.Second, 20*time.Millisecond)
	owensCase := w.recordOf(t, "case", w.story.Other, "subject", "Milk frother leaks at the steam wand")
	require.NoError(t, w.sim.StaffEdit("salesforce", "Case", owensCase, map[string]any{"Status": "Working"}))
	w.waitMail(t, owen, "Milk frother")
	for _, to := range []string{mark, alice, paula} {
		require.Empty(t, w.mailsTo(t, to, "In progress"), "%s: the event waits while Mark is busy", to)
	}
	var processed bool
	require.NoError(t, w.app.Pool().QueryRow(ctx, `SELECT bool_or(processed_at IS NOT NULL) FROM notify_event WHERE kind = 'case_status' AND source_id = $1`,
		w.story.WaitingCase).Scan(&processed))
	require.False(t, processed)

	_, err = holder.Exec(ctx, `SELECT pg_advisory_unlock(hashtext('portico_notify_user'), mod($1::bigint, 2147483647)::int)`, w.users[mark])
	require.NoError(t, err)
	for _, to := range []string{mark, alice, paula} {
		w.waitMail(t, to, "In progress")
	}
	w.settle(t)
	require.Len(t, w.mailsTo(t, mark, "In progress"), 1, "once")
}
