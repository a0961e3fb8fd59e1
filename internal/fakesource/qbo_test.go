package fakesource_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
)

func qbToken(t *testing.T, e *env, refresh string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.cr.Accounting.TokenURL,
		strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode()))
	require.NoError(t, err)
	req.SetBasicAuth(e.cr.Accounting.ClientID, e.cr.Accounting.ClientSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
	return resp.StatusCode, m
}

func TestAccountingTokenRotation(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *fakesource.Options) { o.RefreshGrace = time.Minute; o.TokenTTL = 10 * time.Minute })
	code, first := qbToken(t, e, e.cr.Accounting.RefreshToken)
	require.Equal(t, http.StatusOK, code)
	fix := decode(t, fixture(t, "accounting/intuit-sdk/success_token_response.json"))
	delete(fix, "id_token") // only sent for OpenID scopes
	require.Equal(t, keys(fix), keys(first))
	next := first["refresh_token"].(string)
	require.NotEqual(t, e.cr.Accounting.RefreshToken, next, "refresh tokens rotate")

	code, _ = qbToken(t, e, e.cr.Accounting.RefreshToken)
	require.Equal(t, http.StatusOK, code, "the old token works within the grace period")
	e.clock.Advance(2 * time.Minute)
	code, m := qbToken(t, e, e.cr.Accounting.RefreshToken)
	require.Equal(t, http.StatusBadRequest, code, "and not after it")
	require.Equal(t, "invalid_grant", m["error"])
	code, second := qbToken(t, e, next)
	require.Equal(t, http.StatusOK, code)

	c := &client{t: t, base: e.url, tok: second["access_token"].(string)}
	path := e.qbPath("/customer/1")
	code, _, _ = c.do("GET", path, nil)
	require.Equal(t, http.StatusOK, code)
	e.clock.Advance(11 * time.Minute)
	code, _, body := c.do("GET", path, nil)
	require.Equal(t, http.StatusUnauthorized, code)
	var fix401 map[string]any
	bodies := cassetteBodies(t, "accounting/qbo_api/error/401.yml")
	require.NoError(t, json.Unmarshal([]byte(bodies[0]), &fix401))
	got := decode(t, body)
	require.Equal(t, keys(fix401), keys(got))
	requireKeys(t, fix401["fault"], got["fault"], "fault")
	require.Equal(t, "3200", got["fault"].(map[string]any)["error"].([]any)[0].(map[string]any)["code"])
}

