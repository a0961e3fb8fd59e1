package notify

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/mail"
	"github.com/porticohq/portico/internal/mail/mailtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/mappings"
)

// The mail workers' tests: each job is inserted and worked with River's
// rivertest in a transaction of the test's (rolled back at its end), while
// the workers' own transactions run on the pool as in production; mail
// goes over SMTP to an in-process server.

// mailUnit is one test's notify service mailing to smtp, with one user.
type mailUnit struct {
	s      *Service
	tx     pgx.Tx
	smtp   *mailtest.Server
	tenant int64
	user   auth.User
}

func newMailUnit(t *testing.T) *mailUnit {
	t.Helper()
	ctx := context.Background()
	pool := dbtest.Pool(t)
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	smtp := mailtest.Start(t)
	mailer, err := mail.New("smtp://"+smtp.Addr(), "Portal <portal@example.com>")
	require.NoError(t, err)
	inserter, err := river.NewClient(riverpgxv5.New(nil), &river.Config{}) // inserts only
	require.NoError(t, err)
	s, err := New(Options{
		Pool: pool, Records: records.New(records.Options{Pool: pool, Mappings: set}), Policy: access.NewPolicy(pool),
		Insert: inserter.InsertTx, Mailer: mailer, PublicURL: "http://portal.example", SigningKey: make([]byte, 32),
	})
	require.NoError(t, err)
	user, err := auth.CreateUser(ctx, pool, auth.NewUser{Email: "ada@alpha.test", AccountID: "001A", Roles: []string{auth.RoleMember}})
	require.NoError(t, err)
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return &mailUnit{s: s, tx: tx, smtp: smtp, tenant: user.TenantID, user: user}
}

// notice adds a notice for the unit's user whose email is in state email
// (pending: its send job is due; digest: it waits for the digest).
func (u *mailUnit) notice(t *testing.T, kind, title, email string) int64 {
	t.Helper()
	id, err := store.NoticeInsert(context.Background(), u.s.opts.Pool, store.NoticeInsertParams{
		TenantID: u.tenant, UserID: u.user.ID, Kind: kind, Connection: "salesforce", Object: "case",
		SourceID: "500" + title, Title: title, Body: "Now: closed", Link: "/cases/500" + title, Inbox: true, Email: email,
	})
	require.NoError(t, err)
	return id
}

// emailState is the notice's email column.
func (u *mailUnit) emailState(t *testing.T, id int64) string {
	t.Helper()
	n, err := store.NoticeForSend(context.Background(), u.s.opts.Pool, id)
	require.NoError(t, err)
	return n.Email
}

// mailbox is what the user's mailbox holds.
func (u *mailUnit) mailbox(t *testing.T) []string {
	t.Helper()
	msgs, repeats := u.smtp.Mailbox()
	require.Zero(t, repeats, "no message was sent twice")
	return msgs
}

