package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/syncer"
)

// hubBlockNames are all a hub stream may ever say: block names.
var hubBlockNames = map[string]bool{"cases": true, "orders": true, "invoices": true, "approvals": true, "actions": true}

// nextHub is the stream's next event, which must be a hub block's.
func (s *sse) nextHub() string {
	s.t.Helper()
	ev := s.next()
	require.Equal(s.t, "hub", ev.name, "a hub stream says which block to read again, nothing else: %v", ev)
	require.True(s.t, hubBlockNames[ev.data], "%q is a block name", ev.data)
	return ev.data
}

// syncCase stores a case of account as the source now has it, with
// sfStatus (Salesforce's word), mapped and stored as the sync does.
func (e *env) syncCase(account, id, sfStatus string) {
	e.t.Helper()
	obj, ok := e.set.BySource("salesforce", "Case")
	require.True(e.t, ok)
	now := time.Now()
	raw := apitest.SFCase(id, account, sfStatus)
	raw["SystemModstamp"], raw["LastModifiedDate"] = apitest.SFTime(now), apitest.SFTime(now)
	b, err := json.Marshal(raw)
	require.NoError(e.t, err)
	row, err := syncer.MapRecord(obj, connectors.Record{Object: "Case", ID: id, Version: apitest.SFTime(now), Modified: now, Raw: b})
	require.NoError(e.t, err)
	row.OwnerAccount, row.OwnerRefKey, row.OwnerRefValue = account, "", ""
	_, err = store.UpsertRows(context.Background(), e.pool, store.Page{TenantID: 1, Connection: "salesforce", Object: "case",
		SourceObject: "Case", MappingHash: obj.Hash()}, []store.Row{row})
	require.NoError(e.t, err)
}

// TestLiveHubSaysWhichBlockChanged: a status hub's stream names the block
// whose records changed (a status at the source, a new record synced, the
// user's own change taking effect), for the user's own account only:
// another account's records, synced or changed in between, are never
// mentioned on it.
func TestLiveHubSaysWhichBlockChanged(t *testing.T) {
	t.Parallel()
	e := setup(t)
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	bea := e.signedIn("bea@beta.test", apitest.Beta, auth.RoleMember)
	require.Contains(t, mark.get("/").body, `data-live="/events?hub=1"`)
	alphaCase, betaCase := e.fx.IDs[apitest.Alpha]["case"][0], e.fx.IDs[apitest.Beta]["case"][0]

	ms := mark.stream("/events?hub=1")
	bs := bea.stream("/events?hub=1")
	e.waitStreams(2)

	// Beta's records change, arrive, and gain a comment; a Beta invoice,
	// which no member's hub shows, arrives too.
	e.syncCase(apitest.Beta, betaCase, "Working")
	require.Equal(t, "cases", bs.nextHub())
	e.fx.Put("salesforce", "Case", apitest.Beta, apitest.SFCase("500B00000000900", apitest.Beta, "New"))
	require.Equal(t, "cases", bs.nextHub())
	e.fx.Put("salesforce", "CaseComment", apitest.Beta, apitest.SFComment("00aB00000000900", betaCase, "Beta only", true))
	e.fx.Put("accounting", "Invoice", apitest.Beta, apitest.QBInvoice("9B9", 10, 10))

	// Mark's first news is his own account's order, not Beta's cases:
	// nothing of Beta's came before it through the same listener.
	e.fx.Put("inventory", "order", apitest.Alpha, apitest.SQOrder("ORDA9", "OPEN"))
	require.Equal(t, "orders", ms.nextHub())
	// Nor does a Beta order come before his case.
	e.fx.Put("inventory", "order", apitest.Beta, apitest.SQOrder("ORDB9", "OPEN"))
	require.Equal(t, "orders", bs.nextHub())
	e.syncCase(apitest.Alpha, alphaCase, "Working")
	require.Equal(t, "cases", ms.nextHub())

	// His own change: sent (the case is marked pending), then applied
	// (the action's block, and the case's again).
	mark.get("/cases/" + alphaCase)
	require.Equal(t, http.StatusSeeOther, mark.post("/cases/"+alphaCase+"/close", url.Values{"idempotency_key": {"hub-close"}}).code)
	require.Equal(t, "cases", ms.nextHub())
	e.apply(e.lastAction(), alphaCase)
	got := map[string]bool{ms.nextHub(): true, ms.nextHub(): true}
	require.Equal(t, map[string]bool{"actions": true, "cases": true}, got)

	// What the block reads again is this user's, through the same
	// access policy: a fragment of the hub, or the 404 page.
	frag := mark.fragment("/hub/cases")
	require.Equal(t, http.StatusOK, frag.code)
	require.True(t, strings.HasPrefix(strings.TrimSpace(frag.body), `<section class="block" id="cases"`), frag.body)
	require.NotContains(t, frag.body, "<html")
	require.Contains(t, frag.body, `href="/cases/`+e.fx.IDs[apitest.Alpha]["case"][1]+`"`)
	require.NotContains(t, frag.body, betaCase)
	require.Equal(t, http.StatusNotFound, mark.fragment("/hub/invoices").code, "a block the member's roles do not reach")
	require.Equal(t, http.StatusNotFound, mark.fragment("/hub/nope").code)
	// Without htmx, the hub itself.
	plain := mark.get("/hub/cases")
	require.Equal(t, http.StatusSeeOther, plain.code)
	require.Equal(t, "/#cases", plain.location())
	require.Equal(t, http.StatusSeeOther, e.browser().get("/hub/cases").code, "signed out: to sign in")
}

