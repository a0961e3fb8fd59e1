package fakesource_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
)

// squareSchemas holds the property names of Square's response schemas (testdata).
type squareSchemas struct {
	Schemas map[string]struct {
		Properties map[string]struct {
			Ref string `json:"ref"`
		} `json:"properties"`
	} `json:"schemas"`
}

// requireSquareShape asserts every key the simulator sent exists in Square's schema.
func requireSquareShape(t *testing.T, sc *squareSchemas, schema string, v any, path string) {
	t.Helper()
	s, ok := sc.Schemas[schema]
	require.True(t, ok, "%s: unknown schema %s", path, schema)
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			p, ok := s.Properties[k]
			require.True(t, ok, "%s: %s has no property %q", path, schema, k)
			if p.Ref != "" {
				requireSquareShape(t, sc, p.Ref, sub, path+"."+k)
			}
		}
	case []any:
		for i, e := range x {
			requireSquareShape(t, sc, schema, e, path+"["+string(rune('0'+i%10))+"]")
		}
	}
}

func loadSquare(t *testing.T) *squareSchemas {
	var sc squareSchemas
	require.NoError(t, json.Unmarshal(fixture(t, "inventory/square/schemas.json"), &sc))
	return &sc
}

func TestInventoryShapesAndPaging(t *testing.T) {
	t.Parallel()
	e := setup(t)
	sc := loadSquare(t)
	c := e.sq()

	code, _, body := c.do("GET", "/v2/locations", nil)
	require.Equal(t, http.StatusOK, code)
	locs := decode(t, body)
	requireSquareShape(t, sc, "ListLocationsResponse", locs, "locations")
	loc := locs["locations"].([]any)[0].(map[string]any)["id"].(string)

	// orders, paged by updated_at with a cursor, to the end
	seen := map[string]bool{}
	cursor := ""
	last := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 1000)
		req := map[string]any{"location_ids": []string{loc}, "limit": 7, "query": map[string]any{
			"filter": map[string]any{"date_time_filter": map[string]any{"updated_at": map[string]any{"start_at": "2024-01-01T00:00:00Z"}}},
			"sort":   map[string]any{"sort_field": "UPDATED_AT", "sort_order": "ASC"}}}
		if cursor != "" {
			req["cursor"] = cursor
		}
		code, _, body := c.do("POST", "/v2/orders/search", req)
		require.Equal(t, http.StatusOK, code, string(body))
		page := decode(t, body)
		requireSquareShape(t, sc, "SearchOrdersResponse", page, "orders")
		for _, o := range page["orders"].([]any) {
			m := o.(map[string]any)
			require.Equal(t, loc, m["location_id"])
			require.False(t, seen[m["id"].(string)])
			seen[m["id"].(string)] = true
			require.GreaterOrEqual(t, m["updated_at"], last)
			last = m["updated_at"].(string)
			f := m["fulfillments"].([]any)[0].(map[string]any)
			require.Equal(t, "SHIPMENT", f["type"])
			require.Contains(t, f["shipment_details"], "carrier")
		}
		c, _ := page["cursor"].(string)
		if c == "" {
			break
		}
		cursor = c
	}
	require.NotEmpty(t, seen)

	code, _, body = c.do("POST", "/v2/catalog/search", map[string]any{"object_types": []string{"ITEM", "ITEM_VARIATION"}, "limit": 5, "begin_time": "2024-01-01T00:00:00Z"})
	require.Equal(t, http.StatusOK, code, string(body))
	cat := decode(t, body)
	requireSquareShape(t, sc, "SearchCatalogObjectsResponse", cat, "catalog")
	require.Len(t, cat["objects"], 5)
	require.NotEmpty(t, cat["cursor"])

	code, _, body = c.do("POST", "/v2/inventory/counts/batch-retrieve", map[string]any{"location_ids": []string{loc}, "updated_after": "2024-01-01T00:00:00Z", "limit": 3})
	require.Equal(t, http.StatusOK, code, string(body))
	counts := decode(t, body)
	requireSquareShape(t, sc, "BatchRetrieveInventoryCountsResponse", counts, "counts")
	require.Len(t, counts["counts"], 3)
	for _, ct := range counts["counts"].([]any) {
		require.Equal(t, loc, ct.(map[string]any)["location_id"])
	}

	// a Square customer links to a Salesforce account and back
	acct, err := e.sim.Record(fakesource.Salesforce, "Account", mustSeed(t, e, "Account", 0))
	require.NoError(t, err)
	code, _, body = c.do("GET", "/v2/customers/"+acct["Square_Customer_Id__c"].(string), nil)
	require.Equal(t, http.StatusOK, code, string(body))
	cust := decode(t, body)
	requireSquareShape(t, sc, "RetrieveCustomerResponse", cust, "customer")
	require.Equal(t, acct["Id"], cust["customer"].(map[string]any)["reference_id"])

	code, _, body = c.do("POST", "/v2/orders/search", map[string]any{"location_ids": []string{}})
	require.Equal(t, http.StatusBadRequest, code)
	var errs struct {
		Errors []map[string]any `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(body, &errs))
	requireSquareShape(t, sc, "Error", errs.Errors[0], "error")
	require.Equal(t, "location_ids", errs.Errors[0]["field"])
}

func TestInventoryOrderWrites(t *testing.T) {
	t.Parallel()
	e := setup(t)
	sc := loadSquare(t)
	c := e.sq()
	id, err := e.sim.SeedID(fakesource.Inventory, "Order", 0)
	require.NoError(t, err)
	code, _, body := c.do("GET", "/v2/orders/"+id, nil)
	require.Equal(t, http.StatusOK, code)
	got := decode(t, body)
	requireSquareShape(t, sc, "RetrieveOrderResponse", got, "order")
	order := got["order"].(map[string]any)
	ver := order["version"].(float64)

	// a stale version is refused
	code, _, body = c.do("PUT", "/v2/orders/"+id, map[string]any{"order": map[string]any{"version": ver - 1, "state": "CANCELED"}, "idempotency_key": "u-1"})
	require.Equal(t, http.StatusBadRequest, code)
	var errs struct {
		Errors []map[string]any `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(body, &errs))
	require.Equal(t, "VERSION_MISMATCH", errs.Errors[0]["code"])
	require.Equal(t, "INVALID_REQUEST_ERROR", errs.Errors[0]["category"])

	e.clock.Advance(time.Second)
	uid := order["fulfillments"].([]any)[0].(map[string]any)["uid"]
	upd := map[string]any{"order": map[string]any{"version": ver, "fulfillments": []any{map[string]any{"uid": uid,
		"shipment_details": map[string]any{"tracking_number": "1Z999", "carrier": "UPS"}}}}, "idempotency_key": "u-2"}
	code, _, first := c.do("PUT", "/v2/orders/"+id, upd)
	require.Equal(t, http.StatusOK, code, string(first))
	requireSquareShape(t, sc, "UpdateOrderResponse", decode(t, first), "update")
	updated := decode(t, first)["order"].(map[string]any)
	require.Equal(t, ver+1, updated["version"])
	sd := updated["fulfillments"].([]any)[0].(map[string]any)["shipment_details"].(map[string]any)
	require.Equal(t, "1Z999", sd["tracking_number"])
	require.Contains(t, sd, "recipient", "a sparse update merges by uid")
	require.Greater(t, updated["updated_at"], order["updated_at"])
	code, _, second := c.do("PUT", "/v2/orders/"+id, upd)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(first), string(second), "a replayed idempotency_key returns the first result")

	// stale_next_write
	require.NoError(t, e.sim.SetFaults(fakesource.Inventory, fakesource.Faults{StaleNextWrite: true}))
	code, _, body = c.do("PUT", "/v2/orders/"+id, map[string]any{"order": map[string]any{"version": updated["version"], "state": "COMPLETED"}})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "VERSION_MISMATCH")

	// create with an idempotency key, twice
	locs := e.sim.Stats().Records["inventory"]["Order"]
	loc := updated["location_id"]
	create := map[string]any{"idempotency_key": "c-1", "order": map[string]any{"location_id": loc, "customer_id": updated["customer_id"],
		"line_items": []any{map[string]any{"name": "Mug", "quantity": "2", "base_price_money": map[string]any{"amount": 1250, "currency": "USD"}}}}}
	code, _, first = c.do("POST", "/v2/orders", create)
	require.Equal(t, http.StatusOK, code, string(first))
	requireSquareShape(t, sc, "CreateOrderResponse", decode(t, first), "create")
	code, _, second = c.do("POST", "/v2/orders", create)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, string(first), string(second))
	made := decode(t, first)["order"].(map[string]any)
	require.EqualValues(t, 2500, made["total_money"].(map[string]any)["amount"])
	require.Equal(t, locs+1, e.sim.Stats().Records["inventory"]["Order"])
	create["order"].(map[string]any)["customer_id"] = "SOMEONEELSE"
	code, _, body = c.do("POST", "/v2/orders", create)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "IDEMPOTENCY_KEY_REUSED")
	require.Equal(t, 3, e.sim.Stats().Duplicates, "u-2 once, c-1 twice (the reuse with another body counts as presented)")
}

