package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
)

// noForeign fails when any value of the accounts other than mine appears
// in a page: their record ids, and the subjects and numbers that embed
// them. An id counts where it stands as a word of its own; the page's
// random values (form tokens, asset hashes) are taken out first, so that
// a token that happens to hold an id's letters is no leak.
func (e *env) noForeign(t *testing.T, body string, mine ...string) {
	t.Helper()
	body = randomValues.ReplaceAllString(body, "")
	for account, objects := range e.fx.IDs {
		if contains(mine, account) {
			continue
		}
		for object, ids := range objects {
			for _, id := range ids {
				word := regexp.MustCompile(`(^|[^A-Za-z0-9])` + regexp.QuoteMeta(id) + `($|[^A-Za-z0-9])`)
				require.False(t, word.MatchString(body), "%s %s of account %s leaked in\n%s", object, id, account, body)
			}
		}
	}
}

// randomValues are a page's CSRF tokens and content-hashed asset paths.
var randomValues = regexp.MustCompile(`name="csrf_token" value="[^"]*"|/static/[0-9a-f]+/`)

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// blockIDs are the hub's blocks in a page.
var blockRE = regexp.MustCompile(`<section class="block" id="([a-z]+)"`)

func blocks(body string) []string {
	var out []string
	for _, m := range blockRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestHubBlocksFollowRoles(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, tc := range roleBlocks {
		email := tc.role + "@alpha.test"
		e.user(email, apitest.Alpha, tc.role)
		b := e.browser()
		b.signIn(email)
		res := b.get("/")
		require.Equal(t, http.StatusOK, res.code)
		require.Equal(t, tc.blocks, blocks(res.body), tc.role)
		e.noForeign(t, res.body, apitest.Alpha)
	}
	// Staff see every object's block, and no block of changes: they make
	// none through the portal.
	_, err := auth.CreateUser(context.Background(), e.pool, auth.NewUser{Email: "staff@operator.test", Password: password,
		Roles: []string{auth.RoleOperatorAdmin}, Staff: true, HashParams: fastHash})
	require.NoError(t, err)
	b := e.browser()
	b.signIn("staff@operator.test")
	require.Equal(t, []string{"cases", "orders", "invoices", "approvals"}, blocks(b.get("/").body))
}

func TestHubShowsWhatIsOpenWithNextStepAndFreshness(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("admin@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	res := b.get("/")
	// Open cases with status and next step; the closed one is not here.
	require.Contains(t, res.body, "Printer on fire 500A00000000000")
	require.Contains(t, res.body, "Printer on fire 500A00000000001")
	require.NotContains(t, res.body, "Printer on fire 500A00000000002")
	require.Contains(t, res.body, "We have your request and will review it shortly.")
	require.Contains(t, res.body, `<span class="status status-in_progress">In progress</span>`)
	// The open order, the invoice with a balance, the quote awaiting a decision.
	require.Contains(t, res.body, "Order ORDA1")
	require.NotContains(t, res.body, "Order ORDA2")
	require.Contains(t, res.body, "Invoice INV-9A1")
	require.Contains(t, res.body, "40.00 USD due on Mar 1, 2026")
	require.NotContains(t, res.body, "Invoice INV-9A2", "paid")
	require.Contains(t, res.body, "Quote 0Q0A00000000001")
	require.NotContains(t, res.body, "Quote 0Q0A00000000002", "accepted already")
	require.Regexp(t, `<p class="fresh">Updated \d+ (seconds?|minutes?) ago</p>`, res.body)
	require.Contains(t, res.body, "All your changes went through.")
	e.noForeign(t, res.body, apitest.Alpha)

	// A source that fails is named, with since when.
	_, err := e.pool.Exec(context.Background(), `INSERT INTO sync_cursor (tenant_id, connection, object, synced_through, failing_since)
		VALUES (1, 'salesforce', 'Case', now() - interval '1 hour', now() - interval '5 minutes')`)
	require.NoError(t, err)
	res = b.get("/")
	require.Regexp(t, `<p class="fresh down">Salesforce is unavailable since \d\d:\d\d UTC\. You are seeing the last known data\.</p>`, res.body)

	b.lang = "de"
	res = b.get("/")
	require.Contains(t, res.body, "Salesforce ist seit ")
	require.Contains(t, res.body, "40,00 USD fällig am 01.03.2026")
}

// setupMarkAndBea is the portal with Mark (a member of Alpha) and Bea (a
// member of Beta) signed in.
func setupMarkAndBea(t *testing.T) (e *env, mark, bea *browser) {
	t.Helper()
	e = setup(t)
	e.user("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	e.user("bea@beta.test", apitest.Beta, auth.RoleMember)
	mark, bea = e.browser(), e.browser()
	mark.signIn("mark@alpha.test")
	bea.signIn("bea@beta.test")
	return e, mark, bea
}

func TestHubListsMyChangesThatFailed(t *testing.T) {
	t.Parallel()
	e, mark, bea := setupMarkAndBea(t)
	alphaCase, betaCase := e.fx.IDs[apitest.Alpha]["case"][0], e.fx.IDs[apitest.Beta]["case"][0]
	mark.get("/cases/" + alphaCase)
	require.Equal(t, http.StatusSeeOther, mark.post("/cases/"+alphaCase+"/comments", url.Values{"body": {"mine"}}).code)
	bea.get("/cases/" + betaCase)
	require.Equal(t, http.StatusSeeOther, bea.post("/cases/"+betaCase+"/comments", url.Values{"body": {"secret beta comment"}}).code)
	_, err := e.pool.Exec(context.Background(), `UPDATE action SET state = 'failed', message = 'The case is locked by support.'`)
	require.NoError(t, err)

	res := mark.get("/")
	require.Contains(t, res.body, "Comment on a case")
	require.Contains(t, res.body, "Not applied")
	require.Contains(t, res.body, "The case is locked by support.")
	require.Equal(t, 1, strings.Count(res.body, "Comment on a case"), "Bea's failed change is hers alone")
	e.noForeign(t, res.body, apitest.Alpha)
}

func TestCaseList(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)

	open := b.get("/cases")
	require.Equal(t, http.StatusOK, open.code)
	require.Contains(t, open.body, `href="/cases/500A00000000000"`)
	require.Contains(t, open.body, `href="/cases/500A00000000001"`)
	require.NotContains(t, open.body, `href="/cases/500A00000000002"`, "closed")
	require.Contains(t, open.body, `aria-current="page"`)
	e.noForeign(t, open.body, apitest.Alpha)

	closed := b.get("/cases?state=closed")
	require.Contains(t, closed.body, `href="/cases/500A00000000002"`)
	require.NotContains(t, closed.body, `href="/cases/500A00000000000"`)

	byStatus := b.get("/cases?state=all&status=in_progress")
	require.Contains(t, byStatus.body, `href="/cases/500A00000000001"`)
	require.NotContains(t, byStatus.body, `href="/cases/500A00000000000"`)
	require.Contains(t, byStatus.body, `<option value="in_progress" selected>In progress</option>`)

	found := b.get("/cases?state=all&q=" + url.QueryEscape("fire 500a00000000001"))
	require.Contains(t, found.body, `href="/cases/500A00000000001"`)
	require.NotContains(t, found.body, `href="/cases/500A00000000000"`)
	// Searching for another account's subject finds nothing of it.
	foreign := b.get("/cases?state=all&q=" + url.QueryEscape("500B00000000001"))
	require.Contains(t, foreign.body, "No cases match.")
	// The search box shows what was typed; nothing else may name it.
	echo := strings.NewReplacer(`value="500B00000000001"`, "", `q=500B00000000001`, "")
	e.noForeign(t, echo.Replace(foreign.body), apitest.Alpha)
	// A wildcard is a character, not a pattern.
	require.Contains(t, b.get("/cases?state=all&q=%25").body, "No cases match.")

	bad := b.get("/cases?status=exploded")
	require.Equal(t, http.StatusUnprocessableEntity, bad.code)
	require.Contains(t, bad.body, `name="status" aria-invalid="true"`)
	require.Contains(t, bad.body, `<p class="field-error" id="f-status-error">Please choose one of the options.</p>`)
}

func TestCaseDetailTimelineCommentAndClose(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	id := e.fx.IDs[apitest.Alpha]["case"][0]

	res := b.get("/cases/" + id)
	require.Equal(t, http.StatusOK, res.code)
	require.Contains(t, res.body, "<h1>Printer on fire "+id+"</h1>")
	require.Contains(t, res.body, "We are on it", "the published comment")
	require.NotContains(t, res.body, "Internal note", "support's internal note")
	require.Contains(t, res.body, "Case opened")
	require.Contains(t, res.body, "We have your request and will review it shortly.")
	e.noForeign(t, res.body, apitest.Alpha)

	// An empty comment comes back with the error beside the field.
	bad := b.post("/cases/"+id+"/comments", url.Values{"body": {""}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code, bad.body)
	require.Contains(t, bad.body, `aria-describedby="f-body-error"`)
	require.Contains(t, bad.body, `id="f-body-error"`)
	require.Contains(t, bad.body, "This field is required.", "in the page's words")
	require.NotContains(t, bad.body, "body must not be empty", "not the mapping's, which names an internal field")

	key := regexp.MustCompile(`name="idempotency_key" value="(web-[^"]+)"`).FindStringSubmatch(res.body)[1]
	form := url.Values{"body": {"Here are the logs"}, "idempotency_key": {key}}
	sent := b.post("/cases/"+id+"/comments", form)
	require.Equal(t, http.StatusSeeOther, sent.code, sent.body)
	require.Equal(t, "/cases/"+id+"?sent=comment", sent.location())
	require.Contains(t, b.get(sent.location()).body, "Your comment is being sent.")
	// The same form sent twice is one comment.
	require.Equal(t, http.StatusSeeOther, b.post("/cases/"+id+"/comments", form).code)
	require.Equal(t, 1, e.actions(t, "add_case_comment"))

	closed := b.post("/cases/"+id+"/close", url.Values{"idempotency_key": {key + "-close"}})
	require.Equal(t, http.StatusSeeOther, closed.code, closed.body)
	res = b.get(closed.location())
	require.Contains(t, res.body, "Your request to close the case is being sent.")
	require.Contains(t, res.body, `<p class="pending">Your change is being sent.</p>`)
	require.Equal(t, 1, e.actions(t, "close_case"))
}

// actions counts the actions of a kind.
func (e *env) actions(t *testing.T, kind string) int {
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM action WHERE kind = $1`, kind).Scan(&n))
	return n
}

func TestForeignCaseIsTheSame404AsAMissingOne(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	e.user("bill@alpha.test", apitest.Alpha, auth.RoleBilling)
	b := e.browser()
	b.signIn("mark@alpha.test")
	foreignID := e.fx.IDs[apitest.Beta]["case"][0]
	missing := b.get("/cases/500A99999999999")
	require.Equal(t, http.StatusNotFound, missing.code)
	require.Contains(t, missing.body, "Page not found")
	for _, path := range []string{"/cases/" + foreignID, "/cases/" + e.fx.IDs[apitest.Parent]["case"][0]} {
		foreign := b.get(path)
		require.Equal(t, http.StatusNotFound, foreign.code)
		require.Equal(t, missing.body, foreign.body, "a foreign case's page must not differ from a missing one's")
		require.NotContains(t, foreign.body, foreignID)
	}
	// Writes to a foreign case are the same 404 and change nothing.
	for _, path := range []string{"/cases/" + foreignID + "/comments", "/cases/" + foreignID + "/close"} {
		res := b.post(path, url.Values{"body": {"hello"}})
		require.Equal(t, http.StatusNotFound, res.code)
		require.Equal(t, missing.body, res.body)
	}
	require.Equal(t, 0, e.actions(t, "add_case_comment")+e.actions(t, "close_case"))

	// A role that does not reach cases sees the same page for its own.
	bill := e.browser()
	bill.signIn("bill@alpha.test")
	res := bill.get("/cases/" + e.fx.IDs[apitest.Alpha]["case"][0])
	require.Equal(t, http.StatusNotFound, res.code)
	require.Contains(t, res.body, "Page not found")
}

func TestUnknownPathIsThePortals404ForBrowsersOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	res := e.browser().get("/no/such/page")
	require.Equal(t, http.StatusNotFound, res.code)
	require.Contains(t, res.body, "Page not found")
	require.Equal(t, "text/html; charset=utf-8", res.header.Get("Content-Type"))
	checkPageHeaders(t, res)

	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/no/such/page", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/json")
	jres, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	jres.Body.Close()
	require.Equal(t, http.StatusNotFound, jres.StatusCode)
	require.Equal(t, "application/json", jres.Header.Get("Content-Type"), "scripts keep the API's error shape")
}

// checkPageHeaders holds a page to the strict policy and the server's
// security headers.
func checkPageHeaders(t *testing.T, p page) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	require.Contains(t, csp, "script-src 'self'")
	require.Contains(t, csp, "style-src 'self'")
	require.Contains(t, csp, "frame-ancestors 'none'")
	require.NotContains(t, csp, "unsafe-inline")
	require.NotContains(t, csp, "unsafe-eval")
	require.Equal(t, "nosniff", p.header.Get("X-Content-Type-Options"))
	require.Equal(t, "DENY", p.header.Get("X-Frame-Options"))
	require.Equal(t, "no-referrer", p.header.Get("Referrer-Policy"))
	require.Equal(t, "no-store", p.header.Get("Cache-Control"))
	// Nothing inline that the policy would block.
	require.NotRegexp(t, `<script(?: [^>]*)?>[^<]`, p.body, "inline script")
	require.Equal(t, strings.Count(p.body, "<script"), strings.Count(p.body, "<script src="), "script without src")
	require.NotContains(t, p.body, " style=")
	require.NotContains(t, p.body, "<style")
	require.NotRegexp(t, ` on[a-z]+=`, p.body, "inline event handler")
}

func TestEveryPageHasTheStrictPolicyAndLandmarks(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("admin@alpha.test", apitest.Alpha, auth.RoleAccountAdmin)
	anon := e.browser()
	for _, path := range []string{"/sign-in", "/reset-password", "/activate?token=x"} {
		res := anon.get(path)
		require.Equal(t, http.StatusOK, res.code, path)
		checkPageHeaders(t, res)
		checkLandmarks(t, res.body)
	}
	b := e.browser()
	b.signIn("admin@alpha.test")
	for _, path := range []string{"/", "/cases", "/cases/" + e.fx.IDs[apitest.Alpha]["case"][0], "/cases/nope"} {
		res := b.get(path)
		checkPageHeaders(t, res)
		checkLandmarks(t, res.body)
		checkIcon(t, b, res.body)
	}
}

// checkIcon: a page names its icon, which is served; without one the
// browser asks for /favicon.ico, whose 404 is an error in its console
// (Lighthouse's Best Practices counts it).
func checkIcon(t *testing.T, b *browser, body string) {
	t.Helper()
	m := regexp.MustCompile(`<link rel="icon" href="(/static/[^"]+)" type="image/svg\+xml">`).FindStringSubmatch(body)
	require.NotNil(t, m, "the page names its icon")
	res := b.get(m[1])
	require.Equal(t, http.StatusOK, res.code)
	require.Equal(t, "image/svg+xml", res.header.Get("Content-Type"))
	require.Contains(t, res.body, "<svg")
}

// checkLandmarks checks what every page needs to be usable without sight
// or pointer: a language, a skip link to main, one h1, labelled inputs,
// and the live region htmx swaps are announced in.
func checkLandmarks(t *testing.T, body string) {
	t.Helper()
	require.Regexp(t, `<html lang="(en|de)">`, body)
	require.Contains(t, body, `<a class="skip-link" href="#main">`)
	require.Contains(t, body, `<main id="main" tabindex="-1">`)
	require.Contains(t, body, `aria-live="polite"`)
	require.Equal(t, 1, strings.Count(body, "<h1"), "one h1")
	for _, m := range regexp.MustCompile(`<(?:input|select|textarea)[^>]*\bid="([^"]+)"`).FindAllStringSubmatch(body, -1) {
		require.Contains(t, body, `<label for="`+m[1]+`"`, "input %s has a label", m[1])
	}
}

func TestLanguageFromChoiceThenBrowser(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.browser()
	b.lang = "de-CH,de;q=0.9,en;q=0.5"
	res := b.get("/sign-in")
	require.Contains(t, res.body, `<html lang="de">`)
	require.Contains(t, res.body, "<h1>Anmelden</h1>")

	// The visitor's choice beats the browser's.
	chose := b.post("/language", url.Values{"lang": {"en"}, "next": {"/sign-in"}})
	require.Equal(t, http.StatusSeeOther, chose.code)
	require.Equal(t, "/sign-in", chose.location())
	require.Contains(t, b.get("/sign-in").body, "<h1>Sign in</h1>")

	b.lang = "fr"
	require.Equal(t, http.StatusUnprocessableEntity, b.post("/language", url.Values{"lang": {"fr"}}).code)
	require.Contains(t, e.browser().get("/sign-in").body, `<html lang="en">`, "an unknown language falls back to English")
}

func TestFreshnessWordsInTime(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.user("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	_, err := e.pool.Exec(context.Background(), `UPDATE record SET synced_at = now() - interval '3 hours' WHERE object = 'case'`)
	require.NoError(t, err)
	b := e.browser()
	b.signIn("mark@alpha.test")
	res := b.get("/cases/" + e.fx.IDs[apitest.Alpha]["case"][0])
	// Past its freshness target (60s) the value says it is being updated.
	require.Contains(t, res.body, "Updating… (last updated 3 hours ago)")
	b.lang = "de"
	require.Contains(t, b.get("/cases").body, "Wird aktualisiert … (zuletzt aktualisiert vor 3 Stunden)")
	_ = time.Second
}

func TestNewCaseFormFromTheIntakeSchema(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	require.Contains(t, b.get("/cases").body, `href="/cases/new"`)
	form := b.get("/cases/new")
	require.Equal(t, http.StatusOK, form.code)
	// The schema's rules are the browser's: required, lengths, choices.
	require.Contains(t, form.body, `<input type="text" value="" required minlength="1" maxlength="255" id="f-subject" name="subject">`)
	require.Contains(t, form.body, `<textarea rows="6" maxlength="32000" id="f-description" name="description">`)
	require.Contains(t, form.body, `<option value="medium" selected>Medium</option>`, "the schema's default")
	require.Contains(t, form.body, `<label for="f-priority">Priority</label>`)
	require.Less(t, strings.Index(form.body, `id="f-subject"`), strings.Index(form.body, `id="f-description"`), "required fields first")
	checkPageHeaders(t, form)
	checkLandmarks(t, form.body)

	// What the mapping refuses comes back beside its field, the rest kept.
	long := strings.Repeat("x", 41)
	bad := b.post("/cases", url.Values{"subject": {""}, "type": {long}, "description": {"It smokes"}, "priority": {"high"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code, bad.body)
	require.Contains(t, bad.body, `aria-invalid="true" aria-describedby="f-subject-error"`)
	require.Contains(t, bad.body, `id="f-subject-error"`)
	require.Contains(t, bad.body, `id="f-type-error"`)
	require.Contains(t, bad.body, ">It smokes</textarea>")
	require.Contains(t, bad.body, `<option value="high" selected>High</option>`)
	require.Zero(t, e.actions(t, "create_case"), "bad input changes nothing")

	key := regexp.MustCompile(`name="idempotency_key" value="(web-[^"]+)"`).FindStringSubmatch(form.body)[1]
	good := url.Values{"subject": {"Router blinks red"}, "description": {"Since Monday"}, "priority": {"high"}, "idempotency_key": {key}}
	res := b.post("/cases", good)
	require.Equal(t, http.StatusSeeOther, res.code, res.body)
	require.Equal(t, "/cases?sent=case", res.location())
	require.Contains(t, b.get(res.location()).body, "Your case is being sent.")
	require.Equal(t, http.StatusSeeOther, b.post("/cases", good).code)
	require.Equal(t, 1, e.actions(t, "create_case"), "the same form sent twice is one case")

	// A role that cannot open cases gets no form.
	bill := e.signedIn("bill@alpha.test", apitest.Alpha, auth.RoleBilling)
	require.Equal(t, http.StatusForbidden, bill.get("/cases/new").code)
	require.Equal(t, http.StatusForbidden, bill.post("/cases", good).code)
	require.Equal(t, 1, e.actions(t, "create_case"))
}

func TestLanguageIsTheUsersSetting(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	b.get("/cases")
	res := b.post("/language", url.Values{"lang": {"de"}, "next": {"/cases"}})
	require.Equal(t, http.StatusSeeOther, res.code)
	require.Equal(t, "/cases", res.location())
	require.Contains(t, b.get("/cases").body, "<h1>Anfragen</h1>")

	// Another browser, asking for English: the user's setting wins once
	// signed in.
	other := e.browser()
	other.lang = "en"
	require.Contains(t, other.get("/sign-in").body, "<h1>Sign in</h1>")
	other.signIn("mark@alpha.test")
	require.Contains(t, other.get("/").body, "<h1>Ihre Übersicht</h1>")
}
