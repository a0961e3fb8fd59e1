package writeback_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/writeback"
)

// statementLog counts the statements a pool ran, by the sqlc name in
// their first line.
type statementLog struct{ names sync.Map }

func (l *statementLog) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if _, rest, ok := strings.Cut(data.SQL, "-- name: "); ok {
		name, _, _ := strings.Cut(rest, " ")
		n, _ := l.names.LoadOrStore(name, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	}
	return ctx
}

func (l *statementLog) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (l *statementLog) count(name string) int64 {
	n, ok := l.names.Load(name)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

// TestFirstKeyedSubmissionLooksNothingUp: a submission with a new client
// key is accepted without first looking the key up (a statement and a
// round trip less on nearly every action); a retry, refused by the key's
// unique index, finds the first action then.
func TestFirstKeyedSubmissionLooksNothingUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 5, Records: 500})
	cfg, err := pgxpool.ParseConfig(dbtest.URL(t))
	require.NoError(t, err)
	statements := &statementLog{}
	cfg.ConnConfig.Tracer = statements
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st, err := buildStack(ctx, pool, sim.Credentials(srv.URL), stackOptions{health: &switchHealth{}}, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	c := (&env{sim: sim}).customer(t, 1)

	req := c.request(writeback.KindCreateCase, "", map[string]any{"subject": "Once"}, "key-1")
	first, created, err := st.svc.Submit(ctx, req)
	require.NoError(t, err)
	require.True(t, created)
	require.Zero(t, statements.count("ActionByClientKey"), "a first submission looks no key up")
	require.EqualValues(t, 1, statements.count("ActionInsert"))

	again, created, err := st.svc.Submit(ctx, req)
	require.NoError(t, err)
	require.False(t, created)
	require.Equal(t, first.ID, again.ID)
	require.EqualValues(t, 1, statements.count("ActionByClientKey"), "a retry finds the first action by its key")
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM action`).Scan(&n))
	require.Equal(t, 1, n)
}
