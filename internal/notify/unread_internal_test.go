package notify

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/pgnotify"
)

// The header's unread count is kept in memory while the process listens,
// and a notice added or read by any process (here: straight SQL) drops
// it at once.
func TestUnreadCountIsKeptUntilTheInboxChanges(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := dbtest.Pool(t)
	u, err := auth.CreateUser(ctx, pool, auth.NewUser{Email: "ann@example.com", Password: "violet-harbour-lantern-58", AccountID: "001A", Roles: []string{"member"}})
	require.NoError(t, err)
	s := &Service{opts: Options{Pool: pool}, unread: newUnreadCache()}
	go pgnotify.Listen(ctx, pool, s.UnreadSubscriptions(), slog.New(slog.DiscardHandler))
	require.Eventually(t, func() bool { s.unread.mu.Lock(); defer s.unread.mu.Unlock(); return s.unread.live }, 10*time.Second, 5*time.Millisecond)
	count := func() int { n, err := s.Unread(ctx, 1, u.ID); require.NoError(t, err); return n }
	add := func() {
		_, err := pool.Exec(ctx, `INSERT INTO notice (tenant_id, user_id, kind, connection, object, source_id, title, email)
			VALUES (1, $1, 'case_status', 'salesforce', 'case', '500A', 'Case changed', 'none')`, u.ID)
		require.NoError(t, err)
	}

	require.Zero(t, count())
	// Kept: a notice written with the announcement off is not seen...
	_, err = pool.Exec(ctx, `ALTER TABLE notice DISABLE TRIGGER notice_unread_notify`)
	require.NoError(t, err)
	add()
	require.Zero(t, count(), "the count comes from memory")
	_, err = pool.Exec(ctx, `ALTER TABLE notice ENABLE TRIGGER notice_unread_notify`)
	require.NoError(t, err)
	// ...until the inbox changes with it on.
	add()
	require.Eventually(t, func() bool { return count() == 2 }, 10*time.Second, 5*time.Millisecond, "a new notice drops the count")
	_, err = pool.Exec(ctx, `UPDATE notice SET read_at = now() WHERE user_id = $1`, u.ID)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return count() == 0 }, 10*time.Second, 5*time.Millisecond, "reading them drops it")

	// This process's own read drops it at once, before (here: without)
	// the announcement coming round.
	add()
	require.Eventually(t, func() bool { return count() == 1 }, 10*time.Second, 5*time.Millisecond)
	_, err = pool.Exec(ctx, `ALTER TABLE notice DISABLE TRIGGER notice_unread_notify`)
	require.NoError(t, err)
	read, err := s.MarkRead(ctx, 1, u.ID, 0)
	require.NoError(t, err)
	require.Equal(t, 1, read)
	require.Zero(t, count(), "the reader's next page shows it read")
	_, err = pool.Exec(ctx, `ALTER TABLE notice ENABLE TRIGGER notice_unread_notify`)
	require.NoError(t, err)

	// Without the listener nothing is kept.
	s.unread.SetLive(false)
	add()
	require.Equal(t, 1, count())
}
