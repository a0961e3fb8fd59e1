package fakesource_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Bad input always gets a 4xx naming the problem, never a 5xx or a dropped connection.
func TestBadInputGets4xx(t *testing.T) {
	t.Parallel()
	e := setup(t)
	sf, qb, sq := e.sf(), e.qb(), e.sq()
	caseID := mustSeed(t, e, "Case", 0)
	order := mustSeedSys(t, e, "inventory", "Order", 0)
	cases := []struct {
		c            *client
		method, path string
		body         any
	}{
		{sf, "PATCH", "/services/data/v59.0/sobjects/Case/" + caseID, "[1,2]"},
		{sf, "PATCH", "/services/data/v59.0/sobjects/Case/" + caseID, "null"},
		{sf, "PATCH", "/services/data/v59.0/sobjects/Case/" + caseID, `{"AccountId": 5}`},
		{sf, "POST", "/services/data/v59.0/sobjects/ContentVersion", `{"Title": "x", "PathOnClient": 7}`},
		{sf, "POST", "/services/data/v59.0/sobjects/Nope", `{}`},
		{sf, "PATCH", "/services/data/v59.0/sobjects/Case/Portico_Action_Id__c/k", "{"},
		{sf, "GET", "/services/data/v59.0/query?q=SELECT+Id+FROM+Case+WHERE+Id+IN+(", nil},
		{sf, "GET", "/services/data/v59.0/query", nil},
		{sf, "GET", "/services/data/v59.0/query/01gnope-2000", nil},
		{sf, "GET", "/services/data/59/query?q=SELECT+Id+FROM+Case", nil},
		{sf, "GET", "/services/data/v59.0/sobjects/Case/updated/?start=x&end=y", nil},
		{qb, "POST", e.qbPath("/invoice"), `{"CustomerRef": "1", "Line": "x"}`},
		{qb, "POST", e.qbPath("/invoice"), `[]`},
		{qb, "POST", e.qbPath("/customer"), `{"Id": 5, "SyncToken": 0}`},
		{qb, "POST", e.qbPath("/nope"), `{}`},
		{qb, "GET", e.qbPath("/query?query=DELETE+FROM+Invoice"), nil},
		{qb, "GET", e.qbPath("/query?query=SELECT+*+FROM+Invoice+WHERE+Bogus+%3D+%271%27"), nil},
		{qb, "GET", e.qbPath("/cdc?entities=Invoice"), nil},
		{sq, "POST", "/v2/orders", `{"order": "x"}`},
		{sq, "POST", "/v2/orders", `{"order": {"location_id": "nope"}}`},
		{sq, "PUT", "/v2/orders/" + order, `{"order": {"version": "x"}}`},
		{sq, "PUT", "/v2/orders/" + order, `{"order": {"version": 1, "state": "BOGUS"}}`},
		{sq, "PUT", "/v2/orders/nope", `{"order": {"version": 1}}`},
		{sq, "POST", "/v2/orders/search", `{"location_ids": ["x"], "cursor": "%%%"}`},
		{sq, "POST", "/v2/orders/search", `{"location_ids": ["x"], "query": {"sort": {"sort_field": "PRICE"}}}`},
		{sq, "POST", "/v2/catalog/search", `{"object_types": ["NOPE"]}`},
		{sq, "POST", "/v2/catalog/search", `{"begin_time": "yesterday"}`},
		{sq, "POST", "/v2/catalog/object", `{"idempotency_key": "k", "object": {"type": "ITEM", "id": "#x"}}`},
		{sq, "POST", "/v2/catalog/object", `{"object": {"type": "ITEM"}}`},
		{sq, "POST", "/v2/inventory/counts/batch-retrieve", `{"updated_after": 5}`},
		{sq, "GET", "/v2/customers/nope", nil},
	}
	for _, tc := range cases {
		code, _, body := tc.c.do(tc.method, tc.path, tc.body)
		require.True(t, code >= 400 && code < 500, "%s %s %v: %d %s", tc.method, tc.path, tc.body, code, body)
		require.NotEmpty(t, body, "%s %s says why", tc.method, tc.path)
	}
	require.Zero(t, e.sim.Stats().CallCount("", "", 500))
}