func TestAccountingQueryPagesEndOnShortPage(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.qb()
	var fixPage map[string]any
	require.NoError(t, json.Unmarshal([]byte(cassetteBodies(t, "accounting/qbo_api/all/vendors_by_5.yml")[1]), &fixPage))

	seen := map[string]bool{}
	var last time.Time
	pacific, err := time.LoadLocation("America/Los_Angeles")
	require.NoError(t, err)
	for start := 1; ; start += 100 {
		q := "SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime > '2024-01-01T00:00:00-07:00' ORDERBY MetaData.LastUpdatedTime STARTPOSITION " + strconv.Itoa(start) + " MAXRESULTS 100"
		code, _, body := c.do("GET", e.qbPath("/query?query="+url.QueryEscape(q)+"&minorversion=65"), nil)
		require.Equal(t, http.StatusOK, code, string(body))
		page := decode(t, body)
		require.Equal(t, keys(fixPage), keys(page))
		qr := page["QueryResponse"].(map[string]any)
		rows, _ := qr["Invoice"].([]any)
		if len(rows) > 0 {
			require.EqualValues(t, start, qr["startPosition"])
			require.EqualValues(t, len(rows), qr["maxResults"])
		}
		for _, r := range rows {
			m := r.(map[string]any)
			require.False(t, seen[m["Id"].(string)])
			seen[m["Id"].(string)] = true
			lu := m["MetaData"].(map[string]any)["LastUpdatedTime"].(string)
			require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-0[78]:00$`, lu)
			at, err := time.Parse(time.RFC3339, lu)
			require.NoError(t, err)
			_, want := at.In(pacific).Zone()
			_, got := at.Zone()
			require.Equal(t, want, got, "%s carries the company's offset on that day (daylight saving time)", lu)
			require.False(t, at.Before(last))
			last = at
			require.Contains(t, m, "SyncToken")
			require.Contains(t, m, "CustomerRef")
		}
		if len(rows) < 100 {
			break
		}
	}
	require.Equal(t, e.sim.Stats().Records["accounting"]["Invoice"], len(seen))

	code, _, body := c.do("GET", e.qbPath("/query?query="+url.QueryEscape("SELECT COUNT(*) FROM Invoice")), nil)
	require.Equal(t, http.StatusOK, code)
	require.EqualValues(t, len(seen), decode(t, body)["QueryResponse"].(map[string]any)["totalCount"])

	code, _, body = c.do("GET", e.qbPath("/query?query="+url.QueryEscape("SELECT * FROM Custmoer")), nil)
	require.Equal(t, http.StatusBadRequest, code)
	var fix400 map[string]any
	require.NoError(t, json.Unmarshal([]byte(cassetteBodies(t, "accounting/qbo_api/error/400.yml")[1]), &fix400))
	got := decode(t, body)
	requireKeys(t, fix400, got, "fault")
	require.Equal(t, fix400["Fault"].(map[string]any)["Error"], got["Fault"].(map[string]any)["Error"], "the same fault as QuickBooks for the same query")
}

func TestAccountingWritesSyncTokenAndRequestID(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.qb()
	code, _, body := c.do("GET", e.qbPath("/customer/2"), nil)
	require.Equal(t, http.StatusOK, code)
	var fixGet map[string]any
	require.NoError(t, json.Unmarshal([]byte(cassetteBodies(t, "accounting/qbo_api/update/customer.yml")[1]), &fixGet))
	got := decode(t, body)
	require.Equal(t, keys(fixGet), keys(got))
	fixCust := fixGet["Customer"].(map[string]any)
	for _, k := range []string{"Taxable", "Job", "BillWithParent", "Balance", "BalanceWithJobs", "CurrencyRef", "PreferredDeliveryMethod", "domain", "sparse", "Id", "SyncToken", "MetaData", "FullyQualifiedName", "DisplayName", "PrintOnCheckName", "Active", "PrimaryPhone"} {
		require.Contains(t, got["Customer"], k)
		require.Contains(t, fixCust, k)
	}
	cust := got["Customer"].(map[string]any)
	tok := cust["SyncToken"].(string)

	// sparse update with the current SyncToken, as in the cassette
	e.clock.Advance(2 * time.Second)
	code, _, body = c.do("POST", e.qbPath("/customer?minorversion=8"), map[string]any{"Id": "2", "SyncToken": tok, "sparse": true, "PrimaryPhone": map[string]any{"FreeFormNumber": "(415) 444-1234"}})
	require.Equal(t, http.StatusOK, code, string(body))
	upd := decode(t, body)["Customer"].(map[string]any)
	require.NotEqual(t, tok, upd["SyncToken"], "SyncToken changes on every edit")
	require.Equal(t, cust["DisplayName"], upd["DisplayName"], "a sparse update keeps other fields")
	require.Greater(t, upd["MetaData"].(map[string]any)["LastUpdatedTime"], cust["MetaData"].(map[string]any)["LastUpdatedTime"])

	// the old SyncToken is stale now
	code, _, body = c.do("POST", e.qbPath("/customer"), map[string]any{"Id": "2", "SyncToken": tok, "sparse": true, "Notes": "x"})
	require.Equal(t, http.StatusBadRequest, code)
	fault := decode(t, body)["Fault"].(map[string]any)
	require.Equal(t, "ValidationFault", fault["type"])
	require.Equal(t, "5010", fault["Error"].([]any)[0].(map[string]any)["code"])
	require.Equal(t, "Stale Object Error", fault["Error"].([]any)[0].(map[string]any)["Message"])

	// stale_next_write: someone edits just before our write
	require.NoError(t, e.sim.SetFaults(fakesource.Accounting, fakesource.Faults{StaleNextWrite: true}))
	code, _, body = c.do("POST", e.qbPath("/customer"), map[string]any{"Id": "2", "SyncToken": upd["SyncToken"], "sparse": true, "Notes": "y"})
	require.Equal(t, http.StatusBadRequest, code, string(body))
	require.Contains(t, string(body), `"code":"5010"`)
	require.False(t, e.sim.CurrentFaults()[fakesource.Accounting].StaleNextWrite, "one-shot")

	// create with requestid twice: one invoice, the same answer
	before := e.sim.Stats().Records["accounting"]["Invoice"]
	inv := map[string]any{"CustomerRef": map[string]any{"value": "1"}, "Line": []any{map[string]any{"Amount": 100.0, "DetailType": "SalesItemLineDetail",
		"SalesItemLineDetail": map[string]any{"ItemRef": map[string]any{"value": "1", "name": "Services"}}}}}
	code, _, first := c.do("POST", e.qbPath("/invoice?requestid=act-7"), inv)
	require.Equal(t, http.StatusOK, code, string(first))
	code, _, second := c.do("POST", e.qbPath("/invoice?requestid=act-7"), inv)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(first), string(second), "a replayed requestid returns the first response")
	st := e.sim.Stats()
	require.Equal(t, before+1, st.Records["accounting"]["Invoice"])
	require.Equal(t, 1, st.Duplicates)
	created := decode(t, first)["Invoice"].(map[string]any)
	require.EqualValues(t, 100, created["TotalAmt"])
	require.Equal(t, "0", created["SyncToken"])

	// a payment settles the invoice and lowers the customer's balance
	custBefore, err := e.sim.Record(fakesource.Accounting, "Customer", "1")
	require.NoError(t, err)
	code, _, body = c.do("POST", e.qbPath("/payment?requestid=pay-1"), map[string]any{"CustomerRef": map[string]any{"value": "1"}, "TotalAmt": 100.0,
		"Line": []any{map[string]any{"Amount": 100.0, "LinkedTxn": []any{map[string]any{"TxnId": created["Id"], "TxnType": "Invoice"}}}}})
	require.Equal(t, http.StatusOK, code, string(body))
	paid, err := e.sim.Record(fakesource.Accounting, "Invoice", created["Id"].(string))
	require.NoError(t, err)
	require.EqualValues(t, 0, paid["Balance"])
	require.Equal(t, "1", paid["SyncToken"], "settling is an edit")
	custAfter, err := e.sim.Record(fakesource.Accounting, "Customer", "1")
	require.NoError(t, err)
	require.InDelta(t, custBefore["Balance"].(float64)-100, custAfter["Balance"].(float64), 0.001)
	created = paid

	// bad reference and missing fields change nothing
	code, _, body = c.do("POST", e.qbPath("/invoice"), map[string]any{"CustomerRef": map[string]any{"value": "999999"}, "Line": []any{}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "Invalid Reference Id")
	code, _, body = c.do("POST", e.qbPath("/invoice"), map[string]any{"Line": []any{}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), `"element":"CustomerRef"`)
	code, _, body = c.do("POST", e.qbPath("/customer"), map[string]any{"DisplayName": cust["DisplayName"]})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "6240")
	require.Equal(t, before+1, e.sim.Stats().Records["accounting"]["Invoice"])

	// delete, as in the cassette
	var fixDel map[string]any
	require.NoError(t, json.Unmarshal([]byte(cassetteBodies(t, "accounting/qbo_api/delete/invoice.yml")[1]), &fixDel))
	code, _, body = c.do("POST", e.qbPath("/invoice?operation=delete"), map[string]any{"Id": created["Id"], "SyncToken": created["SyncToken"]})
	require.Equal(t, http.StatusOK, code, string(body))
	del := decode(t, body)
	requireKeys(t, fixDel, del, "delete")
	require.Equal(t, "Deleted", del["Invoice"].(map[string]any)["status"])
	code, _, body = c.do("GET", e.qbPath("/invoice/"+created["Id"].(string)), nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), `"code":"610"`)
}

func TestAccountingCDC(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.qb()
	since := e.clock.Now().Add(-time.Minute)
	e.clock.Advance(time.Second)
	require.NoError(t, e.sim.StaffEdit(fakesource.Accounting, "Customer", "3", map[string]any{"CompanyName": "Renamed"}))
	require.NoError(t, e.sim.DeleteRecord(fakesource.Accounting, "Invoice", "4"))
	e.clock.Advance(time.Second)
	path := e.qbPath("/cdc?entities=Customer,Invoice&changedSince=" + url.QueryEscape(since.Format(time.RFC3339)))
	code, _, body := c.do("GET", path, nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var resp struct {
		CDCResponse []struct {
			QueryResponse []map[string]any `json:"QueryResponse"`
		} `json:"CDCResponse"`
		Time string `json:"time"`
	}
	require.NoError(t, json.Unmarshal(body, &resp))
	require.NotEmpty(t, resp.Time)
	qrs := resp.CDCResponse[0].QueryResponse
	require.Len(t, qrs, 2)
	custs := qrs[0]["Customer"].([]any)
	require.Len(t, custs, 1)
	require.Equal(t, "Renamed", custs[0].(map[string]any)["CompanyName"])
	invs := qrs[1]["Invoice"].([]any)
	require.Len(t, invs, 1)
	d := invs[0].(map[string]any)
	require.Equal(t, "Deleted", d["status"])
	require.Equal(t, "4", d["Id"])
	require.Contains(t, d["MetaData"], "LastUpdatedTime")

	code, _, _ = c.do("GET", e.qbPath("/cdc?entities=Customer&changedSince=2020-01-01T00:00:00Z"), nil)
	require.Equal(t, http.StatusBadRequest, code, "changedSince older than 30 days")
	code, _, _ = c.do("GET", "/v3/company/123/cdc?entities=Customer&changedSince="+url.QueryEscape(since.Format(time.RFC3339)), nil)
	require.Equal(t, http.StatusForbidden, code, "another realm")
}
