package mail_test

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/textproto"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/auth/authtest"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/mail"
	"github.com/porticohq/portico/internal/mail/mailtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func smtpTo(t *testing.T, f *mailtest.Server) *mail.SMTP {
	m, err := mail.New("smtp://portal:s3cret@"+f.Addr(), "Portal <portal@example.com>")
	require.NoError(t, err)
	return m
}

type env struct {
	pool *pgxpool.Pool
	svc  *auth.Service
	log  *mailtest.Log
}

// setup is an auth service over a fresh database with one invited user
// and one active user.
func setup(t *testing.T) (*env, auth.User, auth.User) {
	t.Helper()
	pool := dbtest.Pool(t)
	e := &env{pool: pool, log: &mailtest.Log{}}
	var err error
	e.svc, err = auth.New(auth.Deps{Pool: pool, Logger: e.log.Logger(), Config: config.Default().Auth,
		PublicURL: "https://portal.example.com", HashParams: authtest.FastHash})
	require.NoError(t, err)
	ctx := context.Background()
	invited, _, err := auth.Invite(ctx, pool, auth.NewUser{Email: "new@acme.test", AccountID: "001ACME", Roles: []string{auth.RoleMember}}, "https://x", time.Now())
	require.NoError(t, err)
	active, err := auth.CreateUser(ctx, pool, auth.NewUser{Email: "ana@acme.test", Password: authtest.Password,
		AccountID: "001ACME", Roles: []string{auth.RoleMember}, HashParams: authtest.FastHash})
	require.NoError(t, err)
	return e, invited, active
}

// work inserts args and works the job once, in a transaction it commits.
func work[T river.JobArgs](t *testing.T, pool *pgxpool.Pool, w river.Worker[T], args T, job *rivertype.JobRow) (*rivertest.WorkResult, error) {
	t.Helper()
	tw := rivertest.NewWorker(t, riverpgxv5.New(nil), &river.Config{}, w)
	var (
		res     *rivertest.WorkResult
		workErr error
	)
	require.NoError(t, pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		if job == nil {
			res, workErr = tw.Work(context.Background(), t, tx, args, nil)
		} else {
			res, workErr = tw.WorkJob(context.Background(), t, tx, job)
		}
		return nil
	}))
	return res, workErr
}

// parse splits a received message into its headers and decoded body.
func parse(t *testing.T, raw string) (textproto.MIMEHeader, string) {
	head, body, ok := strings.Cut(raw, "\n\n")
	require.True(t, ok, raw)
	h := textproto.MIMEHeader{}
	for _, line := range strings.Split(head, "\n") {
		k, v, _ := strings.Cut(line, ": ")
		h.Add(k, v)
	}
	decoded, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	require.NoError(t, err)
	return h, string(decoded)
}

