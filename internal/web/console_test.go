package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/internal/web/webtest"
)

// staff creates an operator_admin staff user.
func (e *env) staff(email string) {
	e.t.Helper()
	_, err := auth.CreateUser(context.Background(), e.pool, auth.NewUser{Email: email, Password: password,
		Roles: []string{auth.RoleOperatorAdmin}, Staff: true, HashParams: fastHash})
	require.NoError(e.t, err)
}

// seedActions stores two of Alpha's actions accepted today: one applied
// in 2 s, one failed.
func (e *env) seedActions() string {
	e.t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	for _, a := range []struct {
		state   string
		applied any
	}{{"applied", now.Add(2 * time.Second)}, {"failed", nil}} {
		_, err := e.pool.Exec(context.Background(), `INSERT INTO action (tenant_id, user_id, account_id, kind, connection, object, source_object, op, target, input, state, created_at, updated_at, applied_at)
			VALUES (1, '1', $1, 'case.create', 'salesforce', 'case', 'Case', 'create', 'pending:x', '{}', $2, $3, $3, $4)`,
			apitest.Alpha, a.state, now, a.applied)
		require.NoError(e.t, err)
	}
	return now.Format(time.DateOnly)
}

// The console's report pages: staff only (anyone else meets the 404
// page), the figures as a table and an SVG chart with its title and
// description, a CSV link, and a bad period refused beside its field.
func TestConsoleReports(t *testing.T) {
	t.Parallel()
	e := setup(t)
	today := e.seedActions()

	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	require.Equal(t, http.StatusNotFound, customer.get("/console/reports/writeback").code)
	require.NotContains(t, customer.get("/").body, `href="/console/reports"`, "no console in a customer's menu")
	require.Equal(t, http.StatusSeeOther, e.browser().get("/console/reports/writeback").code, "signed out: to the sign-in page")

	e.staff("ops@operator.test")
	staff := e.browser()
	staff.get("/sign-in")
	res := staff.post("/sign-in", url.Values{"email": {"ops@operator.test"}, "password": {password}})
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	res = staff.get("/console/reports")
	require.Equal(t, http.StatusSeeOther, res.code)
	require.Equal(t, "/console/reports/activation", res.location())

	res = staff.get("/console/reports/writeback")
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Contains(t, res.body, `<th scope="row">`+today+`</th><td>`+apitest.Alpha+`</td><td>2</td><td>1</td><td>0</td><td>1</td><td>2</td><td>2</td>`)
	require.Contains(t, res.body, `<svg role="img" aria-labelledby="chart-title chart-desc"`)
	require.Contains(t, res.body, `<desc id="chart-desc">Applied: 1; Conflict: 0; Failed: 1</desc>`)
	require.Contains(t, res.body, `href="/admin/reports/writeback?format=csv&amp;from=`)
	require.Contains(t, res.body, `href="/console/reports"`, "the console in staff's menu")

	// The CSV link answers the same figures to the same session.
	csvLink := strings.ReplaceAll(between(res.body, `<a href="/admin/reports/writeback?`, `"`), "&amp;", "&")
	csv := staff.get("/admin/reports/writeback?" + csvLink)
	require.Equal(t, http.StatusOK, csv.code, csv.body)
	require.Contains(t, csv.body, today+","+apitest.Alpha+",2,1,0,1,2,2\n")

	res = staff.get("/console/reports/writeback?from=2026-02-30&until=&account=")
	require.Equal(t, http.StatusBadRequest, res.code)
	require.Contains(t, res.body, `id="f-from-error"`)
	require.NotContains(t, res.body, `id="f-until-error"`)
	require.Equal(t, http.StatusNotFound, staff.get("/console/reports/revenue").code)

	staff.lang = "de"
	res = staff.get("/console/reports/writeback?account=" + apitest.Alpha)
	require.Equal(t, http.StatusOK, res.code)
	require.Contains(t, res.body, "Zustand der Rückschreibung")
	require.Contains(t, res.body, `<th scope="col">Übernommen</th>`)
}

func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	out, _, _ := strings.Cut(rest, end)
	return out
}

