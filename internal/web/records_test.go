package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
)

// navLinks are the menu's entries in a page.
func navLinks(body string) []string {
	nav := regexp.MustCompile(`(?s)<nav aria-label="Main">(.*?)</nav>`).FindStringSubmatch(body)
	if nav == nil {
		return nil
	}
	var out []string
	for _, m := range regexp.MustCompile(`<a href="([^"]+)"`).FindAllStringSubmatch(nav[1], -1) {
		out = append(out, m[1])
	}
	return out
}

func TestMenuFollowsRoles(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, tc := range []struct {
		role  string
		links []string
	}{
		{auth.RoleMember, []string{"/", "/cases", "/orders", "/knowledge", "/profile"}},
		{auth.RoleBilling, []string{"/", "/invoices", "/knowledge", "/profile"}},
		{auth.RolePurchasing, []string{"/", "/orders", "/approvals", "/knowledge", "/profile"}},
		{auth.RoleAccountAdmin, []string{"/", "/cases", "/orders", "/invoices", "/approvals", "/knowledge", "/profile", "/account/users"}},
	} {
		b := e.signedIn(tc.role+"@alpha.test", apitest.Alpha, tc.role)
		require.Equal(t, tc.links, navLinks(b.get("/").body), tc.role)
	}
}

// goodPage checks a page a role may see: 200 under the strict policy,
// usable landmarks, and nothing of another account.
func (e *env) goodPage(t *testing.T, p page) {
	t.Helper()
	require.Equal(t, http.StatusOK, p.code, p.body)
	checkPageHeaders(t, p)
	checkLandmarks(t, p.body)
	e.noForeign(t, p.body, apitest.Alpha)
}

// sameAsMissing checks that each path answers exactly the 404 page of a
// record that does not exist, and names no foreign value.
func (e *env) sameAsMissing(t *testing.T, b *browser, missing string, paths ...string) {
	t.Helper()
	want := b.get(missing)
	require.Equal(t, http.StatusNotFound, want.code)
	require.Contains(t, want.body, "Page not found")
	for _, p := range paths {
		got := b.get(p)
		require.Equal(t, http.StatusNotFound, got.code, p)
		require.Equal(t, want.body, got.body, "%s must not differ from a missing record's page", p)
		e.noForeign(t, got.body, apitest.Alpha)
	}
}

func TestOrdersListAndDetail(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// An order whose shipments carry tracking links: one a web page, one not.
	o := apitest.SQOrder("ORDA3", "OPEN")
	o["fulfillments"] = []any{
		map[string]any{"uid": "f1", "type": "SHIPMENT", "state": "COMPLETED", "shipment_details": map[string]any{
			"carrier": "UPS", "tracking_number": "1ZSAFE", "tracking_url": "https://track.example/1ZSAFE"}},
		map[string]any{"uid": "f2", "type": "SHIPMENT", "state": "PREPARED", "shipment_details": map[string]any{
			"carrier": "DHL", "tracking_number": "JSNUM", "tracking_url": "javascript:alert(1)"}},
	}
	e.fx.Put("inventory", "order", apitest.Alpha, o)
	b := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)

	list := b.get("/orders")
	e.goodPage(t, list)
	require.Contains(t, list.body, `href="/orders/ORDA1"`)
	require.Contains(t, list.body, `href="/orders/ORDA3"`)
	require.NotContains(t, list.body, `href="/orders/ORDA2"`, "completed")
	require.Contains(t, list.body, "25.00 USD, placed on Feb 1, 2026")
	require.Regexp(t, `<p class="fresh">Updated `, list.body)
	require.Contains(t, list.body, `<a href="/orders" aria-current="page">Orders</a>`)
	require.Contains(t, b.get("/orders?state=all").body, `href="/orders/ORDA2"`)
	require.Equal(t, http.StatusUnprocessableEntity, b.get("/orders?state=lost").code)

	res := b.get("/orders/ORDA1")
	e.goodPage(t, res)
	require.Contains(t, res.body, "<h1>Order ORDA1</h1>")
	require.Contains(t, res.body, "<td>Router</td>")
	require.Contains(t, res.body, "Shipped on Feb 2, 2026")
	require.Contains(t, res.body, "Tracking number 1Z999", "no tracking link at the source: the number, unlinked")

	linked := b.get("/orders/ORDA3")
	require.Contains(t, linked.body, `<a href="https://track.example/1ZSAFE" rel="noopener noreferrer" hx-boost="false">Track parcel 1ZSAFE</a>`)
	require.Contains(t, linked.body, "Tracking number JSNUM")
	require.NotContains(t, linked.body, "javascript:")
	b.lang = "de"
	require.Contains(t, b.get("/orders/ORDA1").body, "25,00 USD")
	b.lang = ""

	e.sameAsMissing(t, b, "/orders/ORDA9", "/orders/ORDB1", "/orders/ORDP1")

	bill := e.signedIn("bill@alpha.test", apitest.Alpha, auth.RoleBilling)
	require.Equal(t, http.StatusForbidden, bill.get("/orders").code)
	e.sameAsMissing(t, bill, "/orders/ORDA9", "/orders/ORDA1")
}

