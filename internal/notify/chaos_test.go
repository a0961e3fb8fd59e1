package notify_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/app/apptest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/mail/mailtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/proctest"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/mappings"
)

// The test binary doubles as a worker process: with childEnv set,
// TestMain runs a `portico worker` on childDB mailing to childSMTP.
const (
	childEnv  = "PORTICO_NOTIFY_CHILD"
	childDB   = "PORTICO_NOTIFY_CHILD_DB"
	childSMTP = "PORTICO_NOTIFY_CHILD_SMTP"
)

func runChildWorker(ctx context.Context, logger *slog.Logger) int {
	cfg := chaosConfig(os.Getenv(childDB), os.Getenv(childSMTP))
	return apptest.Run(ctx, &cfg, logger, app.Mode{Work: true})
}

// chaosConfig is the worker's configuration: a job left running by a
// killed worker is rescued after 3 s.
func chaosConfig(dbURL, smtpAddr string) config.Config {
	cfg := config.Default()
	cfg.DatabaseURL = dbURL
	cfg.Mail.SMTPURL, cfg.Mail.From = "smtp://"+smtpAddr, "Portal <portal@example.com>"
	cfg.HTTP.PublicURL = "http://portal.example"
	cfg.Secrets.EncryptionKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	cfg.River.FetchPollInterval, cfg.River.FetchCooldown = 50*time.Millisecond, 10*time.Millisecond
	cfg.River.RescueStuckJobsAfter = 3 * time.Second
	cfg.River.NotifyWorkers = 20
	cfg.Notify.Hold = 0
	cfg.Notify.DailyCap = 0
	cfg.Notify.Poll = 200 * time.Millisecond
	return cfg
}

func startChild(t *testing.T, dbURL, smtpAddr string) *exec.Cmd {
	t.Helper()
	return proctest.StartChild(t, childEnv+"=1", childDB+"="+dbURL, childSMTP+"="+smtpAddr)
}

var messageID = regexp.MustCompile(`(?m)^Message-ID: <portico-n(\d+)@`)

// TestChaosEveryNoticeExactlyOnce: case changes stream in while the
// SMTP server refuses some mail with 451 and the worker process is
// killed with SIGKILL mid-run; another takes over. Every recipient gets
// exactly one notice per event: none missed and no duplicate, counted
// in the recipients' mailboxes, each (user, event) keyed once.
//
// SMTP itself has no idempotency key (docs/notifications.md): a worker
// killed between the server's 250 and its commit (one round trip) makes
// the next attempt send the same message again, under the same
// Message-ID, which the mailbox drops as a repeat. Those raw repeats are
// counted and logged, must be the very message (same id, recipient,
// subject and text) and are bounded by the sends in flight at the kill;
// a notice mailed as a second, different message would be a duplicate.
func TestChaosEveryNoticeExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	t.Parallel()
	const cases, accounts, perAccount = 300, 30, 2
	dbURL := dbtest.URL(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	caseObj, _ := set.Object("case")
	require.NoError(t, store.BenchNotifySeedCases(ctx, pool, store.BenchNotifySeedCasesParams{Accounts: accounts, MappingHash: caseObj.Hash(), Cases: cases}))
	for i := range accounts {
		for j, role := range []string{auth.RoleMember, auth.RoleAccountAdmin}[:perAccount] {
			_, err := auth.CreateUser(ctx, pool, auth.NewUser{Email: fmt.Sprintf("u%d-%d@example.test", i, j), AccountID: fmt.Sprintf("acc%03d", i),
				Roles: []string{role}, Password: "chaos-password-0123456789", HashParams: auth.HashParams{Memory: 1024, Time: 1, Threads: 1}})
			require.NoError(t, err)
		}
	}
	smtp := mailtest.Start(t)
	smtp.FailMail(40) // 451: retried

	first := startChild(t, dbURL, smtp.Addr())
	// The changes stream in, 20 cases at a time.
	go func() {
		for from := 1; from <= cases; from += 20 {
			_, _ = store.BenchNotifyChangeCases(ctx, pool, store.BenchNotifyChangeCasesParams{Status: "in_progress", Label: "In progress",
				NextStep: "We are working on your request.", Version: "v2", First: strconv.Itoa(from), Last: strconv.Itoa(from + 19)})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// Kill the worker while it sends.
	require.Eventually(t, func() bool { return smtp.Recipients() >= 150 }, 60*time.Second, 5*time.Millisecond)
	require.NoError(t, first.Process.Kill()) // SIGKILL
	_, _ = first.Process.Wait()
	startChild(t, dbURL, smtp.Addr())

	want := cases * perAccount
	require.Eventually(t, func() bool {
		c, err := store.BenchNotifyCounts(ctx, pool)
		require.NoError(t, err)
		return c.Events == cases && c.Unprocessed == 0 && c.Sent == int64(want)
	}, 120*time.Second, 50*time.Millisecond, "every notice sent")

	raw, _, _ := smtp.Snapshot()
	box, repeats := smtp.Mailbox()
	// Each mailbox message is one notice's; a notice in two messages (two
	// ids, or one id to two recipients) is a duplicate.
	delivered := map[string]int{}
	sent := map[string]string{}
	for _, m := range box {
		id := messageID.FindStringSubmatch(m)
		require.NotNil(t, id, "every mail carries its notice's Message-ID: %.600q", m)
		delivered[id[1]]++
		sent[id[1]] = normalized(m)
	}
	duplicates := 0
	for _, n := range delivered {
		duplicates += n - 1
	}
	// A raw repeat is the very message the mailbox holds.
	for _, m := range raw {
		id := messageID.FindStringSubmatch(m)
		require.NotNil(t, id)
		require.Equal(t, sent[id[1]], normalized(m), "a repeat of notice %s differs from its first send", id[1])
	}
	c, err := store.BenchNotifyCounts(ctx, pool)
	require.NoError(t, err)
	var keys, missed int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM notice_event`).Scan(&keys))
	ids := make([]string, 0, len(delivered))
	for id := range delivered {
		ids = append(ids, id)
	}
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM notice WHERE NOT (id::text = ANY ($1))`, ids).Scan(&missed))
	t.Logf("chaos: %d events, %d notices, %d keys, %d mails accepted by SMTP, %d in the mailboxes; missed %d, duplicates %d; %d raw SMTP repeats (same Message-ID) dropped by the mailboxes",
		c.Events, c.Notices, keys, len(raw), len(box), missed, duplicates, repeats)
	require.EqualValues(t, want, c.Notices, "one notice per recipient and event")
	require.Equal(t, want, keys)
	require.Zero(t, missed, "missed notices")
	require.Zero(t, duplicates, "duplicate notices in a mailbox")
	require.Len(t, box, want)
	require.LessOrEqual(t, repeats, 20, "raw repeats only of the sends in flight at the kill")
}

var (
	dateHeader = regexp.MustCompile(`(?m)^Date: [^\r\n]*\r?\n`)
	boundary   = regexp.MustCompile(`boundary="?([^"\r\n;]+)"?`)
)

// normalized is a message without what a repeat sets anew: its Date
// header and its MIME boundary.
func normalized(m string) string {
	m = dateHeader.ReplaceAllString(m, "")
	if b := boundary.FindStringSubmatch(m); b != nil {
		m = strings.ReplaceAll(m, b[1], "BOUNDARY")
	}
	return m
}
