package fakesource_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// fixture reads a golden vendor payload from testdata (see testdata/README.md).
func fixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := osReadFile("testdata/" + path)
	require.NoError(t, err)
	return b
}

type client struct {
	t    testing.TB
	base string
	tok  string
}

func (c *client) do(method, path string, body any, hdr ...string) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			raw, err := json.Marshal(b)
			require.NoError(c.t, err)
			rd = strings.NewReader(string(raw))
		}
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if c.tok != "" {
		req.Header.Set("Authorization", "Bearer "+c.tok)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, resp.Header, raw
}

func sfLogin(t testing.TB, base string, cr fakesource.Credentials) *client {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.Salesforce.ClientID}, "client_secret": {cr.Salesforce.ClientSecret}}
	resp, err := http.PostForm(cr.Salesforce.TokenURL, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tok struct {
		AccessToken string `json:"access_token"`
		InstanceURL string `json:"instance_url"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	require.Equal(t, base, tok.InstanceURL)
	return &client{t: t, base: base, tok: tok.AccessToken}
}

func TestSalesforceQueryPagesToTheEnd(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 50000})
	c := sfLogin(t, srv.URL, sim.Credentials(srv.URL))
	q := url.QueryEscape("SELECT Id, CommentBody, Parent.CaseNumber, SystemModstamp FROM CaseComment WHERE SystemModstamp >= 2024-01-01T00:00:00Z ORDER BY SystemModstamp, Id")
	path := "/services/data/v59.0/query?q=" + q
	seen := map[string]bool{}
	perStamp := map[string]int{}
	total := -1
	lastStamp := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100)
		code, hdr, body := c.do("GET", path, nil)
		require.Equal(t, http.StatusOK, code, string(body))
		require.Contains(t, hdr.Get("Sforce-Limit-Info"), "api-usage=")
		var page struct {
			TotalSize      int              `json:"totalSize"`
			Done           bool             `json:"done"`
			NextRecordsURL string           `json:"nextRecordsUrl"`
			Records        []map[string]any `json:"records"`
		}
		require.NoError(t, json.Unmarshal(body, &page))
		if total < 0 {
			total = page.TotalSize
		}
		for _, r := range page.Records {
			id := r["Id"].(string)
			require.Len(t, id, 18)
			require.False(t, seen[id], "duplicate %s", id)
			seen[id] = true
			st := r["SystemModstamp"].(string)
			require.GreaterOrEqual(t, st, lastStamp)
			lastStamp = st
			perStamp[st]++
			require.NotNil(t, r["Parent"])
		}
		if page.Done {
			require.Empty(t, page.NextRecordsURL)
			break
		}
		require.Len(t, page.Records, 2000)
		path = page.NextRecordsURL
	}
	require.Equal(t, total, len(seen))
	require.Equal(t, sim.Stats().Records["salesforce"]["CaseComment"], total)
	biggest := 0
	for _, n := range perStamp {
		biggest = max(biggest, n)
	}
	require.Greater(t, biggest, 2000, "a burst of equal stamps spans pages and is still served whole")
}

func TestSalesforceGoldenShapes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.cr.Salesforce.ClientID}, "client_secret": {e.cr.Salesforce.ClientSecret}}
	resp, err := http.PostForm(e.cr.Salesforce.TokenURL, form)
	require.NoError(t, err)
	var tok map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	requireKeys(t, decode(t, fixture(t, "salesforce/auth_success_response.json")), tok, "token")

	form.Set("client_secret", "wrong")
	resp, err = http.PostForm(e.cr.Salesforce.TokenURL, form)
	require.NoError(t, err)
	var bad map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&bad))
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Equal(t, keys(decode(t, fixture(t, "salesforce/auth_error_response.json"))), keys(bad))

	c := &client{t: t, base: e.url, tok: tok["access_token"].(string)}
	code, _, body := c.do("GET", "/services/data/", nil)
	require.Equal(t, http.StatusOK, code)
	var versions, fixVersions []map[string]any
	require.NoError(t, json.Unmarshal(body, &versions))
	require.NoError(t, json.Unmarshal(fixture(t, "salesforce/services_data_success_response.json"), &fixVersions))
	require.Equal(t, keys(fixVersions[0]), keys(versions[0]))

	q := "/services/data/v59.0/query?q=" + url.QueryEscape("SELECT Id, Subject FROM Case")
	code, _, body = c.do("GET", q, nil, "Sforce-Query-Options", "batchSize=5")
	require.Equal(t, http.StatusOK, code)
	first := decode(t, body)
	fixFirst := decode(t, fixture(t, "salesforce/sobject/query_paginated_first_page_response.json"))
	require.Equal(t, keys(fixFirst), keys(first))
	fixRec := fixFirst["records"].([]any)[0].(map[string]any)
	rec := first["records"].([]any)[0].(map[string]any)
	require.Equal(t, keys(fixRec["attributes"].(map[string]any)), keys(rec["attributes"].(map[string]any)))
	require.Equal(t, "Case", rec["attributes"].(map[string]any)["type"])
	require.Len(t, first["records"], 5)
	require.Regexp(t, `^/services/data/v59\.0/query/01g\w+-5$`, first["nextRecordsUrl"])

	q = "/services/data/v59.0/query?q=" + url.QueryEscape("SELECT Id FROM Case WHERE Subject = 'no such subject'")
	code, _, body = c.do("GET", q, nil)
	require.Equal(t, http.StatusOK, code)
	empty := decode(t, body)
	require.Equal(t, keys(decode(t, fixture(t, "salesforce/sobject/query_empty_response.json"))), keys(empty))
	require.Equal(t, true, empty["done"])

	code, _, body = c.do("POST", "/services/data/v59.0/sobjects/Case", map[string]any{"Subject": "Broken grinder", "AccountId": mustSeed(t, e, "Account", 0)})
	require.Equal(t, http.StatusCreated, code, string(body))
	require.Equal(t, keys(decode(t, fixture(t, "salesforce/sobject/create_success_response.json"))), keys(decode(t, body)))

	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/Portico_Action_Id__c/act-1", map[string]any{"Subject": "Via upsert"})
	require.Equal(t, http.StatusCreated, code, string(body))
	requireKeys(t, decode(t, fixture(t, "salesforce/sobject/upsert_created_success_response.json")), decode(t, body), "upsert")

	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/"+mustSeed(t, e, "Case", 0), map[string]any{"Nope__c": 1})
	require.Equal(t, http.StatusBadRequest, code)
	var errs, fixErrs []map[string]any
	require.NoError(t, json.Unmarshal(body, &errs))
	require.NoError(t, json.Unmarshal(fixture(t, "salesforce/sobject/write_error_response.json"), &fixErrs))
	requireKeys(t, fixErrs[0], errs[0], "error")
	require.Equal(t, "INVALID_FIELD", errs[0]["errorCode"])

	code, _, body = c.do("GET", "/services/data/v59.0/sobjects/Case/Nope__c/x", nil)
	require.Equal(t, http.StatusNotFound, code)
	require.NoError(t, json.Unmarshal(body, &errs))
	require.NoError(t, json.Unmarshal(fixture(t, "salesforce/sobject/sobject_find_error_response.json"), &fixErrs))
	require.Equal(t, fixErrs[0]["errorCode"], errs[0]["errorCode"])
	require.Contains(t, errs[0]["message"], "Provided external ID field does not exist or is not accessible")

	// change lists
	e.clock.Advance(30 * time.Minute)
	start := e.clock.Now().Add(-time.Hour).Format(time.RFC3339)
	end := e.clock.Now().Add(time.Minute).Format(time.RFC3339)
	code, _, body = c.do("GET", "/services/data/v59.0/sobjects/Case/updated/?start="+url.QueryEscape(start)+"&end="+url.QueryEscape(end), nil)
	require.Equal(t, http.StatusOK, code, string(body))
	upd := decode(t, body)
	require.Equal(t, keys(decode(t, fixture(t, "salesforce/sobject/get_updated_success_response.json"))), keys(upd))
	require.Len(t, upd["ids"], 2, "the created and the upserted case; the rejected edit changed nothing")
	require.NoError(t, e.sim.DeleteRecord(fakesource.Salesforce, "Case", mustSeed(t, e, "Case", 1)))
	e.clock.Advance(time.Minute)
	code, _, body = c.do("GET", "/services/data/v59.0/sobjects/Case/deleted/?start="+url.QueryEscape(start)+"&end="+url.QueryEscape(e.clock.Now().Add(time.Minute).Format(time.RFC3339)), nil)
	require.Equal(t, http.StatusOK, code, string(body))
	del := decode(t, body)
	requireKeys(t, decode(t, fixture(t, "salesforce/sobject/get_deleted_success_response.json")), del, "deleted")
	require.Len(t, del["deletedRecords"], 1)

	code, _, body = c.do("GET", "/services/data/v59.0/sobjects/Case/updated/?start=2020-01-01T00:00:00Z&end=2020-01-02T00:00:00Z", nil)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "INVALID_REPLICATION_DATE")
}

func mustSeed(t *testing.T, e *env, object string, i int) string {
	t.Helper()
	id, err := e.sim.SeedID(fakesource.Salesforce, object, i)
	require.NoError(t, err)
	return id
}

func TestSalesforceQueryErrorsAndFilters(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.sf()
	query := func(q string) (int, map[string]any, []byte) {
		code, _, body := c.do("GET", "/services/data/v59.0/query?q="+url.QueryEscape(q), nil)
		if code != http.StatusOK {
			return code, nil, body
		}
		return code, decode(t, body), body
	}
	code, _, body := query("SELECT Id, Bogus FROM Case")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), `"errorCode":"INVALID_FIELD"`)
	require.Contains(t, string(body), "No such column 'Bogus'")
	code, _, body = query("SELECT Id FROM Nope")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "INVALID_TYPE")
	code, _, _ = query("SELECT Id FROM Case WHERE SystemModstamp > '2024-01-01T00:00:00Z'")
	require.Equal(t, http.StatusBadRequest, code, "quoted datetimes are rejected like Salesforce does")
	code, _, body = query("SELEKT Id FROM Case")
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "MALFORMED_QUERY")

	acct := mustSeed(t, e, "Account", 0)
	code, page, body := query("SELECT Id, AccountId, Status FROM Case WHERE AccountId = '" + acct + "' AND Status != 'Closed'")
	require.Equal(t, http.StatusOK, code, string(body))
	for _, r := range page["records"].([]any) {
		m := r.(map[string]any)
		require.Equal(t, acct, m["AccountId"])
		require.NotEqual(t, "Closed", m["Status"])
	}
	code, page, _ = query("SELECT COUNT() FROM Account")
	require.Equal(t, http.StatusOK, code)
	require.EqualValues(t, e.sim.Stats().Records["salesforce"]["Account"], page["totalSize"])

	a, b := mustSeed(t, e, "Contact", 7), mustSeed(t, e, "Contact", 3)
	code, page, _ = query("SELECT Id FROM Contact WHERE Id IN ('" + a + "', '" + b + "', '003000000000000AAA')")
	require.Equal(t, http.StatusOK, code)
	require.EqualValues(t, 2, page["totalSize"])
	require.Equal(t, b, page["records"].([]any)[0].(map[string]any)["Id"], "in modstamp order")

	code, page, _ = query("SELECT Id FROM Contact LIMIT 3")
	require.Equal(t, http.StatusOK, code)
	require.Len(t, page["records"], 3)
	require.Equal(t, true, page["done"])

	// unknown sessions
	bad := &client{t: t, base: e.url, tok: "nope"}
	code, _, body = bad.do("GET", "/services/data/v59.0/query?q=SELECT+Id+FROM+Case", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	require.JSONEq(t, string(fixture(t, "salesforce/expired_session_response.json")), string(body))
}

func TestSalesforceWritesAndConcurrency(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.sf()
	id := mustSeed(t, e, "Case", 2)
	code, hdr, body := c.do("GET", "/services/data/v59.0/sobjects/Case/"+id, nil)
	require.Equal(t, http.StatusOK, code)
	before := decode(t, body)
	lastMod := hdr.Get("Last-Modified")
	require.NotEmpty(t, lastMod)

	e.clock.Advance(2 * time.Second)
	require.NoError(t, e.sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Status": "Escalated"}))
	e.clock.Advance(2 * time.Second)
	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/"+id, map[string]any{"Status": "Closed"}, "If-Unmodified-Since", lastMod)
	require.Equal(t, http.StatusPreconditionFailed, code, string(body))
	require.Contains(t, string(body), "PRECONDITION_FAILED")

	code, hdr, _ = c.do("GET", "/services/data/v59.0/sobjects/Case/"+id, nil)
	require.Equal(t, http.StatusOK, code)
	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/"+id, map[string]any{"Status": "Closed"}, "If-Unmodified-Since", hdr.Get("Last-Modified"))
	require.Equal(t, http.StatusNoContent, code, string(body))
	_, _, body = c.do("GET", "/services/data/v59.0/sobjects/Case/"+id, nil)
	after := decode(t, body)
	require.Equal(t, "Closed", after["Status"])
	require.Equal(t, true, after["IsClosed"])
	require.NotNil(t, after["ClosedDate"])
	require.Greater(t, after["SystemModstamp"], before["SystemModstamp"], "modstamps advance")

	// validation errors change nothing
	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/"+id, map[string]any{"Status": "Bogus"})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/"+id, map[string]any{"CaseNumber": "1"})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "INVALID_FIELD_FOR_INSERT_UPDATE")
	code, _, body = c.do("POST", "/services/data/v59.0/sobjects/Case", map[string]any{"Status": "New"})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), `"errorCode":"REQUIRED_FIELD_MISSING"`)
	require.Contains(t, string(body), `"fields":["Subject"]`)
	code, _, body = c.do("POST", "/services/data/v59.0/sobjects/Case", map[string]any{"Subject": "x", "AccountId": "001000000000000AAA"})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "INVALID_CROSS_REFERENCE_KEY")
	_, _, body = c.do("GET", "/services/data/v59.0/sobjects/Case/"+id, nil)
	require.Equal(t, after["SystemModstamp"], decode(t, body)["SystemModstamp"], "rejected writes changed nothing")

	// stale_next_write: someone edits just before the write, within the
	// second of the writer's read (the clock stands still): still stale.
	code, hdr, _ = c.do("GET", "/services/data/v59.0/sobjects/Case/"+id, nil)
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, e.sim.SetFaults(fakesource.Salesforce, fakesource.Faults{StaleNextWrite: true}))
	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/"+id, map[string]any{"Subject": "Mine"}, "If-Unmodified-Since", hdr.Get("Last-Modified"))
	require.Equal(t, http.StatusPreconditionFailed, code, string(body))

	// upsert replays create nothing new
	before2 := e.sim.Stats().Records["salesforce"]["Case"]
	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/Portico_Action_Id__c/act-42", map[string]any{"Subject": "From the portal"})
	require.Equal(t, http.StatusCreated, code, string(body))
	created := decode(t, body)["id"].(string)
	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/Portico_Action_Id__c/act-42", map[string]any{"Subject": "From the portal"})
	require.Equal(t, http.StatusOK, code, string(body))
	require.Equal(t, created, decode(t, body)["id"])
	require.Equal(t, false, decode(t, body)["created"])
	code, _, _ = c.do("PATCH", "/services/data/v45.0/sobjects/Case/Portico_Action_Id__c/act-42", map[string]any{"Subject": "From the portal"})
	require.Equal(t, http.StatusNoContent, code, "before API 46 an upsert update answers 204")
	st := e.sim.Stats()
	require.Equal(t, before2+1, st.Records["salesforce"]["Case"])
	require.Equal(t, 2, st.Duplicates)
	require.Contains(t, st.Writes, fakesource.WriteStat{System: "salesforce", Key: "Case/Portico_Action_Id__c/act-42", Count: 3})
	code, _, body = c.do("PATCH", "/services/data/v59.0/sobjects/Case/"+created, map[string]any{"Portico_Action_Id__c": "act-42"})
	require.Equal(t, http.StatusNoContent, code, "a record keeps its own external id: %s", body)
	code, _, body = c.do("POST", "/services/data/v59.0/sobjects/Case", map[string]any{"Subject": "dup", "Portico_Action_Id__c": "act-42"})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "DUPLICATE_VALUE")

	// delete, then the record is gone but queryAll still sees it
	code, _, _ = c.do("DELETE", "/services/data/v59.0/sobjects/Case/"+created, nil)
	require.Equal(t, http.StatusNoContent, code)
	code, _, body = c.do("GET", "/services/data/v59.0/sobjects/Case/"+created, nil)
	require.Equal(t, http.StatusNotFound, code)
	require.Contains(t, string(body), "ENTITY_IS_DELETED")
	q := url.QueryEscape("SELECT Id, IsDeleted FROM Case WHERE Id = '" + created + "'")
	_, _, body = c.do("GET", "/services/data/v59.0/query?q="+q, nil)
	require.EqualValues(t, 0, decode(t, body)["totalSize"])
	_, _, body = c.do("GET", "/services/data/v59.0/queryAll?q="+q, nil)
	all := decode(t, body)
	require.EqualValues(t, 1, all["totalSize"])
	require.Equal(t, true, all["records"].([]any)[0].(map[string]any)["IsDeleted"])
}

func TestSalesforceTokenGrantsAndExpiry(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *fakesource.Options) { o.TokenTTL = 10 * time.Minute })
	post := func(form url.Values) (int, map[string]any) {
		resp, err := http.PostForm(e.cr.Salesforce.TokenURL, form)
		require.NoError(t, err)
		defer resp.Body.Close()
		var m map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&m))
		return resp.StatusCode, m
	}
	code, tok := post(url.Values{"grant_type": {"refresh_token"}, "client_id": {e.cr.Salesforce.ClientID}, "refresh_token": {e.cr.Salesforce.RefreshToken}})
	require.Equal(t, http.StatusOK, code)
	require.NotEmpty(t, tok["access_token"])
	code, m := post(url.Values{"grant_type": {"refresh_token"}, "client_id": {e.cr.Salesforce.ClientID}, "refresh_token": {"stale"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, decode(t, fixture(t, "salesforce/refresh_error_response.json")), m)

	claims := fmt.Sprintf(`{"iss":%q,"sub":"integration@example.com","aud":"https://login.salesforce.com","exp":%d}`, e.cr.Salesforce.ClientID, e.clock.Now().Add(3*time.Minute).Unix())
	jwt := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2ln"
	code, m = post(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {jwt}})
	require.Equal(t, http.StatusOK, code, m)
	code, _ = post(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {"not-a-jwt"}})
	require.Equal(t, http.StatusBadRequest, code)
	code, m = post(url.Values{"grant_type": {"password"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "unsupported_grant_type", m["error"])

	c := &client{t: t, base: e.url, tok: tok["access_token"].(string)}
	path := "/services/data/v59.0/sobjects/Account/" + mustSeed(t, e, "Account", 0)
	code, _, _ = c.do("GET", path, nil)
	require.Equal(t, http.StatusOK, code)
	e.clock.Advance(11 * time.Minute)
	code, _, body := c.do("GET", path, nil)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, string(body), "INVALID_SESSION_ID")
}

func TestVisibilityLag(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *fakesource.Options) { o.VisibilityLag = 30 * time.Second })
	c := e.sf()
	id, err := e.sim.CreateRecord(fakesource.Salesforce, "Case", map[string]any{"Subject": "late", "AccountId": mustSeed(t, e, "Account", 1)})
	require.NoError(t, err)
	q := "/services/data/v59.0/query?q=" + url.QueryEscape("SELECT Id FROM Case WHERE Id = '"+id+"'")
	_, _, body := c.do("GET", q, nil)
	require.EqualValues(t, 0, decode(t, body)["totalSize"], "not visible to queries yet")
	code, _, _ := c.do("GET", "/services/data/v59.0/sobjects/Case/"+id, nil)
	require.Equal(t, http.StatusOK, code, "visible by id at once")
	e.clock.Advance(31 * time.Second)
	_, _, body = c.do("GET", q, nil)
	require.EqualValues(t, 1, decode(t, body)["totalSize"])

	// QuickBooks and Square lag the same way
	cust, err := e.sim.CreateRecord(fakesource.Accounting, "Customer", map[string]any{"DisplayName": "Lagging Ltd"})
	require.NoError(t, err)
	qb := e.qb()
	qq := e.qbPath("/query?query=" + url.QueryEscape("SELECT * FROM Customer WHERE Id = '"+cust+"'"))
	_, _, body = qb.do("GET", qq, nil)
	require.Empty(t, decode(t, body)["QueryResponse"])
	e.clock.Advance(31 * time.Second)
	_, _, body = qb.do("GET", qq, nil)
	require.Len(t, decode(t, body)["QueryResponse"].(map[string]any)["Customer"], 1)
}

func TestSalesforceDescribe(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.sf()
	code, _, body := c.do("GET", "/services/data/v59.0/sobjects/Case/describe", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	d := decode(t, body)
	fix := decode(t, fixture(t, "salesforce/sobject/sobject_describe_success_response.json"))
	for _, k := range []string{"name", "label", "keyPrefix", "fields", "urls", "createable", "updateable", "queryable"} {
		require.Contains(t, fix, k)
		require.Contains(t, d, k)
	}
	require.Equal(t, "500", d["keyPrefix"])
	fixField := fix["fields"].([]any)[0].(map[string]any)
	byName := map[string]map[string]any{}
	for _, f := range d["fields"].([]any) {
		m := f.(map[string]any)
		for k := range m {
			require.Contains(t, fixField, k, "describe field key %q exists in Salesforce's", k)
		}
		byName[m["name"].(string)] = m
	}
	require.Equal(t, "picklist", byName["Status"]["type"])
	require.Len(t, byName["Status"]["picklistValues"], 5)
	require.Equal(t, true, byName["Portico_Action_Id__c"]["externalId"])
	require.Equal(t, []any{"Account"}, byName["AccountId"]["referenceTo"])
	require.Equal(t, false, byName["Subject"]["nillable"])

	code, _, body = c.do("GET", "/services/data/v59.0/limits", nil)
	require.Equal(t, http.StatusOK, code)
	require.EqualValues(t, 100000, decode(t, body)["DailyApiRequests"].(map[string]any)["Max"])
	require.Less(t, decode(t, body)["DailyApiRequests"].(map[string]any)["Remaining"], 100000.0)

	code, _, body = c.do("GET", "/services/data/v59.0/sobjects/", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	require.Equal(t, keys(decode(t, fixture(t, "salesforce/sobject/describe_sobjects_success_response.json"))), keys(decode(t, body)))
	code, _, _ = c.do("GET", "/services/data/v59.0/sobjects/Nope/describe", nil)
	require.Equal(t, http.StatusNotFound, code)
}

func TestSalesforceFileUpload(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.sf()
	caseID := mustSeed(t, e, "Case", 3)
	data := base64.StdEncoding.EncodeToString([]byte("hello, portal"))
	code, _, body := c.do("POST", "/services/data/v59.0/sobjects/ContentVersion", map[string]any{
		"Title": "Photo", "PathOnClient": "photo.png", "VersionData": data, "FirstPublishLocationId": caseID})
	require.Equal(t, http.StatusCreated, code, string(body))
	id := decode(t, body)["id"].(string)
	code, _, body = c.do("GET", "/services/data/v59.0/sobjects/ContentVersion/"+id, nil)
	require.Equal(t, http.StatusOK, code)
	cv := decode(t, body)
	require.EqualValues(t, 13, cv["ContentSize"])
	require.Equal(t, "PNG", cv["FileType"])
	require.Equal(t, "/services/data/v59.0/sobjects/ContentVersion/"+id+"/VersionData", cv["VersionData"])
	require.Equal(t, caseID, cv["FirstPublishLocationId"])
	code, hdr, body := c.do("GET", cv["VersionData"].(string), nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "application/octet-stream", hdr.Get("Content-Type"))
	require.Len(t, body, 13)
}