// The report pages in a browser, with and without JavaScript: axe finds
// nothing on them, and the period form works.
func TestBrowserConsoleReports(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.seedActions()
	base := e.srv.URL
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			email := []string{"ops-js@operator.test", "ops-nojs@operator.test"}[i]
			e.staff(email)
			p := webtest.New(t, mode.opts...)
			signInTo(t, p, base, "/console/reports/writeback", email)
			p.WaitText("#main h2", "Write-back health")
			require.True(t, p.Exists("figure.chart svg title#chart-title"))
			check(t, p, "console-writeback", 0)

			p.Fill("#f-from", "2020-01-01")
			p.Fill("#f-until", "2026-01-01")
			send(t, p, `form[action="/console/reports/writeback"]`, "#f-from-error", "at most 366 days")
			check(t, p, "console-writeback-invalid", http.StatusBadRequest)

			if p.JavaScript() {
				p.Click(`a[href="/console/reports/self_service"]`)
			} else {
				require.Equal(t, http.StatusOK, p.ClickNavigate(`a[href="/console/reports/self_service"]`))
			}
			p.WaitText("#main h2", "Self-service")
			check(t, p, "console-self-service", 0)
		})
	}
}

// stateOf is an action's state.
func (e *env) stateOf(id string) string {
	e.t.Helper()
	st, _ := e.actionState(e.t, id)
	return st
}

// seedAction stores one of Alpha's actions in state, and returns its id.
func (e *env) seedAction(state string) string {
	e.t.Helper()
	var id int64
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `INSERT INTO action (tenant_id, user_id, account_id, kind, connection, object, source_object, op, target, input, state, error_detail)
		VALUES (1, '1', $1, 'add_case_comment', 'salesforce', 'case_comment', 'CaseComment', 'create', 'pending:x', '{"body":"hi"}', $2, 'source said no') RETURNING id`,
		apitest.Alpha, state).Scan(&id))
	return strconv.FormatInt(id, 10)
}

// The console's actions: failed and conflicting ones listed for staff,
// retried, discarded and resolved through the write-back's staff service
// with the session's CSRF token, audited as the staff member; customers
// meet the 404 page and change nothing.
func TestConsoleActions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	failed, conflict, other := e.seedAction("failed"), e.seedAction("conflict"), e.seedAction("failed")

	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	customer.get("/profile") // a page with a form: its CSRF token
	require.Equal(t, http.StatusNotFound, customer.get("/console/actions").code)
	require.Equal(t, http.StatusNotFound, customer.post("/console/actions/"+failed+"/discard", nil).code)
	require.Equal(t, "failed", e.stateOf(failed))

	e.staff("ops@operator.test")
	staff := e.browser()
	staff.get("/sign-in")
	require.Equal(t, http.StatusSeeOther, staff.post("/sign-in", url.Values{"email": {"ops@operator.test"}, "password": {password}}).code)
	res := staff.get("/console/actions")
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Contains(t, res.body, `id="action-`+failed+`"`)
	require.Contains(t, res.body, "source said no", "the error, for staff")
	require.Contains(t, res.body, `action="/console/actions/`+conflict+`/keep_theirs"`)
	require.NotContains(t, res.body, `action="/console/actions/`+conflict+`/retry"`)

	res = staff.post("/console/actions/"+failed+"/discard", nil)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/console/actions?done=discard", res.location())
	require.Equal(t, "rejected", e.stateOf(failed))
	require.Contains(t, staff.get(res.location()).body, "The action was discarded.")
	var actor, kind string
	require.NoError(t, e.pool.QueryRow(context.Background(),
		`SELECT actor, actor_kind FROM audit_event WHERE action = 'admin.action.discard' AND object_id = $1`, failed).Scan(&actor, &kind))
	require.Equal(t, "staff", kind)
	require.Contains(t, actor, e.userID(t, "ops@operator.test"))

	res = staff.post("/console/actions/"+failed+"/retry", nil)
	require.Equal(t, http.StatusConflict, res.code, "a rejected action is not retried")
	require.Contains(t, res.body, "This action has changed in the meantime")
	require.Equal(t, http.StatusNotFound, staff.post("/console/actions/999999/retry", nil).code)
	require.Equal(t, http.StatusNotFound, staff.post("/console/actions/"+other+"/explode", nil).code)

	require.Equal(t, http.StatusSeeOther, staff.post("/console/actions/"+conflict+"/keep_theirs", nil).code)
	require.Equal(t, "rejected", e.stateOf(conflict))
	require.Equal(t, http.StatusSeeOther, staff.post("/console/actions/"+other+"/retry", nil).code)
	require.Equal(t, "pending", e.stateOf(other))
	require.Contains(t, staff.get("/console/actions").body, "No action needs attention.")
}