func TestInvoicesListAndDetail(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("bill@alpha.test", apitest.Alpha, auth.RoleBilling)
	due, paid := e.fx.IDs[apitest.Alpha]["invoice"][0], e.fx.IDs[apitest.Alpha]["invoice"][1]

	list := b.get("/invoices")
	e.goodPage(t, list)
	require.Contains(t, list.body, `href="/invoices/`+due+`"`)
	require.NotContains(t, list.body, `href="/invoices/`+paid+`"`, "paid")
	require.Contains(t, list.body, "40.00 USD due on Mar 1, 2026")
	paidList := b.get("/invoices?state=paid")
	require.Contains(t, paidList.body, `href="/invoices/`+paid+`"`)
	require.NotContains(t, paidList.body, `href="/invoices/`+due+`"`)
	require.Contains(t, paidList.body, "50.00 USD, paid")
	bad := b.get("/invoices?state=overdue")
	require.Equal(t, http.StatusUnprocessableEntity, bad.code)
	require.Contains(t, bad.body, `id="f-state-error"`)

	res := b.get("/invoices/" + due)
	e.goodPage(t, res)
	require.Contains(t, res.body, "<h1>Invoice INV-9A1</h1>")
	require.Contains(t, res.body, "<dt>Amount due</dt><dd><strong>40.00 USD</strong></dd>")
	require.Contains(t, res.body, "<dt>Due date</dt><dd>Mar 1, 2026</dd>")
	require.Contains(t, res.body, "<tr><td>Feb 10, 2026</td><td class=\"num\">60.00 USD</td></tr>", "the payment")
	require.Contains(t, res.body, "Please pay the remaining balance by the due date.")
	b.lang = "de"
	de := b.get("/invoices/" + due)
	require.Contains(t, de.body, "<dt>Offener Betrag</dt><dd><strong>40,00 USD</strong></dd>")
	require.Contains(t, de.body, "01.03.2026")
	b.lang = ""

	e.sameAsMissing(t, b, "/invoices/9A9", "/invoices/"+e.fx.IDs[apitest.Beta]["invoice"][0], "/invoices/"+e.fx.IDs[apitest.Parent]["invoice"][0])

	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	require.Equal(t, http.StatusForbidden, mark.get("/invoices").code)
	e.sameAsMissing(t, mark, "/invoices/9A9", "/invoices/"+due)
}

// decisions counts the approval decisions sent, and those with reason.
func (e *env) decisions(t *testing.T, reason string) (all, withReason int) {
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE input->>'decision_reason' = $1)
		FROM action WHERE kind = 'decide_approval'`, reason).Scan(&all, &withReason))
	return all, withReason
}

var keyInput = regexp.MustCompile(`name="idempotency_key" value="(web-[^"]+)"`)

