package fakesource_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// What the vendors' own clients call around the connectors' calls, and
// how they expect an unknown route to be answered.
func TestClientConformance(t *testing.T) {
	t.Parallel()
	e := setup(t)
	sf := e.sf()

	// describeGlobal without the trailing slash answers at once (no redirect).
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, e.url+"/services/data/v59.0/sobjects", nil)
	req.Header.Set("Authorization", "Bearer "+sf.tok)
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	var global struct {
		SObjects []struct{ Name string } `json:"sobjects"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&global))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotEmpty(t, global.SObjects)

	// The identity URL the token endpoint returns is served, for its token.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {e.cr.Salesforce.ClientID}, "client_secret": {e.cr.Salesforce.ClientSecret}}
	resp, err = http.PostForm(e.cr.Salesforce.TokenURL, form)
	require.NoError(t, err)
	var tok map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, tok["id"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var id map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&id))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, tok["id"], id["id"])
	require.NotEmpty(t, id["organization_id"])
	require.Contains(t, id["urls"].(map[string]any)["rest"], "/services/data/v{version}/")
	req, _ = http.NewRequest(http.MethodGet, tok["id"].(string), nil)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "only with a token")

	// The version's resource list names the identity URL (jsforce's identity() reads it there).
	code, _, body := sf.do(http.MethodGet, "/services/data/v59.0", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	require.Equal(t, tok["id"], decode(t, body)["identity"])
	require.Equal(t, "/services/data/v59.0/sobjects", decode(t, body)["sobjects"])

	// Unknown routes answer each vendor's JSON error.
	for path, want := range map[string]string{
		"/services/data/v59.0/nothing-here": `[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]`,
		"/v2/nothing-here":                  `{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"NOT_FOUND","detail":"Resource not found."}]}`,
	} {
		code, hdr, body := sf.do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusNotFound, code, path)
		require.Contains(t, hdr.Get("Content-Type"), "application/json", path)
		require.JSONEq(t, want, string(body), path)
	}
	code, _, body = sf.do(http.MethodGet, "/v3/company/"+e.cr.Accounting.Realm+"/nothing/here/at/all", nil)
	require.Equal(t, http.StatusNotFound, code)
	var fault struct {
		Fault struct {
			Error []struct{ Code string } `json:"Error"`
		} `json:"Fault"`
	}
	require.NoError(t, json.Unmarshal(body, &fault), string(body))
	require.Equal(t, "3200", fault.Fault.Error[0].Code)
}

// QuickBooks renders times in the company's zone, Pacific time: -08:00 in
// winter and -07:00 in summer.
func TestQuickBooksTimesFollowDaylightSaving(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctl := &client{t: t, base: e.url}
	for stamp, want := range map[string]string{
		"2026-01-05T12:00:00Z": "2026-01-05T04:00:00-08:00",
		"2025-07-01T12:00:00Z": "2025-07-01T05:00:00-07:00",
	} {
		code, _, body := ctl.do("POST", "/_sim/accounting/Customer?modstamp="+stamp, map[string]any{"DisplayName": "DST " + stamp})
		require.Equal(t, http.StatusCreated, code, string(body))
		rec := decode(t, body)["record"].(map[string]any)
		require.Equal(t, want, rec["MetaData"].(map[string]any)["LastUpdatedTime"])
	}
}

// Square's catalog search honours its query, and orders search answers
// entries when asked and sorts newest first by default.
func TestSquareSearchConformance(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.sq()
	search := func(q map[string]any) []map[string]any {
		code, _, body := c.do("POST", "/v2/catalog/search", map[string]any{"object_types": []string{"ITEM_VARIATION"}, "limit": 1000, "query": q})
		require.Equal(t, http.StatusOK, code, string(body))
		var out []map[string]any
		for _, o := range decode(t, body)["objects"].([]any) {
			out = append(out, o.(map[string]any))
		}
		return out
	}
	all := search(nil)
	require.Greater(t, len(all), 2)
	sku := all[1]["item_variation_data"].(map[string]any)["sku"].(string)
	got := search(map[string]any{"exact_query": map[string]any{"attribute_name": "sku", "attribute_value": strings.ToLower(sku)}})
	require.Len(t, got, 1, "exact, ignoring case")
	require.Equal(t, all[1]["id"], got[0]["id"])
	prefix := sku[:len(sku)-2]
	got = search(map[string]any{"prefix_query": map[string]any{"attribute_name": "sku", "attribute_prefix": prefix}})
	require.NotEmpty(t, got)
	require.Less(t, len(got), len(all))
	for _, o := range got {
		require.True(t, strings.HasPrefix(o["item_variation_data"].(map[string]any)["sku"].(string), prefix))
	}
	name := all[0]["item_variation_data"].(map[string]any)["name"].(string)
	got = search(map[string]any{"text_query": map[string]any{"keywords": []string{strings.Fields(name)[0]}}})
	require.NotEmpty(t, got)
	require.Less(t, len(got), len(all))
	code, _, body := c.do("POST", "/v2/catalog/search", map[string]any{"query": map[string]any{"items_for_tax_query": map[string]any{"tax_ids": []string{"x"}}}})
	require.Equal(t, http.StatusBadRequest, code, "a query the simulator cannot answer is refused, not ignored: %s", body)

	code, _, body = c.do("GET", "/v2/locations", nil)
	require.Equal(t, http.StatusOK, code)
	var locs []string
	for _, l := range decode(t, body)["locations"].([]any) {
		locs = append(locs, l.(map[string]any)["id"].(string))
	}
	code, _, body = c.do("POST", "/v2/orders/search", map[string]any{"location_ids": locs, "limit": 1000})
	require.Equal(t, http.StatusOK, code, string(body))
	orders := decode(t, body)["orders"].([]any)
	require.Greater(t, len(orders), 2)
	for i := 1; i < len(orders); i++ {
		require.GreaterOrEqual(t, orders[i-1].(map[string]any)["created_at"], orders[i].(map[string]any)["created_at"], "newest first by default")
	}
	code, _, body = c.do("POST", "/v2/orders/search", map[string]any{"location_ids": locs, "limit": 1000, "return_entries": true})
	require.Equal(t, http.StatusOK, code, string(body))
	page := decode(t, body)
	require.NotContains(t, page, "orders")
	entries := page["order_entries"].([]any)
	require.Len(t, entries, len(orders))
	first := entries[0].(map[string]any)
	require.Equal(t, orders[0].(map[string]any)["id"], first["order_id"])
	require.ElementsMatch(t, []string{"order_id", "version", "location_id"}, keys(first))

	// Paged by position in that order, to the end, each order once.
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 100)
		req := map[string]any{"location_ids": locs, "limit": 7, "query": map[string]any{"sort": map[string]any{"sort_field": "CREATED_AT", "sort_order": "DESC"}}}
		if cursor != "" {
			req["cursor"] = cursor
		}
		code, _, body = c.do("POST", "/v2/orders/search", req)
		require.Equal(t, http.StatusOK, code, string(body))
		p := decode(t, body)
		for _, o := range p["orders"].([]any) {
			id := o.(map[string]any)["id"].(string)
			require.False(t, seen[id])
			seen[id] = true
		}
		next, _ := p["cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, seen, len(orders))
}

// sObject Collections create, update, read and delete several records in
// one call, each answered as its own call would be.
func TestSalesforceCollections(t *testing.T) {
	t.Parallel()
	e := setup(t)
	sf := e.sf()
	const base = "/services/data/v59.0/composite/sobjects"
	acct := mustSeed(t, e, "Account", 0)
	code, _, body := sf.do("POST", base, map[string]any{"allOrNone": false, "records": []any{
		map[string]any{"attributes": map[string]any{"type": "Case"}, "Subject": "First", "AccountId": acct},
		map[string]any{"attributes": map[string]any{"type": "Case"}, "Subject": "Second", "Priority": "Urgent"},
		map[string]any{"attributes": map[string]any{"type": "Contact"}, "LastName": "Lovelace", "AccountId": acct},
	}})
	require.Equal(t, http.StatusOK, code, string(body))
	var res []struct {
		ID      *string `json:"id"`
		Success bool    `json:"success"`
		Errors  []struct {
			StatusCode string   `json:"statusCode"`
			Message    string   `json:"message"`
			Fields     []string `json:"fields"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(body, &res), string(body))
	require.Len(t, res, 3)
	require.True(t, res[0].Success)
	require.False(t, res[1].Success)
	require.Nil(t, res[1].ID)
	require.Equal(t, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", res[1].Errors[0].StatusCode)
	require.True(t, res[2].Success)
	caseID, contactID := *res[0].ID, *res[2].ID
	require.True(t, strings.HasPrefix(contactID, "003"))

	code, _, body = sf.do("PATCH", base, map[string]any{"records": []any{
		map[string]any{"attributes": map[string]any{"type": "Case"}, "id": caseID, "Subject": "First, renamed"},
	}})
	require.Equal(t, http.StatusOK, code, string(body))
	require.Contains(t, string(body), `"success":true`)

	code, _, body = sf.do("GET", "/services/data/v59.0/composite/sobjects/Case?ids="+caseID+",500000000000000AAA&fields=Id,Subject", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	var got []map[string]any
	require.NoError(t, json.Unmarshal(body, &got))
	require.Equal(t, "First, renamed", got[0]["Subject"])
	require.Nil(t, got[1], "an id that names no record reads as null")

	code, _, body = sf.do("DELETE", base+"?ids="+caseID+","+contactID+"&allOrNone=false", nil)
	require.Equal(t, http.StatusOK, code, string(body))
	require.Equal(t, 2, strings.Count(string(body), `"success":true`), string(body))
	code, _, _ = sf.do("GET", "/services/data/v59.0/sobjects/Case/"+caseID, nil)
	require.Equal(t, http.StatusNotFound, code)

	code, _, body = sf.do("POST", base, map[string]any{"allOrNone": true, "records": []any{map[string]any{"attributes": map[string]any{"type": "Case"}, "Subject": "x"}}})
	require.Equal(t, http.StatusBadRequest, code, "allOrNone is refused, not ignored: %s", body)
}

// QuickBooks takes an upload without its metadata part (node-quickbooks
// sends the file alone and links it afterwards): the attachment is named
// after the file part.
func TestQuickBooksUploadWithoutMetadata(t *testing.T) {
	t.Parallel()
	e := setup(t)
	qb := e.qb()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file_content_01"; filename="receipt.txt"`)
	h.Set("Content-Type", "text/plain")
	part, err := mw.CreatePart(h)
	require.NoError(t, err)
	_, _ = part.Write([]byte("hello"))
	require.NoError(t, mw.Close())
	req, _ := http.NewRequest(http.MethodPost, e.url+e.qbPath("/upload"), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+qb.tok)
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		AttachableResponse []struct {
			Attachable map[string]any `json:"Attachable"`
		} `json:"AttachableResponse"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	a := out.AttachableResponse[0].Attachable
	require.Equal(t, "receipt.txt", a["FileName"])
	require.Equal(t, "text/plain", a["ContentType"])
	require.EqualValues(t, 5, a["Size"])
}