// The actions page in a browser, with and without JavaScript: axe finds
// nothing, and a discard works.
func TestBrowserConsoleActions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	base := e.srv.URL
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			id := e.seedAction("failed")
			email := []string{"ops-js@operator.test", "ops-nojs@operator.test"}[i]
			e.staff(email)
			p := webtest.New(t, mode.opts...)
			signInTo(t, p, base, "/console/actions", email)
			p.WaitText("#main h1", "Actions needing attention")
			check(t, p, "console-actions", 0)
			send(t, p, `form[action="/console/actions/`+id+`/discard"]`, "#main .notice", "The action was discarded.")
			require.Equal(t, "rejected", e.stateOf(id))
			check(t, p, "console-actions-discarded", 0)
		})
	}
}

// fixedSync is a sync status with one connection whose breaker is open
// and one object that keeps failing.
func fixedSync(context.Context) ([]syncer.ConnectionStatus, error) {
	last := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	lag := 754.0
	return []syncer.ConnectionStatus{{Connection: "salesforce", Breaker: "open", Quota: syncer.QuotaStatus{Minute: -1, Day: 4200},
		Objects: []syncer.ObjectStatus{{Object: "Case", LastSuccessAt: &last, LagSeconds: &lag, Records: 12, WithoutOwner: 3,
			LastError: "source unavailable: 503", FailingSince: &last,
			Runs: []syncer.RunInfo{{Kind: "incremental", State: "failed", StartedAt: last}}}}}}, nil
}

// The console's sync health: each connection's breaker and quota, and
// each object's last success, lag, records, records without owner, last
// run and error, as the syncer reports them; staff only.
func TestConsoleSync(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.syncStatus = fixedSync })
	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	require.Equal(t, http.StatusNotFound, customer.get("/console/sync").code)

	e.staff("ops@operator.test")
	staff := e.browser()
	staff.get("/sign-in")
	require.Equal(t, http.StatusSeeOther, staff.post("/sign-in", url.Values{"email": {"ops@operator.test"}, "password": {password}}).code)
	res := staff.get("/console/sync")
	require.Equal(t, http.StatusOK, res.code, res.body)
	for _, want := range []string{
		`<h2 id="conn-0">salesforce</h2>`, "<strong>Open (calls held back)</strong>", "no known limit this minute, 4200 today",
		`<th scope="row">Case</th><td>Mar 2, 2026, 09:30 UTC</td><td>12m34s</td><td>12</td><td>3</td><td>incremental, failed, Mar 2, 2026, 09:30 UTC</td><td><strong>source unavailable: 503</strong></td>`,
	} {
		require.Contains(t, res.body, want)
	}
	staff.lang = "de"
	require.Contains(t, staff.get("/console/sync").body, "Offen (Aufrufe zurückgehalten)")
}

// The sync page in a browser: axe finds nothing.
func TestBrowserConsoleSync(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.syncStatus = fixedSync })
	e.staff("ops@operator.test")
	p := webtest.New(t)
	signInTo(t, p, e.srv.URL, "/console/sync", "ops@operator.test")
	p.WaitText("#main h1", "Sync health")
	check(t, p, "console-sync", 0)
}

// The console's audit search: the listing's filters as a form, the
// events as a table, a bad filter refused beside its field; staff only.
func TestConsoleAudit(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := e.seedAction("failed")
	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	require.Equal(t, http.StatusNotFound, customer.get("/console/audit").code)

	e.staff("ops@operator.test")
	staff := e.browser()
	staff.get("/sign-in")
	require.Equal(t, http.StatusSeeOther, staff.post("/sign-in", url.Values{"email": {"ops@operator.test"}, "password": {password}}).code)
	staff.get("/console/actions")
	require.Equal(t, http.StatusSeeOther, staff.post("/console/actions/"+id+"/discard", nil).code)

	res := staff.get("/console/audit?action=admin.action.*&actor=&account=&object=&object_id=")
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Contains(t, res.body, "<td>admin.action.discard</td>")
	require.Contains(t, res.body, "<td>action "+id+"</td>")
	require.Contains(t, res.body, "<td>staff:"+e.userID(t, "ops@operator.test")+"</td>")
	require.Contains(t, res.body, `value="admin.action.*"`, "the search stays in the form")
	res = staff.get("/console/audit?action=admin.action.retry")
	require.Equal(t, http.StatusOK, res.code)
	require.Contains(t, res.body, "No event matches.")

	res = staff.get("/console/audit?action=not+an+action")
	require.Equal(t, http.StatusBadRequest, res.code)
	require.Contains(t, res.body, `id="f-action-error"`)
	require.Contains(t, res.body, "Enter an action such as case.create")
}