func TestApprovalShowsWhatIsApprovedAndApprovesOnce(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("pat@alpha.test", apitest.Alpha, auth.RolePurchasing)
	pending, accepted := "0Q0A00000000001", "0Q0A00000000002"

	list := b.get("/approvals")
	e.goodPage(t, list)
	require.Contains(t, list.body, `href="/approvals/`+pending+`"`)
	require.NotContains(t, list.body, `href="/approvals/`+accepted+`"`, "decided already")
	require.Contains(t, list.body, "1,200.50 USD, valid until Jun 30, 2026", "in the quote's currency")
	require.Contains(t, b.get("/approvals?state=all").body, `href="/approvals/`+accepted+`"`)

	res := b.get("/approvals/" + pending)
	e.goodPage(t, res)
	require.Contains(t, res.body, "<h1>Quote "+pending+"</h1>")
	require.Contains(t, res.body, "<dt>Total</dt><dd><strong>1,200.50 USD</strong></dd>")
	require.Contains(t, res.body, "<dt>Valid until</dt><dd>Jun 30, 2026</dd>")
	require.Contains(t, res.body, `action="/approvals/`+pending+`/approve"`)
	require.Contains(t, res.body, `action="/approvals/`+pending+`/reject"`)
	b.lang = "de"
	require.Contains(t, b.get("/approvals/"+pending).body, "<dd>30.06.2026</dd>")
	b.lang = ""

	key := keyInput.FindStringSubmatch(res.body)[1]
	form := url.Values{"idempotency_key": {key}}
	sent := b.post("/approvals/"+pending+"/approve", form)
	require.Equal(t, http.StatusSeeOther, sent.code, sent.body)
	require.Equal(t, "/approvals/"+pending+"?sent=approve", sent.location())
	after := b.get(sent.location())
	require.Contains(t, after.body, "Your approval is being sent.")
	require.NotContains(t, after.body, `/approve"`, "no second decision from the page")
	// A double submit is one decision; the other button of the same page too.
	require.Equal(t, http.StatusSeeOther, b.post("/approvals/"+pending+"/approve", form).code)
	other := b.post("/approvals/"+pending+"/reject", url.Values{"idempotency_key": {key}, "reason": {"too dear"}})
	require.Equal(t, http.StatusConflict, other.code, other.body)
	all, _ := e.decisions(t, "")
	require.Equal(t, 1, all)

	// A decided quote offers no decision and takes none.
	done := b.get("/approvals/" + accepted)
	require.Equal(t, http.StatusOK, done.code)
	require.NotContains(t, done.body, `/approve"`)
	require.Equal(t, http.StatusConflict, b.post("/approvals/"+accepted+"/approve", url.Values{"idempotency_key": {"web-x"}}).code)
	all, _ = e.decisions(t, "")
	require.Equal(t, 1, all)
}

// The approval page lists what is being approved line by line, in the
// quote's currency (from the source's CurrencyIsoCode), in the page's
// language; a quote without lines says so.
func TestApprovalShowsItsLinesInTheQuotesCurrency(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("pia@beta.test", apitest.Beta, auth.RolePurchasing)
	res := b.get("/approvals/0Q0B00000000001")
	require.Equal(t, http.StatusOK, res.code, res.body)
	checkLandmarks(t, res.body)
	e.noForeign(t, res.body, apitest.Beta)
	row := func(cells ...string) string {
		return `<tr><td>` + cells[0] + `</td><td class="num">` + cells[1] + `</td><td class="num">` + cells[2] + `</td><td class="num">` + cells[3] + `</td></tr>`
	}
	rental := row("Router rental, 12 months", "2", "450.25 EUR", "900.50 EUR")
	install := row("Installation", "1", "300.00 EUR", "300.00 EUR")
	require.Contains(t, res.body, rental+install, "both lines, in their positions' order")
	require.Contains(t, res.body, "<dt>Total</dt><dd><strong>1,200.50 EUR</strong></dd>")

	b.lang = "de"
	de := b.get("/approvals/0Q0B00000000001").body
	require.Contains(t, de, row("Router rental, 12 months", "2", "450,25 EUR", "900,50 EUR")+row("Installation", "1", "300,00 EUR", "300,00 EUR"))
	require.Contains(t, de, "<strong>1.200,50 EUR</strong>")
	require.Contains(t, de, "<th scope=\"col\" class=\"num\">Einzelpreis</th>")

	b.lang = ""
	e.fx.Put("salesforce", "Quote", apitest.Beta, apitest.SFQuote("0Q0B00000000009", apitest.Beta, "Presented"))
	require.Contains(t, b.get("/approvals/0Q0B00000000009").body, "This request lists no items.")
}