// fragment gets path as htmx does.
func (b *browser) fragment(path string) page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	require.NoError(b.e.t, err)
	req.Header.Set("HX-Request", "true")
	return b.do(req)
}

// TestLiveCaseHearsASyncedComment: a staff comment the sync stores under
// a case tells that case's open pages (and only those) to read again, and
// the case page then shows it.
func TestLiveCaseHearsASyncedComment(t *testing.T) {
	t.Parallel()
	e := setup(t)
	mark := e.signedIn("mark@alpha.test", apitest.Alpha, auth.RoleMember)
	bea := e.signedIn("bea@beta.test", apitest.Beta, auth.RoleMember)
	alphaCase, otherCase := e.fx.IDs[apitest.Alpha]["case"][0], e.fx.IDs[apitest.Alpha]["case"][1]
	betaCase := e.fx.IDs[apitest.Beta]["case"][0]
	ms := mark.stream("/events?case=" + alphaCase)
	bs := bea.stream("/events?case=" + betaCase)
	e.waitStreams(2)

	// A comment on another case, and one on Beta's, say nothing here.
	e.fx.Put("salesforce", "CaseComment", apitest.Alpha, apitest.SFComment("00aA00000000901", otherCase, "Elsewhere", true))
	e.fx.Put("salesforce", "CaseComment", apitest.Beta, apitest.SFComment("00aB00000000901", betaCase, "For Beta", true))
	require.Equal(t, sseEvent{"record", betaCase}, bs.next())
	e.fx.Put("salesforce", "CaseComment", apitest.Alpha, apitest.SFComment("00aA00000000902", alphaCase, "Could you send a photo of the label?", true))
	require.Equal(t, sseEvent{"record", alphaCase}, ms.next(), "the first news on Mark's case page is its own comment")
	page := mark.get("/cases/" + alphaCase).body
	require.Contains(t, page, "Could you send a photo of the label?")
	require.NotContains(t, page, "For Beta")
}

// TestLiveInsertNotifiesPerStatementNotPerRow: migration 088 announces a
// synced page once per (object, account) and per parent, whatever its
// size, and nothing for internal (unpublished) records.
func TestLiveInsertNotifiesPerStatementNotPerRow(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	got := listen(t, e.pool)

	rows := make([]store.Row, 0, 2000)
	for i := range 2000 {
		id := fmt.Sprintf("500Z%011d", i)
		data, _ := json.Marshal(map[string]any{"fields": map[string]any{"id": id, "status": "new"}})
		rows = append(rows, store.Row{SourceID: id, OwnerAccount: fmt.Sprintf("001Z%02d", i%20), Status: "new",
			Data: data, Raw: data, Version: "v1", Modified: time.Now()})
	}
	page := store.Page{TenantID: 1, Connection: "salesforce", Object: "case", SourceObject: "Case", MappingHash: "h"}
	_, err := store.UpsertRows(ctx, e.pool, page, rows)
	require.NoError(t, err)
	// Internal notes (hidden) under one case, published comments under
	// two: the two cases' pages hear, once each.
	var comments []store.Row
	for i := range 100 {
		id := fmt.Sprintf("00aZ%011d", i)
		data, _ := json.Marshal(map[string]any{"fields": map[string]any{"id": id}})
		comments = append(comments, store.Row{SourceID: id, OwnerAccount: "001Z00", OwnerParentObject: "case",
			OwnerParentID: fmt.Sprintf("500Z%011d", i%3), Hidden: i%3 == 2, Data: data, Raw: data, Version: "v1", Modified: time.Now()})
	}
	page.Object, page.SourceObject = "case_comment", "CaseComment"
	_, err = store.UpsertRows(ctx, e.pool, page, comments)
	require.NoError(t, err)
	// The same page again changes nothing, and says nothing.
	_, err = store.UpsertRows(ctx, e.pool, page, comments)
	require.NoError(t, err)
	_, err = e.pool.Exec(ctx, `SELECT pg_notify('portico_live', 'end')`)
	require.NoError(t, err)

	var payloads []string
	for p := range got {
		if p == "end" {
			break
		}
		payloads = append(payloads, p)
	}
	want := []string{}
	for i := range 20 {
		want = append(want, fmt.Sprintf("h:1:case:001Z%02d", i))
	}
	want = append(want, "h:1:case_comment:001Z00", "r:1:case:500Z00000000000", "r:1:case:500Z00000000001")
	require.ElementsMatch(t, want, payloads)
}

// listen hears portico_live on a connection of its own.
func listen(t *testing.T, pool *pgxpool.Pool) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `LISTEN portico_live`)
	require.NoError(t, err)
	out := make(chan string, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for {
			n, err := conn.Conn().WaitForNotification(ctx)
			if err != nil {
				return
			}
			out <- n.Payload
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		conn.Release()
	})
	return out
}
