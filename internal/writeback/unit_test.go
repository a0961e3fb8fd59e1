package writeback_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
	"github.com/porticohq/portico/internal/writeback"
)

// unit is one test's write-back service working in a single transaction,
// as River's rivertest does it: Submit inserts its job there, the worker
// works it there through rivertest (the service's own transactions are
// savepoints of it), and everything rolls back when the test ends. Cache
// records through the pool (cache) before the test writes anything: the
// transaction's locks would hold a sync up.
type unit struct {
	*env
	tx pgx.Tx
	wk *rivertest.Worker[writeback.ApplyArgs, pgx.Tx]
	// inserted counts the jobs Submit and staff retries inserted.
	inserted int
}

func newUnit(t *testing.T, o stackOptions) *unit {
	t.Helper()
	ctx := context.Background()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 5, Records: 500})
	pool := dbtest.Pool(t)
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	u := &unit{env: &env{pool: pool, db: tx, sim: sim, creds: sim.Credentials(srv.URL), health: &switchHealth{}}, tx: tx}
	if o.health == nil {
		o.health = u.health
	}
	inserter, err := river.NewClient(riverpgxv5.New(nil), &river.Config{}) // inserts only
	require.NoError(t, err)
	st, err := buildService(tx, u.creds, o, slog.New(slog.DiscardHandler),
		func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			u.inserted++
			return inserter.InsertTx(ctx, tx, args, opts)
		})
	require.NoError(t, err)
	u.stack = st
	u.wk = rivertest.NewWorker(t, riverpgxv5.New(nil), &river.Config{}, &writeback.Worker{Service: st.svc})
	return u
}

// submit accepts req as a new action.
func (u *unit) submit(t *testing.T, req writeback.Request) *writeback.Action {
	t.Helper()
	a, created, err := u.svc.Submit(context.Background(), req)
	require.NoError(t, err)
	require.True(t, created)
	return a
}

// job returns the latest write-back job inserted for action id; every job
// inserted so far must be a write-back job.
func (u *unit) job(t *testing.T, id int64) *rivertype.JobRow {
	t.Helper()
	want := make([]rivertest.ExpectedJob, u.inserted)
	for i := range want {
		want[i] = rivertest.ExpectedJob{Args: writeback.ApplyArgs{}}
	}
	rows := rivertest.RequireManyInsertedTx[*riverpgxv5.Driver](context.Background(), t, u.tx, want)
	for i := len(rows) - 1; i >= 0; i-- {
		var args writeback.ApplyArgs
		require.NoError(t, json.Unmarshal(rows[i].EncodedArgs, &args))
		if args.ActionID == id {
			return rows[i]
		}
	}
	t.Fatalf("no write-back job for action %d", id)
	return nil
}

// work works the latest job of action id once and returns what became of
// it: completed, snoozed, or retryable with the worker's error.
func (u *unit) work(t *testing.T, id int64) (*rivertest.WorkResult, error) {
	t.Helper()
	return u.workJob(t, u.job(t, id))
}

func (u *unit) workJob(t *testing.T, job *rivertype.JobRow) (*rivertest.WorkResult, error) {
	t.Helper()
	return u.wk.WorkJob(context.Background(), t, u.tx, job)
}

// apply works action id's job once, requires it completed, and returns the
// action as it then stands.
func (u *unit) apply(t *testing.T, id int64) *writeback.Action {
	t.Helper()
	res, err := u.work(t, id)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	return u.action(t, id)
}

func (u *unit) action(t *testing.T, id int64) *writeback.Action {
	t.Helper()
	a, err := u.svc.Get(context.Background(), 1, id)
	require.NoError(t, err)
	return a
}

// count runs a count(*) query in the test's transaction.
func (u *unit) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, u.tx.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}