// The audit page in a browser: axe finds nothing.
func TestBrowserConsoleAudit(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.staff("ops@operator.test")
	p := webtest.New(t)
	signInTo(t, p, e.srv.URL, "/console/audit", "ops@operator.test")
	p.WaitText("#main h1", "Audit trail")
	check(t, p, "console-audit", 0)
	p.Fill("#f-action", "not an action")
	send(t, p, `form[action="/console/audit"]`, "#f-action-error", "Enter an action")
	check(t, p, "console-audit-invalid", http.StatusBadRequest)
}

func acmeBrand(o *options) {
	b := brand.Default()
	b.Name, b.SupportEmail = "Acme portal", "help@acme.test"
	o.brand = brand.NewCurrent(brand.NewSite(b, nil))
}

// The console's branding page shows the brand served now, where each
// field is set, and the form that changes it; staff only.
func TestConsoleBrand(t *testing.T) {
	t.Parallel()
	e := setup(t, acmeBrand)
	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	require.Equal(t, http.StatusNotFound, customer.get("/console/brand").code)

	e.staff("ops@operator.test")
	staff := e.browser()
	staff.get("/sign-in")
	require.Equal(t, http.StatusSeeOther, staff.post("/sign-in", url.Values{"email": {"ops@operator.test"}, "password": {password}}).code)
	res := staff.get("/console/brand")
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Contains(t, res.body, `<th scope="row">Portal name</th><td>Acme portal</td><td><code>brand.name</code></td><td><code>portico brand set --name</code></td>`)
	require.Contains(t, res.body, `<td>help@acme.test</td><td><code>brand.support_email</code></td><td><code>portico brand set --support-email</code></td>`)
	require.Contains(t, res.body, `fill="#1d4ed8"`)
	require.Contains(t, res.body, `<form method="post" action="/console/brand"`, "the form that changes it")
}

// The branding page in a browser: axe finds nothing.
func TestBrowserConsoleBrand(t *testing.T) {
	t.Parallel()
	e := setup(t, acmeBrand)
	e.staff("ops@operator.test")
	p := webtest.New(t, webtest.WithLanguage("de"))
	signInTo(t, p, e.srv.URL, "/console/brand", "ops@operator.test")
	p.WaitText("#main h1", "Erscheinungsbild")
	check(t, p, "console-brand-de", 0)
}

// The console's users and accounts: every user with account, roles,
// status and last sign-in, the accounts with their counts, narrowed to
// one account by the form; staff only.
func TestConsoleUsers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	e.user("bob@beta.test", apitest.Beta, auth.RoleMember)
	require.Equal(t, http.StatusNotFound, customer.get("/console/users").code)

	e.staff("ops@operator.test")
	staff := e.browser()
	staff.get("/sign-in")
	require.Equal(t, http.StatusSeeOther, staff.post("/sign-in", url.Values{"email": {"ops@operator.test"}, "password": {password}}).code)
	res := staff.get("/console/users")
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Contains(t, res.body, `">ada@alpha.test</a></th><td>`+apitest.Alpha+`</td><td>account_admin</td><td>Active</td><td>`)
	require.Contains(t, res.body, `">bob@beta.test</a></th><td>`+apitest.Beta+`</td><td>member</td><td>Active</td><td>Never</td>`)
	require.Contains(t, res.body, `">ops@operator.test</a></th><td>Staff</td><td>operator_admin</td>`)
	require.Contains(t, res.body, `<a href="/console/users?account=`+apitest.Beta+`">`+apitest.Beta+`</a></th><td>1</td><td>1</td>`)

	res = staff.get("/console/users?account=" + apitest.Beta)
	require.Equal(t, http.StatusOK, res.code)
	require.Contains(t, res.body, "bob@beta.test")
	require.NotContains(t, res.body, "ada@alpha.test")
}

// The users page in a browser: axe finds nothing.
func TestBrowserConsoleUsers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("bob@beta.test", apitest.Beta, auth.RoleMember)
	e.staff("ops@operator.test")
	p := webtest.New(t)
	signInTo(t, p, e.srv.URL, "/console/users", "ops@operator.test")
	p.WaitText("#main h1", "Users and accounts")
	check(t, p, "console-users", 0)
}