// tokenLive reports whether the link's token is stored (as its hash),
// unused and unexpired.
func tokenLive(t *testing.T, pool *pgxpool.Pool, link string) bool {
	u, err := url.Parse(link)
	require.NoError(t, err)
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_user_token
		WHERE token_hash = sha256(convert_to($1, 'UTF8')) AND used_at IS NULL AND expires_at > now()`, u.Query().Get("token")).Scan(&n))
	return n == 1
}

func TestInvitationJobDeliversALiveLink(t *testing.T) {
	t.Parallel()
	e, invited, _ := setup(t)
	f := mailtest.Start(t)
	res, err := work(t, e.pool, mail.NewInvitationWorker(e.svc, smtpTo(t, f), e.log.Logger()), auth.InvitationMailArgs{UserID: invited.ID}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)

	msgs, _, auths := f.Snapshot()
	require.Len(t, msgs, 1)
	require.Equal(t, []string{"\x00portal\x00s3cret"}, auths, "AUTH PLAIN with the URL's credentials")
	h, body := parse(t, msgs[0])
	require.Equal(t, `"Portal" <portal@example.com>`, h.Get("From"))
	require.Equal(t, "new@acme.test", h.Get("To"))
	require.Equal(t, "invitation", h.Get("X-Portico-Kind"))
	require.Contains(t, h.Get("Message-ID"), "@example.com>")
	link := regexp.MustCompile(`https://\S+`).FindString(body)
	require.True(t, strings.HasPrefix(link, "https://portal.example.com/activate?token="), body)
	require.True(t, tokenLive(t, e.pool, link), "the link survives quoted-printable wrapping and its token is live")
	require.Contains(t, e.log.String(), "mail: sent")
	require.NotContains(t, e.log.String(), "token=", "the link is never logged")

	// An invitation already taken up sends nothing.
	_, err = e.pool.Exec(context.Background(), `UPDATE auth_user SET status = 'active' WHERE id = $1`, invited.ID)
	require.NoError(t, err)
	res, err = work(t, e.pool, mail.NewInvitationWorker(e.svc, smtpTo(t, f), nil), auth.InvitationMailArgs{UserID: invited.ID}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	msgs, _, _ = f.Snapshot()
	require.Len(t, msgs, 1)
}

func TestResetJobMailsOnlyAnActiveUser(t *testing.T) {
	t.Parallel()
	e, _, active := setup(t)
	f := mailtest.Start(t)
	w := mail.NewResetWorker(e.svc, smtpTo(t, f), nil)
	for _, email := range []string{"nobody@acme.test", "new@acme.test", active.Email} {
		res, err := work(t, e.pool, w, auth.PasswordResetMailArgs{Email: email}, nil)
		require.NoError(t, err)
		require.Equal(t, river.EventKindJobCompleted, res.EventKind, email)
	}
	msgs, _, _ := f.Snapshot()
	require.Len(t, msgs, 1, "an unknown email and a user not yet active get nothing")
	h, body := parse(t, msgs[0])
	require.Equal(t, active.Email, h.Get("To"))
	require.Equal(t, "password_reset", h.Get("X-Portico-Kind"))
	require.Contains(t, body, "https://portal.example.com/reset-password?token=")
}

// A 4xx reply fails the attempt and River retries it; the retry sends a
// fresh link, and the one the failed attempt minted no longer works.
func TestTransientFailureIsRetried(t *testing.T) {
	t.Parallel()
	e, invited, _ := setup(t)
	f := mailtest.Start(t)
	f.FailMail(1)
	w := mail.NewInvitationWorker(e.svc, smtpTo(t, f), e.log.Logger())
	res, err := work(t, e.pool, w, auth.InvitationMailArgs{UserID: invited.ID}, nil)
	require.ErrorContains(t, err, "451")
	require.Equal(t, river.EventKindJobFailed, res.EventKind)
	// River's backoff: retryable, or available at once when the wait is
	// shorter than its scheduler's interval (the first one is a second).
	require.Contains(t, []rivertype.JobState{rivertype.JobStateRetryable, rivertype.JobStateAvailable}, res.Job.State, "to be retried")
	require.Len(t, res.Job.Errors, 1)
	require.Contains(t, e.log.String(), "will retry")

	res, err = work(t, e.pool, w, auth.InvitationMailArgs{}, res.Job)
	require.NoError(t, err)
	require.Equal(t, rivertype.JobStateCompleted, res.Job.State)
	require.Equal(t, 2, res.Job.Attempt)
	msgs, froms, _ := f.Snapshot()
	require.Len(t, msgs, 1)
	require.Equal(t, 2, froms)
	var live int
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT count(*) FROM auth_user_token WHERE user_id = $1 AND used_at IS NULL`, invited.ID).Scan(&live))
	require.Equal(t, 1, live, "only the delivered link works")

	// A server that does not answer is a failure that may pass too.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	require.NoError(t, ln.Close())
	down, err := mail.New("smtp://"+ln.Addr().String(), "portal@example.com")
	require.NoError(t, err)
	res, err = work(t, e.pool, mail.NewInvitationWorker(e.svc, down, nil), auth.InvitationMailArgs{UserID: invited.ID}, nil)
	require.ErrorContains(t, err, "connection refused")
	require.Equal(t, river.EventKindJobFailed, res.EventKind, "retried, not cancelled")
}

// A 5xx reply cancels the job at once, with the reason logged.
func TestPermanentFailureIsNotRetried(t *testing.T) {
	t.Parallel()
	e, invited, _ := setup(t)
	f := mailtest.Start(t)
	f.RejectRecipients(true)
	res, err := work(t, e.pool, mail.NewInvitationWorker(e.svc, smtpTo(t, f), e.log.Logger()), auth.InvitationMailArgs{UserID: invited.ID}, nil)
	require.NoError(t, err, "a cancel is not an error of the test worker")
	require.Equal(t, river.EventKindJobCancelled, res.EventKind)
	require.Equal(t, rivertype.JobStateCancelled, res.Job.State)
	require.Equal(t, 1, f.Recipients(), "one attempt")
	require.Contains(t, e.log.String(), "giving up")
	require.Regexp(t, `reason=.*550.*no such user`, e.log.String(), "the reason is logged")
}

// Without SMTP nothing is sent and no link is logged at info; portico dev
// prints the link on a line marked as dev mail.
func TestWithoutSMTPNoLinkIsLogged(t *testing.T) {
	t.Parallel()
	e, invited, active := setup(t)
	res, err := work(t, e.pool, mail.NewInvitationWorker(e.svc, mail.Unconfigured{}, e.log.Logger()), auth.InvitationMailArgs{UserID: invited.ID}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCancelled, res.EventKind)
	_, err = work(t, e.pool, mail.NewResetWorker(e.svc, mail.Unconfigured{}, e.log.Logger()), auth.PasswordResetMailArgs{Email: active.Email}, nil)
	require.NoError(t, err)
	logged := e.log.String()
	require.Contains(t, logged, "mail.smtp_url is not set")
	require.NotContains(t, logged, "token=")
	require.NotContains(t, logged, "link=")
	var minted int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_user_token WHERE used_at IS NULL`).Scan(&minted))
	require.Equal(t, 2, minted, "both links existed while the jobs ran, and neither was logged")

	dev := &mailtest.Log{}
	res, err = work(t, e.pool, mail.NewInvitationWorker(e.svc, mail.DevLog{Log: dev.Logger()}, nil), auth.InvitationMailArgs{UserID: invited.ID}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Contains(t, dev.String(), "dev mail")
	require.Contains(t, dev.String(), "/activate?token=")
}

