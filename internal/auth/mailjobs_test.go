package auth_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/jobs"
)

// asAPI starts a transaction the way the service's handlers run: as
// portico_api, with the tenant set.
func asAPI(t *testing.T, b *bundle) pgx.Tx {
	ctx := context.Background()
	tx, err := b.pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	_, err = tx.Exec(ctx, `SELECT set_config('portico.tenant_id', (SELECT id::text FROM tenant WHERE slug = 'default'), true),
		set_config('role', 'portico_api', true)`)
	require.NoError(t, err)
	return tx
}

// The invitation and its mail job commit together: the job is in the
// transaction that writes the invited user, and a rollback leaves neither.
func TestMailJobsAreInsertedInTheirTransaction(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "ana@acme.test")
	ctx := context.Background()
	driver := riverpgxv5.New(b.pool)
	opts := func(attempts int) *rivertest.RequireInsertedOpts {
		return &rivertest.RequireInsertedOpts{Queue: jobs.QueueNotify, MaxAttempts: attempts}
	}

	tx := asAPI(t, b)
	u, err := b.svc.InviteTx(ctx, tx, auth.NewUser{Email: "new@acme.test", AccountID: "001ACME", Roles: []string{auth.RoleMember}})
	require.NoError(t, err)
	require.NoError(t, b.svc.RequestResetTx(ctx, tx, "ana@acme.test"))
	var role string
	require.NoError(t, tx.QueryRow(ctx, "SELECT current_user").Scan(&role))
	require.Equal(t, "portico_api", role, "the transaction is back in the API role after queueing")
	_, err = tx.Exec(ctx, "SELECT set_config('role', 'none', true)") // River's tables are the owner's
	require.NoError(t, err)
	inv := rivertest.RequireInsertedTx[*riverpgxv5.Driver](ctx, t, tx, auth.InvitationMailArgs{}, opts(10))
	require.Equal(t, u.ID, inv.Args.UserID)
	reset := rivertest.RequireInsertedTx[*riverpgxv5.Driver](ctx, t, tx, auth.PasswordResetMailArgs{}, opts(6))
	require.Equal(t, "ana@acme.test", reset.Args.Email)
	require.NotContains(t, string(inv.EncodedArgs)+string(reset.EncodedArgs), "token", "no link in the job's arguments")

	require.NoError(t, tx.Rollback(ctx))
	rivertest.RequireNotInserted(ctx, t, driver, auth.InvitationMailArgs{}, nil)
	rivertest.RequireNotInserted(ctx, t, driver, auth.PasswordResetMailArgs{}, nil)
	users, err := auth.ListUsers(ctx, b.pool, 0, "001ACME")
	require.NoError(t, err)
	require.Len(t, users, 1, "rolled back with its job")
}

// A reset request does the same work whether or not the email has a
// user: the same answer, and the same rows written (its throttle entry and
// one mail job). Only the worker, later, finds out there is nobody to mail.
func TestPasswordResetForAnUnknownEmailDoesTheSameWork(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "ana@acme.test")
	br := b.browser(t)
	known := br.do("POST", "/auth/password-reset", map[string]string{"email": "ana@acme.test"})
	unknown := br.do("POST", "/auth/password-reset", map[string]string{"email": "nobody@acme.test"})
	require.Equal(t, known.status, unknown.status)
	require.Equal(t, known.raw, unknown.raw)

	ctx := context.Background()
	queued := rivertest.RequireManyInserted(ctx, t, riverpgxv5.New(b.pool), []rivertest.ExpectedJob{
		{Args: auth.PasswordResetMailArgs{}, Opts: &rivertest.RequireInsertedOpts{Queue: jobs.QueueNotify}},
		{Args: auth.PasswordResetMailArgs{}, Opts: &rivertest.RequireInsertedOpts{Queue: jobs.QueueNotify}},
	})
	require.JSONEq(t, `{"email":"ana@acme.test"}`, string(queued[0].EncodedArgs))
	require.JSONEq(t, `{"email":"nobody@acme.test"}`, string(queued[1].EncodedArgs))
	rows, err := b.pool.Query(ctx, `SELECT key FROM auth_login_failure ORDER BY id`)
	require.NoError(t, err)
	throttled, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"reset:ana@acme.test", "reset:nobody@acme.test"}, throttled)

	require.Len(t, b.mail.all(), 1, "only the real user gets mail")
}

// Asking again while a mail is on its way queues no second one; once it
// is sent, a new request sends a new mail.
func TestAMailOnItsWayIsNotQueuedTwice(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.member(t, "ana@acme.test")
	br := b.browser(t)
	ask := func() {
		require.Equal(t, http.StatusAccepted, br.do("POST", "/auth/password-reset", map[string]string{"email": "ana@acme.test"}).status)
	}
	ask()
	ask()
	var queued int
	require.NoError(t, b.pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'password_reset_mail'`).Scan(&queued))
	require.Equal(t, 1, queued)
	require.Len(t, b.mail.all(), 1)
	ask()
	require.Len(t, b.mail.all(), 2)
}