func header(t *testing.T, msg, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?im)^` + name + `:\s*(.*?)\r?$`).FindStringSubmatch(msg)
	require.NotNil(t, m, "no %s header in %q", name, msg)
	return m[1]
}

// TestSendWorkerMailsANoticeOnce: the send job mails its notice to the
// user under the notice's own Message-ID with the unsubscribe headers and
// marks it sent; the job worked again (a retry after a commit) mails
// nothing. A refused attempt (451) is retried with the notice still
// pending; a permanent refusal (550) cancels the job and marks the notice
// failed.
func TestSendWorkerMailsANoticeOnce(t *testing.T) {
	t.Parallel()
	u := newMailUnit(t)
	ctx := context.Background()
	wk := rivertest.NewWorker(t, riverpgxv5.New(nil), &river.Config{}, &sendWorker{s: u.s})

	id := u.notice(t, "case_status", "Case 0042 closed", "pending")
	res, err := wk.Work(ctx, t, u.tx, SendArgs{NoticeID: id}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, "sent", u.emailState(t, id))
	msgs := u.mailbox(t)
	require.Len(t, msgs, 1)
	require.Equal(t, "ada@alpha.test", header(t, msgs[0], "To"))
	require.Equal(t, "Case 0042 closed", header(t, msgs[0], "Subject"))
	require.True(t, strings.HasPrefix(header(t, msgs[0], "Message-ID"), fmt.Sprintf("<portico-n%d@", id)))
	require.Equal(t, "List-Unsubscribe=One-Click", header(t, msgs[0], "List-Unsubscribe-Post"))

	res, err = wk.Work(ctx, t, u.tx, SendArgs{NoticeID: id}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	all, _, _ := u.smtp.Snapshot()
	require.Len(t, all, 1, "a notice sent already is not mailed again")

	refused := u.notice(t, "case_status", "Case 0043 closed", "pending")
	u.smtp.FailMail(1)
	res, err = wk.Work(ctx, t, u.tx, SendArgs{NoticeID: refused}, nil)
	require.Error(t, err, "451 is retried")
	require.Equal(t, river.EventKindJobFailed, res.EventKind)
	require.Len(t, res.Job.Errors, 1, "the attempt's error is kept for the retry")
	require.Equal(t, "pending", u.emailState(t, refused))

	u.smtp.RejectRecipients(true)
	res, err = wk.Work(ctx, t, u.tx, SendArgs{NoticeID: refused}, nil)
	require.NoError(t, err, "a cancellation is the job's outcome, not an error")
	require.Equal(t, river.EventKindJobCancelled, res.EventKind)
	require.Equal(t, "failed", u.emailState(t, refused))
	all, _, _ = u.smtp.Snapshot()
	require.Len(t, all, 1)
}

// TestScanQueuesTheDigestAndTheDigestWorkerMailsIt: the scan job queues
// one digest job for a user with notices waiting for the digest (and none
// for the same day again); the digest job mails them in one message,
// grouped, and marks them sent with the digest; worked again it mails
// nothing, not even a notice that arrived since.
func TestScanQueuesTheDigestAndTheDigestWorkerMailsIt(t *testing.T) {
	t.Parallel()
	u := newMailUnit(t)
	ctx := context.Background()
	first := u.notice(t, "case_status", "Case 0042 closed", "digest")
	second := u.notice(t, "invoice_due", "Invoice 7 due in 7 days", "digest")
	u.notice(t, "case_status", "Case 0044 closed", "sent")

	scan := rivertest.NewWorker(t, riverpgxv5.New(nil), &river.Config{}, &scanWorker{s: u.s})
	res, err := scan.Work(ctx, t, u.tx, ScanArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	job := rivertest.RequireInsertedTx[*riverpgxv5.Driver](ctx, t, u.tx, DigestArgs{}, &rivertest.RequireInsertedOpts{Queue: "notify", MaxAttempts: 12})
	_, err = scan.Work(ctx, t, u.tx, ScanArgs{}, nil)
	require.NoError(t, err)
	rivertest.RequireManyInsertedTx[*riverpgxv5.Driver](ctx, t, u.tx, []rivertest.ExpectedJob{{Args: DigestArgs{}}})

	digest := rivertest.NewWorker(t, riverpgxv5.New(nil), &river.Config{}, &digestWorker{s: u.s})
	res, err = digest.WorkJob(ctx, t, u.tx, job.JobRow)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, "sent", u.emailState(t, first))
	require.Equal(t, "sent", u.emailState(t, second))
	msgs := u.mailbox(t)
	require.Len(t, msgs, 1)
	require.Equal(t, "ada@alpha.test", header(t, msgs[0], "To"))
	require.Equal(t, "Your daily summary: 2 updates", header(t, msgs[0], "Subject"))
	require.True(t, strings.HasPrefix(header(t, msgs[0], "Message-ID"), fmt.Sprintf("<portico-d%d@", job.Args.DigestID)))
	require.Contains(t, msgs[0], "Case 0042 closed")
	require.Contains(t, msgs[0], "Invoice 7 due in 7 days")
	require.NotContains(t, msgs[0], "Case 0044 closed", "a notice already sent is not in the digest")

	// Worked again (a retry after its commit), the digest mails nothing,
	// not even a notice that has waited since: that is the next day's.
	later := u.notice(t, "case_status", "Case 0045 closed", "digest")
	_, err = digest.Work(ctx, t, u.tx, DigestArgs{DigestID: job.Args.DigestID}, nil)
	require.NoError(t, err)
	all, _, _ := u.smtp.Snapshot()
	require.Len(t, all, 1, "a digest sent already is not mailed again")
	require.Equal(t, "digest", u.emailState(t, later))
}