func TestDeliverEncodesAndRefusesHeaderInjection(t *testing.T) {
	t.Parallel()
	f := mailtest.Start(t)
	m := smtpTo(t, f)
	link := "https://portal.example.com/reset?token=" + strings.Repeat("x", 90)
	require.NoError(t, m.Deliver(context.Background(), auth.Message{
		To: "ana@acme.test", Subject: "Réinitialiser votre mot de passe", Body: "Open this link:\n\n" + link + "\n", Link: link, Kind: "password_reset",
	}))
	msgs, _, _ := f.Snapshot()
	require.Len(t, msgs, 1)
	h, body := parse(t, msgs[0])
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "Réinitialiser votre mot de passe", subject)
	require.Contains(t, body, link, "the link survives quoted-printable line wrapping")

	err = m.Deliver(context.Background(), auth.Message{To: "a@b.test\r\nBcc: evil@x.test", Subject: "s"})
	require.ErrorIs(t, err, mail.ErrUnsendable, "header injection")
	require.True(t, mail.Permanent(err))
	require.Equal(t, 1, f.Recipients(), "the refused message never reached the server")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "http://host:25", "smtp://host", "smtp://:25"} {
		_, err := mail.New(bad, "portal@example.com")
		require.Error(t, err, bad)
	}
	_, err := mail.New("smtp://host:587", "not an address")
	require.ErrorContains(t, err, "sender")
}