func TestApprovalRejectNeedsAReason(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("pat@alpha.test", apitest.Alpha, auth.RolePurchasing)
	pending := "0Q0A00000000001"
	key := keyInput.FindStringSubmatch(b.get("/approvals/" + pending).body)[1]

	bad := b.post("/approvals/"+pending+"/reject", url.Values{"idempotency_key": {key}, "reason": {"   "}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.code, bad.body)
	require.Contains(t, bad.body, `name="reason" aria-invalid="true" aria-describedby="f-reason-error"`)
	require.Contains(t, bad.body, `<p class="field-error" id="f-reason-error">This field is required.</p>`)
	all, _ := e.decisions(t, "")
	require.Zero(t, all, "bad input changes nothing")

	form := url.Values{"idempotency_key": {key}, "reason": {"The price went up <b>again</b>"}}
	sent := b.post("/approvals/"+pending+"/reject", form)
	require.Equal(t, http.StatusSeeOther, sent.code, sent.body)
	require.Contains(t, b.get(sent.location()).body, "Your rejection is being sent.")
	require.Equal(t, http.StatusSeeOther, b.post("/approvals/"+pending+"/reject", form).code)
	all, withReason := e.decisions(t, "The price went up <b>again</b>")
	require.Equal(t, 1, all)
	require.Equal(t, 1, withReason)
}

func TestApprovalsOfOthersAndOtherRoles(t *testing.T) {
	t.Parallel()
	e := setup(t)
	b := e.signedIn("pat@alpha.test", apitest.Alpha, auth.RolePurchasing)
	foreign := []string{"/approvals/0Q0B00000000001", "/approvals/0Q0P00000000001"}
	e.sameAsMissing(t, b, "/approvals/0Q0A99999999999", foreign...)
	b.get("/approvals")
	for _, p := range foreign {
		for _, op := range []string{"/approve", "/reject"} {
			res := b.post(p+op, url.Values{"reason": {"no"}, "idempotency_key": {"web-" + op}})
			require.Equal(t, http.StatusNotFound, res.code)
			e.noForeign(t, res.body, apitest.Alpha)
		}
	}
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	require.Equal(t, http.StatusForbidden, mark.get("/approvals").code)
	e.sameAsMissing(t, mark, "/approvals/0Q0A99999999999", "/approvals/0Q0A00000000001")
	require.Equal(t, http.StatusNotFound, mark.post("/approvals/0Q0A00000000001/approve", url.Values{"idempotency_key": {"web-m"}}).code)
	all, _ := e.decisions(t, "")
	require.Zero(t, all)
}

func TestKnowledgeSearchMarksMatchesAndEscapes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fx.Put("salesforce", "Knowledge__kav", "",
		apitest.SFArticle("ka0000000000009", `<img src=x> Router lights`, "Which <b>light</b> means what",
			`<p>Green is <b>fine</b>.</p><script>alert("x")</script><p>Red &amp; blinking: call us.</p><img src="https://evil.example/x.png">`, "Online"))
	b := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)

	res := b.get("/knowledge?q=" + url.QueryEscape("router"))
	require.Equal(t, http.StatusOK, res.code)
	require.Contains(t, res.body, `<a href="/knowledge/ka0000000000001">Resetting your <mark>router</mark></a>`)
	require.Contains(t, res.body, `&lt;img src=x&gt; <mark>Router</mark> lights`)
	require.Contains(t, res.body, `Which &lt;b&gt;light&lt;/b&gt; means what`)
	require.NotContains(t, res.body, "Draft router secrets")
	require.NotContains(t, res.body, "<img")
	checkPageHeaders(t, res)
	checkLandmarks(t, res.body)
	e.noForeign(t, res.body, apitest.Alpha, "") // articles are everyone's

	// What the user typed is text, in the box and in the marks.
	typed := b.get("/knowledge?q=" + url.QueryEscape(`"><script>alert(1)</script>`))
	require.Equal(t, http.StatusOK, typed.code)
	require.NotContains(t, typed.body, "<script>alert")
	require.Contains(t, typed.body, `value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`)
	require.Equal(t, http.StatusUnprocessableEntity, b.get("/knowledge?q="+url.QueryEscape(string(make([]byte, 201)))).code)

	// The article's rich text is shown as text: no markup of the source.
	art := b.get("/knowledge/ka0000000000009")
	require.Equal(t, http.StatusOK, art.code)
	require.Contains(t, art.body, `<p class="prose">Green is fine.</p>`)
	require.Contains(t, art.body, `<p class="prose">Red &amp; blinking: call us.</p>`)
	require.NotContains(t, art.body, "alert(&#34;x&#34;)")
	require.NotContains(t, art.body, "evil.example")
	require.NotContains(t, art.body, "<img")
	checkPageHeaders(t, art)
	checkLandmarks(t, art.body)
	require.Equal(t, http.StatusNotFound, b.get("/knowledge/ka0000000000003").code, "a draft")
	e.sameAsMissing(t, b, "/knowledge/ka9999999999999", "/knowledge/ka0000000000003")
}