func TestInventoryCatalogUpsert(t *testing.T) {
	t.Parallel()
	e := setup(t)
	sc := loadSquare(t)
	c := e.sq()
	item := map[string]any{"idempotency_key": "cat-1", "object": map[string]any{"type": "ITEM", "id": "#mug",
		"item_data": map[string]any{"name": "Mug", "variations": []any{map[string]any{"type": "ITEM_VARIATION", "id": "#mug-small",
			"item_variation_data": map[string]any{"name": "Small", "pricing_type": "FIXED_PRICING", "price_money": map[string]any{"amount": 900, "currency": "USD"}}}}}}}
	code, _, body := c.do("POST", "/v2/catalog/object", item)
	require.Equal(t, http.StatusOK, code, string(body))
	resp := decode(t, body)
	requireSquareShape(t, sc, "UpsertCatalogObjectResponse", resp, "upsert")
	require.Len(t, resp["id_mappings"], 2)
	obj := resp["catalog_object"].(map[string]any)
	vars := obj["item_data"].(map[string]any)["variations"].([]any)
	require.Len(t, vars, 1)
	require.Equal(t, obj["id"], vars[0].(map[string]any)["item_variation_data"].(map[string]any)["item_id"])

	e.clock.Advance(time.Second)
	upd := map[string]any{"idempotency_key": "cat-2", "object": map[string]any{"type": "ITEM", "id": obj["id"], "version": obj["version"], "item_data": map[string]any{"name": "Big mug"}}}
	code, _, body = c.do("POST", "/v2/catalog/object", upd)
	require.Equal(t, http.StatusOK, code, string(body))
	newer := decode(t, body)["catalog_object"].(map[string]any)
	require.Greater(t, newer["version"], obj["version"])
	upd["idempotency_key"] = "cat-3" // same stale version, new key
	code, _, body = c.do("POST", "/v2/catalog/object", upd)
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "VERSION_MISMATCH")
}

func TestInventoryOAuthTokenExpires(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *fakesource.Options) { o.TokenTTL = time.Minute })
	c := &client{t: t, base: e.url}
	code, _, body := c.do("POST", "/oauth2/token", map[string]any{"client_id": e.cr.Inventory.ClientID, "client_secret": e.cr.Inventory.ClientSecret,
		"grant_type": "refresh_token", "refresh_token": e.cr.Inventory.RefreshToken})
	require.Equal(t, http.StatusOK, code, string(body))
	c.tok = decode(t, body)["access_token"].(string)
	code, _, _ = c.do("GET", "/v2/locations", nil)
	require.Equal(t, http.StatusOK, code)
	e.clock.Advance(2 * time.Minute)
	code, _, body = c.do("GET", "/v2/locations", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, string(body), "AUTHENTICATION_ERROR")
	code, _, _ = e.sq().do("GET", "/v2/locations", nil)
	require.Equal(t, http.StatusOK, code, "the static access token does not expire")
	code, _, body = (&client{t: t, base: e.url, tok: "nope"}).do("GET", "/v2/locations", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	require.Contains(t, string(body), `"code":"UNAUTHORIZED"`)
}
