package reports_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/reports"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// The seeded days (UTC).
var (
	d1 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	d2 = d1.AddDate(0, 0, 1)
	d3 = d1.AddDate(0, 0, 2)
)

const (
	acctA = "001A00000000001"
	acctB = "001B00000000001"
)

func at(day time.Time, hms string) time.Time {
	d, err := time.ParseDuration(hms)
	if err != nil {
		panic(err)
	}
	return day.Add(d)
}

type seed struct {
	t    *testing.T
	pool *pgxpool.Pool
	n    int
}

func (s *seed) exec(sql string, args ...any) {
	s.t.Helper()
	_, err := s.pool.Exec(context.Background(), sql, args...)
	require.NoError(s.t, err, sql)
}

// user creates a user; invited, if not zero, is when its invitation was
// issued.
func (s *seed) user(account, status string, password bool, invited time.Time) int64 {
	s.t.Helper()
	s.n++
	var id int64
	var hash any
	if password {
		hash = "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA"
	}
	staff := account == ""
	roles := []string{"member"}
	var acct any = account
	if staff {
		roles, acct = []string{"operator_admin"}, nil
	}
	require.NoError(s.t, s.pool.QueryRow(context.Background(), `
		INSERT INTO auth_user (tenant_id, email, password_hash, account_id, contact_id, roles, staff, status)
		VALUES (1, $1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		fmt.Sprintf("u%d@example.com", s.n), hash, acct, acct, roles, staff, status).Scan(&id))
	if !invited.IsZero() {
		h := sha256.Sum256([]byte(fmt.Sprint("invite", s.n)))
		s.exec(`INSERT INTO auth_user_token (user_id, purpose, token_hash, expires_at, created_at) VALUES ($1, 'invitation', $2, $3, $4)`,
			id, h[:], invited.Add(72*time.Hour), invited)
	}
	return id
}

func (s *seed) event(kind string, user int64, account, subject string, when time.Time) {
	s.t.Helper()
	s.exec(`INSERT INTO portal_event (tenant_id, kind, user_id, account_id, subject, at) VALUES (1, $1, nullif($2, 0), $3, $4, $5)`,
		kind, user, account, subject, when)
}

func (s *seed) action(user int64, account, state string, created time.Time, took time.Duration) {
	s.t.Helper()
	var applied any
	if state == "applied" {
		applied = created.Add(took)
	}
	s.exec(`INSERT INTO action (tenant_id, user_id, account_id, kind, connection, object, source_object, op, target, input, state, created_at, updated_at, applied_at)
		VALUES (1, $1, $2, 'case.create', 'salesforce', 'case', 'Case', 'create', 'pending:x', '{}', $3, $4, $4, $5)`,
		fmt.Sprint(user), account, state, created, applied)
}

// record stores a cached record in its first status, then walks it
// through the later ones (status, at), as a sync does.
func (s *seed) record(object, id, account, data, raw, status string, modified time.Time, later ...any) {
	s.t.Helper()
	s.exec(`INSERT INTO record (tenant_id, connection, object, source_id, source_object, owner_account, status, data, raw, source_modified, mapping_hash)
		VALUES (1, 'src', $1, $2, $1, $3, $4, $5, $6, $7, 'h')`, object, id, account, status, data, raw, modified)
	for i := 0; i < len(later); i += 2 {
		s.exec(`UPDATE record SET status = $1, source_modified = $2 WHERE tenant_id = 1 AND connection = 'src' AND object = $3 AND source_id = $4`,
			later[i], later[i+1], object, id)
	}
}

// seedAll writes the data set whose figures TestReportsMatchHandComputed
// states, computed by hand.
func seedAll(t *testing.T, pool *pgxpool.Pool) {
	s := &seed{t: t, pool: pool}
	// Activation: invited on d1 in A (one activated), on d1 in B
	// (disabled before activating), on d2 in A (activated); u5 and the
	// staff member are not counted (never invited; staff).
	u1 := s.user(acctA, "active", true, at(d1, "10h"))
	s.user(acctA, "invited", false, at(d1, "11h"))
	u3 := s.user(acctA, "active", true, at(d2, "9h"))
	s.user(acctB, "disabled", false, at(d1, "23h59m"))
	u5 := s.user(acctB, "active", true, time.Time{})
	staff := s.user("", "active", true, at(d1, "8h"))
	// Before the range: nothing of it is reported (but counts as
	// activity for the monthly figure).
	s.user(acctA, "active", true, at(d1, "-1h"))

	// Portal events.
	s.event(reports.SignIn, u1, acctA, "", at(d1, "10h5m"))
	s.event(reports.StatusLookup, u1, acctA, "case/c1", at(d1, "10h6m"))
	s.event(reports.StatusLookup, u1, acctA, "case/c1", at(d1, "10h7m"))
	s.event(reports.KnowledgeView, u1, acctA, "ka1", at(d2, "13h"))
	s.event(reports.SignIn, u3, acctA, "", at(d2, "9h30m"))
	s.event(reports.SignIn, u3, acctA, "", at(d1, "-240h")) // 10 days before d1
	s.event(reports.StatusLookup, u5, acctB, "order/o1", at(d1, "15h"))
	s.event(reports.SignIn, staff, "", "", at(d1, "8h"))           // staff: not a customer
	s.event(reports.KnowledgeView, 0, "", "ka1", at(d1, "8h"))     // anonymous
	s.event(reports.KnowledgeView, u1, acctA, "ka1", at(d3, "1h")) // after the range
	s.event(reports.NotificationSent, u1, acctA, "n1", at(d1, "12h"))
	s.event(reports.NotificationSent, u1, acctA, "n2", at(d1, "12h"))
	s.event(reports.NotificationSent, u1, acctA, "n3", at(d1, "12h"))
	s.event(reports.NotificationOpened, u1, acctA, "n1", at(d1, "13h"))
	s.event(reports.NotificationOpened, u1, acctA, "n1", at(d1, "14h")) // opened again: one notice
	s.event(reports.NotificationClicked, u1, acctA, "n1", at(d1, "13h1m"))
	s.event(reports.NotificationOpened, u1, acctA, "n2", at(d2, "8h"))

	// Actions: d1 A applied in 2 s and 10 s, one conflict; d2 B failed
	// and applied in 4 s; d2 A pending.
	s.action(u1, acctA, "applied", at(d1, "9h"), 2*time.Second)
	s.action(u1, acctA, "applied", at(d1, "10h"), 10*time.Second)
	s.action(u1, acctA, "conflict", at(d1, "11h"), 0)
	s.action(u5, acctB, "failed", at(d2, "8h"), 0)
	s.action(u5, acctB, "applied", at(d2, "9h"), 4*time.Second)
	s.action(u3, acctA, "pending", at(d2, "12h"), 0)

	// Cases: d1 A three opened, closed after 4 h and 24 h, one still in
	// progress; d2 B one first seen closed an hour after it opened.
	cs := func(created time.Time) string { return fmt.Sprintf(`{"created_at":%q}`, created.Format(time.RFC3339)) }
	s.record("case", "c1", acctA, cs(at(d1, "8h")), "{}", "new", at(d1, "8h"), "closed", at(d1, "12h"))
	s.record("case", "c2", acctA, cs(at(d1, "9h")), "{}", "new", at(d1, "9h"), "in_progress", at(d1, "10h"), "closed", at(d2, "9h"))
	s.record("case", "c3", acctA, cs(at(d1, "10h")), "{}", "new", at(d1, "10h"), "in_progress", at(d1, "11h"))
	s.record("case", "c4", acctB, cs(at(d2, "7h")), "{}", "closed", at(d2, "8h"))
	// Approvals (the source's CreatedDate): d1 A one accepted after 6 h,
	// one pending.
	s.record("approval_request", "q1", acctA, "{}", `{"CreatedDate":"2026-03-02T10:00:00.000+0000"}`, "pending", at(d1, "10h"), "accepted", at(d1, "16h"))
	s.record("approval_request", "q2", acctA, "{}", `{"CreatedDate":"2026-03-02T12:00:00.000+0000"}`, "pending", at(d1, "12h"))
	// Invoices (issued_on, a date): d2 B one paid at noon, one open.
	s.record("invoice", "i1", acctB, `{"issued_on":"2026-03-03"}`, "{}", "open", at(d2, "0h"), "paid", at(d2, "12h"))
	s.record("invoice", "i2", acctB, `{"issued_on":"2026-03-03"}`, "{}", "open", at(d2, "0h"))
}

// The figures of the seeded data set, computed by hand (see seedAll and
// docs/reports.md), must be what the reports answer, exactly.
func TestReportsMatchHandComputed(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	seedAll(t, pool)
	svc := reports.New(pool, 1)
	q := reports.Query{From: d1, Until: d3}
	want := map[string][][]any{
		// invited, activated, rate
		"activation": {
			{"2026-03-02", acctA, int64(2), int64(1), 0.5},
			{"2026-03-02", acctB, int64(1), int64(0), 0.0},
			{"2026-03-03", acctA, int64(1), int64(1), 1.0},
		},
		// daily, weekly, monthly: on d1 u3's sign-in 10 days earlier
		// counts only monthly.
		"active_users": {
			{"2026-03-02", acctA, int64(1), int64(1), int64(2)},
			{"2026-03-02", acctB, int64(1), int64(1), int64(1)},
			{"2026-03-03", acctA, int64(2), int64(2), int64(2)},
			{"2026-03-03", acctB, int64(1), int64(1), int64(1)},
		},
		// started, completed, rate, median seconds
		"workflows": {
			{"2026-03-02", acctA, "case", int64(3), int64(2), 0.6667, 50400.0}, // median of 4 h and 24 h
			{"2026-03-03", acctB, "case", int64(1), int64(1), 1.0, 3600.0},
			{"2026-03-02", acctA, "approval", int64(2), int64(1), 0.5, 21600.0},
			{"2026-03-03", acctB, "invoice", int64(2), int64(1), 0.5, 43200.0},
		},
		// knowledge views, status lookups, cases opened, (kv+sl)/(kv+sl+cases)
		"self_service": {
			{"2026-03-02", acctA, int64(0), int64(2), int64(3), 0.4},
			{"2026-03-02", acctB, int64(0), int64(1), int64(0), 1.0},
			{"2026-03-03", acctA, int64(1), int64(0), int64(0), 1.0},
			{"2026-03-03", acctB, int64(0), int64(0), int64(1), 0.0},
		},
		// sent, opened, clicked, open rate, click rate
		"notifications": {
			{"2026-03-02", acctA, int64(3), int64(1), int64(1), 0.3333, 0.3333},
			{"2026-03-03", acctA, int64(0), int64(1), int64(0), 0.0, 0.0},
		},
		// submitted, applied, conflict, failed, p50 and p99 seconds to applied
		"writeback": {
			{"2026-03-02", acctA, int64(3), int64(2), int64(1), int64(0), 6.0, 9.92}, // 2 s and 10 s: 2 + 0.99×8
			{"2026-03-03", acctA, int64(1), int64(0), int64(0), int64(0), 0.0, 0.0},
			{"2026-03-03", acctB, int64(2), int64(1), int64(0), int64(1), 4.0, 4.0},
		},
	}
	require.ElementsMatch(t, reports.Names, keys(want))
	for _, name := range reports.Names {
		got, err := svc.Run(t.Context(), name, q)
		require.NoError(t, err, name)
		require.Equal(t, want[name], got.Rows, name)
	}

	// One account.
	got, err := svc.Run(t.Context(), "writeback", reports.Query{From: d1, Until: d3, Account: acctB})
	require.NoError(t, err)
	require.Equal(t, want["writeback"][2:], got.Rows)
	got, err = svc.Run(t.Context(), "active_users", reports.Query{From: d2, Until: d3, Account: acctA})
	require.NoError(t, err)
	require.Equal(t, want["active_users"][2:3], got.Rows)

	// The same figures over HTTP, as JSON and as CSV.
	srv := httptest.NewServer(reports.AdminRoutes(svc, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	res, body := get(t, srv.URL+"/writeback?from=2026-03-02&until=2026-03-04&format=csv", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Equal(t, "text/csv; charset=utf-8", res.Header.Get("Content-Type"))
	require.Equal(t, strings.Join([]string{
		"day,account_id,submitted,applied,conflict,failed,p50_seconds,p99_seconds",
		"2026-03-02,001A00000000001,3,2,1,0,6,9.92",
		"2026-03-03,001A00000000001,1,0,0,0,0,0",
		"2026-03-03,001B00000000001,2,1,0,1,4,4",
		""}, "\n"), body)
	res, body = get(t, srv.URL+"/activation?from=2026-03-02&until=2026-03-04", http.Header{"Accept": {"text/csv"}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Contains(t, body, "2026-03-02,001A00000000001,2,1,0.5\n")
	res, body = get(t, srv.URL+"/activation?from=2026-03-02&until=2026-03-04", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.JSONEq(t, `{"report":"activation","from":"2026-03-02","until":"2026-03-04",
		"columns":["day","account_id","invited","activated","activation_rate"],
		"rows":[["2026-03-02","001A00000000001",2,1,0.5],["2026-03-02","001B00000000001",1,0,0],["2026-03-03","001A00000000001",1,1,1]]}`, body)
}

// Bad input is a 400 naming the parameter, an unknown report a 404.
func TestReportsRefuseBadQueries(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	srv := httptest.NewServer(reports.AdminRoutes(reports.New(pool, 1), slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	for query, field := range map[string]string{
		"from=2026-13-01":                   "from",
		"from=2026-03-02&until=2026-03-02":  "until",
		"from=2020-01-01&until=2026-01-01":  "from",
		"format=xml":                        "format",
		"colour=red":                        "colour",
		"account=":                          "account",
		"until=2026-03-04&until=2026-03-05": "until",
	} {
		res, body := get(t, srv.URL+"/writeback?"+query, nil)
		require.Equal(t, http.StatusBadRequest, res.StatusCode, query)
		require.Contains(t, body, `"path":"`+field+`"`, query)
	}
	res, body := get(t, srv.URL+"/revenue", nil)
	require.Equal(t, http.StatusNotFound, res.StatusCode, body)
	res, body = get(t, srv.URL+"/", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Contains(t, body, `"self_service"`)
}

// Recorded events reach the table in batches, and count in the reports.
func TestRecorderWritesBatches(t *testing.T) {
	t.Parallel()
	pool := dbtest.Pool(t)
	rec := reports.NewRecorder(pool, 1, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { rec.Run(ctx); close(done) }()
	for i := range 300 {
		rec.Record(reports.Event{Kind: reports.KnowledgeView, AccountID: acctA, Subject: fmt.Sprint("ka", i), At: at(d1, "1h")})
	}
	rec.Record(reports.Event{Kind: reports.StatusLookup, AccountID: acctA, Object: "case", Subject: "c1", At: at(d1, "2h")})
	rec.Flush(t.Context())
	got, err := reports.New(pool, 1).Run(t.Context(), "self_service", reports.Query{From: d1, Until: d2})
	require.NoError(t, err)
	require.Equal(t, [][]any{{"2026-03-02", acctA, int64(300), int64(1), int64(0), 1.0}}, got.Rows)
	// What is queued when the recorder stops is still written.
	rec.Record(reports.Event{Kind: reports.StatusLookup, AccountID: acctA, Subject: "c2", At: at(d1, "3h")})
	cancel()
	<-done
	var n int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT count(*) FROM portal_event`).Scan(&n))
	require.Equal(t, 302, n)
	require.Zero(t, rec.Dropped())
	var nilRec *reports.Recorder
	nilRec.Record(reports.Event{Kind: reports.SignIn}) // records nothing, and does not panic
}

func keys(m map[string][][]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// answer is a response's status and header; get reads and closes its body.
type answer struct {
	StatusCode int
	Header     http.Header
}

func get(t *testing.T, url string, h http.Header) (answer, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var b strings.Builder
	_, err = fmt.Fprint(&b, readAll(t, res))
	require.NoError(t, err)
	return answer{StatusCode: res.StatusCode, Header: res.Header}, b.String()
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}