// The console's erasure: staff only; without the confirmation, with a
// bad field or an unknown email nothing is erased and the form says why
// beside the field; confirmed, the person is erased through the privacy
// service and the page shows what it did.
func TestConsoleErasure(t *testing.T) {
	t.Parallel()
	e := setup(t)
	customer := e.signedIn("ada@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	e.user("bob@beta.test", apitest.Beta, auth.RoleMember)
	customer.get("/profile")
	require.Equal(t, http.StatusNotFound, customer.get("/console/privacy").code)
	erase := url.Values{"email": {"bob@beta.test"}, "reason": {"Letter of 2026-12-01"}, "confirm": {"yes"}}
	require.Equal(t, http.StatusNotFound, customer.post("/console/privacy/erasures", erase).code)
	users := func(email string) int {
		var n int
		require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_user WHERE email = $1`, email).Scan(&n))
		return n
	}
	require.Equal(t, 1, users("bob@beta.test"))

	e.staff("ops@operator.test")
	staff := e.browser()
	staff.get("/sign-in")
	require.Equal(t, http.StatusSeeOther, staff.post("/sign-in", url.Values{"email": {"ops@operator.test"}, "password": {password}}).code)
	res := staff.get("/console/privacy")
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Contains(t, res.body, `action="/console/privacy/erasures"`)
	require.Contains(t, res.body, "Nothing is left to do at the sources.")

	for _, bad := range []struct {
		form  url.Values
		field string
		says  string
	}{
		{url.Values{"email": {"bob@beta.test"}, "reason": {"Letter"}}, "confirm", "Confirm the erasure"},
		{url.Values{"email": {"bob"}, "reason": {"Letter"}, "confirm": {"yes"}}, "email", "Enter the person&#39;s email address."},
		{url.Values{"email": {"bob@beta.test"}, "reason": {" "}, "confirm": {"yes"}}, "reason", "Say why the person is erased"},
		{url.Values{"email": {"nobody@beta.test"}, "reason": {"Letter"}, "confirm": {"yes"}}, "email", "Nobody in the portal has this email."},
	} {
		res := staff.post("/console/privacy/erasures", bad.form)
		require.Equal(t, http.StatusUnprocessableEntity, res.code, res.body)
		require.Contains(t, res.body, bad.says)
		require.Contains(t, res.body, `id="f-`+bad.field+`" name="`+bad.field+`" aria-invalid="true"`, bad.field)
		require.Equal(t, 1, users("bob@beta.test"), "nothing erased")
	}

	erase.Del("csrf_token") // the customer's, set by the refused post above
	res = staff.post("/console/privacy/erasures", erase)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	res = staff.get(res.location())
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Contains(t, res.body, "The person was erased.")
	require.Contains(t, res.body, "erased-")
	require.Zero(t, users("bob@beta.test"))
	var by string
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT requested_by FROM privacy_erasure ORDER BY id DESC LIMIT 1`).Scan(&by))
	require.Contains(t, by, e.userID(t, "ops@operator.test"), "the staff member who erased")
}

// The erasure page in a browser, with and without JavaScript: axe finds
// nothing on the form, on a refusal and on the report.
func TestBrowserConsoleErasure(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			staffEmail := []string{"ops-js@operator.test", "ops-nojs@operator.test"}[i]
			person := []string{"bob-js@beta.test", "bob-nojs@beta.test"}[i]
			e.staff(staffEmail)
			e.user(person, apitest.Beta, auth.RoleMember)
			p := webtest.New(t, mode.opts...)
			signInTo(t, p, e.srv.URL, "/console/privacy", staffEmail)
			p.WaitText("#main h1", "Personal data")
			check(t, p, "console-privacy", 0)
			p.Fill("#f-email", person)
			p.Fill("#f-reason", "Letter of 2026-12-01")
			send(t, p, `form[action="/console/privacy/erasures"]`, "#f-confirm-error", "Confirm the erasure")
			check(t, p, "console-privacy-refused", http.StatusUnprocessableEntity)
			p.Click("#f-confirm")
			send(t, p, `form[action="/console/privacy/erasures"]`, "#main .notice", "The person was erased.")
			check(t, p, "console-privacy-erased", 0)
		})
	}
}
