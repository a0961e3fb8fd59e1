package inventory_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/inventory"
)

func examples(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("testdata/square_examples.json")
	require.NoError(t, err)
	var ex map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &ex))
	return ex
}

// replay serves recorded bodies by "METHOD path" and records request bodies.
type replay struct {
	mu     sync.Mutex
	routes map[string]func() (int, []byte)
	bodies map[string][]map[string]any
}

func newReplay(t *testing.T) (*replay, *inventory.Connector) {
	r := &replay{routes: map[string]func() (int, []byte){}, bodies: map[string][]map[string]any{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		key := req.Method + " " + req.URL.Path
		require.Equal(t, "Bearer tok", req.Header.Get("Authorization"))
		if b, _ := io.ReadAll(req.Body); len(b) > 0 {
			var m map[string]any
			require.NoError(t, json.Unmarshal(b, &m))
			r.mu.Lock()
			r.bodies[key] = append(r.bodies[key], m)
			r.mu.Unlock()
		}
		r.mu.Lock()
		h, ok := r.routes[key]
		r.mu.Unlock()
		if !ok {
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"NOT_FOUND","detail":"no route ` + key + `"}]}`))
			return
		}
		status, body := h()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := inventory.NewWithOptions(connectors.Deps{
		Connection: connectors.Connection{Name: "sq", BaseURL: srv.URL, AccessToken: "tok"},
		HTTP:       srv.Client(),
	}, inventory.Options{})
	require.NoError(t, err)
	return r, c
}

func (r *replay) serve(key string, status int, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routes[key] = func() (int, []byte) { return status, body }
}

func TestGoldenPulls(t *testing.T) {
	t.Parallel()
	ex := examples(t)
	r, c := newReplay(t)
	ctx := context.Background()

	r.serve("POST /v2/catalog/search", 200, ex["SearchCatalogObjectsResponse"])
	page, err := c.Pull(ctx, connectors.PullRequest{Object: inventory.ObjItem, Cursor: "2017-10-26T15:00:00.000Z"})
	require.NoError(t, err)
	require.Len(t, page.Records, 2)
	require.Equal(t, "X5DZ5NWWAQ44CKBLKIFQGOWK", page.Records[0].ID)
	require.Equal(t, "1509032492337", page.Records[0].Version, "the object version, for optimistic concurrency")
	require.Equal(t, "2017-10-26T15:41:32.337Z", page.Cursor)
	require.Empty(t, page.Next)
	sent := r.bodies["POST /v2/catalog/search"][0]
	require.Equal(t, "2017-10-26T14:58:00.000Z", sent["begin_time"], "the cursor less the overlap")
	require.Equal(t, true, sent["include_deleted_objects"])

	r.serve("POST /v2/inventory/counts/batch-retrieve", 200, ex["BatchRetrieveInventoryCountsResponse"])
	page, err = c.Pull(ctx, connectors.PullRequest{Object: inventory.ObjInventoryCount})
	require.NoError(t, err)
	require.Len(t, page.Records, 1)
	require.Equal(t, "W62UWFY35CWMYGVWK6TWJDNI:59TNP9SA8VGDA", page.Records[0].ID)
	require.Equal(t, "2016-11-16T22:28:01.223Z", page.Cursor)

	r.serve("GET /v2/locations", 200, ex["ListLocationsResponse"])
	r.serve("POST /v2/orders/search", 200, ex["SearchOrdersResponse"])
	page, err = c.Pull(ctx, connectors.PullRequest{Object: inventory.ObjOrder})
	require.NoError(t, err)
	require.Empty(t, page.Records, "the example returns order_entries only")
	require.NotEmpty(t, page.Next, "its cursor continues the search")
	r.serve("POST /v2/orders/search", 200, []byte(`{"orders":[`+string(orderOf(t, ex["RetrieveOrderResponse"]))+`]}`))
	page, err = c.Pull(ctx, connectors.PullRequest{Object: inventory.ObjOrder, Page: page.Next})
	require.NoError(t, err)
	require.Len(t, page.Records, 1)
	require.Empty(t, page.Next)
	sent = r.bodies["POST /v2/orders/search"][1]
	require.Equal(t, "123", sent["cursor"])
	require.NotEmpty(t, sent["location_ids"])
}

func orderOf(t *testing.T, resp json.RawMessage) json.RawMessage {
	var m struct {
		Order json.RawMessage `json:"order"`
	}
	require.NoError(t, json.Unmarshal(resp, &m))
	return m.Order
}

func TestGoldenGetsAndWrites(t *testing.T) {
	t.Parallel()
	ex := examples(t)
	r, c := newReplay(t)
	ctx := context.Background()

	r.serve("GET /v2/orders/CAISENgvlJ6jLWAzERDzjyHVybY", 200, ex["RetrieveOrderResponse"])
	rec, err := c.Get(ctx, inventory.ObjOrder, "CAISENgvlJ6jLWAzERDzjyHVybY")
	require.NoError(t, err)
	require.Equal(t, "CAISENgvlJ6jLWAzERDzjyHVybY", rec.ID)

	var cat struct {
		Object struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"object"`
	}
	require.NoError(t, json.Unmarshal(ex["RetrieveCatalogObjectResponse"], &cat))
	r.serve("GET /v2/catalog/object/"+cat.Object.ID, 200, ex["RetrieveCatalogObjectResponse"])
	rec, err = c.Get(ctx, cat.Object.Type, cat.Object.ID)
	require.NoError(t, err)
	require.Equal(t, cat.Object.ID, rec.ID)
	require.NotEmpty(t, rec.Version)

	r.serve("GET /v2/inventory/W62UWFY35CWMYGVWK6TWJDNI", 200, ex["RetrieveInventoryCountResponse"])
	rec, err = c.Get(ctx, inventory.ObjInventoryCount, "W62UWFY35CWMYGVWK6TWJDNI:C6W5YS5QM06F5")
	require.NoError(t, err)
	require.Equal(t, "W62UWFY35CWMYGVWK6TWJDNI:C6W5YS5QM06F5", rec.ID)

	r.serve("POST /v2/catalog/object", 200, ex["UpsertCatalogObjectResponse"])
	res, err := c.Write(ctx, connectors.Write{Op: connectors.OpCreate, Object: inventory.ObjItem, IdempotencyKey: "k1",
		Fields: map[string]any{"item_data": map[string]any{"name": "Cocoa"}}})
	require.NoError(t, err)
	require.Equal(t, "R2TA2FOBUGCJZNIWJSOSNAI4", res.ID)
	require.Equal(t, "1623685899021", res.Version)
	sent := r.bodies["POST /v2/catalog/object"][0]
	require.Equal(t, "k1", sent["idempotency_key"])

	r.serve("POST /v2/orders", 200, ex["CreateOrderResponse"])
	res, err = c.Write(ctx, connectors.Write{Op: connectors.OpCreate, Object: inventory.ObjOrder, IdempotencyKey: "k2",
		Fields: map[string]any{"location_id": "057P5VYJ4A5X1"}})
	require.NoError(t, err)
	require.NotEmpty(t, res.ID)

	var upd struct {
		Order struct {
			ID string `json:"id"`
		} `json:"order"`
	}
	require.NoError(t, json.Unmarshal(ex["UpdateOrderResponse"], &upd))
	r.serve("PUT /v2/orders/"+upd.Order.ID, 200, ex["UpdateOrderResponse"])
	res, err = c.Write(ctx, connectors.Write{Op: connectors.OpUpdate, Object: inventory.ObjOrder, ID: upd.Order.ID,
		IdempotencyKey: "k3", ExpectedVersion: "1", Fields: map[string]any{"state": "CANCELED"}})
	require.NoError(t, err)
	require.Equal(t, upd.Order.ID, res.ID)
	sent = r.bodies["PUT /v2/orders/"+upd.Order.ID][0]
	require.EqualValues(t, 1, sent["order"].(map[string]any)["version"])

	r.serve("DELETE /v2/catalog/object/7SB3ZQYJ5GDMVFL7JK46JCHT", 200, ex["DeleteCatalogObjectResponse"])
	_, err = c.Write(ctx, connectors.Write{Op: connectors.OpDelete, Object: inventory.ObjItem, ID: "7SB3ZQYJ5GDMVFL7JK46JCHT", IdempotencyKey: "k4"})
	require.NoError(t, err)
}

func TestGoldenErrors(t *testing.T) {
	t.Parallel()
	ex := examples(t)
	var recorded []struct {
		Path   string            `json:"path"`
		Errors []json.RawMessage `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(ex["_errors"], &recorded))
	require.NotEmpty(t, recorded)
	r, c := newReplay(t)
	for i, e := range recorded {
		var one struct {
			Code  string `json:"code"`
			Field string `json:"field"`
		}
		require.NoError(t, json.Unmarshal(e.Errors[0], &one))
		body, _ := json.Marshal(map[string]any{"errors": e.Errors})
		status := 400
		if one.Code == "NOT_FOUND" {
			status = 404
		}
		r.serve("GET /v2/orders/x", status, body)
		_, err := c.Get(context.Background(), inventory.ObjOrder, "x")
		switch one.Code {
		case "NOT_FOUND":
			require.ErrorIs(t, err, connectors.ErrNotFound, "%d %s", i, e.Path)
		default:
			var ie *connectors.InvalidError
			require.ErrorAs(t, err, &ie, "%d %s", i, e.Path)
			require.Equal(t, one.Field, ie.Field)
			require.Equal(t, one.Code, ie.Code)
		}
	}

	cases := []struct {
		status int
		body   string
		class  error
	}{
		{429, `{"errors":[{"category":"RATE_LIMIT_ERROR","code":"RATE_LIMITED","detail":"slow down"}]}`, connectors.ErrRateLimited},
		{400, `{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"VERSION_MISMATCH","detail":"Object version does not match latest database version.","field":"version"}]}`, connectors.ErrConflict},
		{409, `{"errors":[{"category":"INVALID_REQUEST_ERROR","code":"CONFLICT","detail":"version"}]}`, connectors.ErrConflict},
		{401, `{"errors":[{"category":"AUTHENTICATION_ERROR","code":"UNAUTHORIZED","detail":"This request could not be authorized."}]}`, connectors.ErrAuthExpired},
		{500, `{"errors":[{"category":"API_ERROR","code":"INTERNAL_SERVER_ERROR","detail":"boom"}]}`, connectors.ErrUnavailable},
		{503, `upstream connect error`, connectors.ErrUnavailable},
	}
	for _, tc := range cases {
		r.serve("GET /v2/orders/y", tc.status, []byte(tc.body))
		_, err := c.Get(context.Background(), inventory.ObjOrder, "y")
		require.ErrorIs(t, err, tc.class, tc.body)
		for _, other := range []error{connectors.ErrRateLimited, connectors.ErrUnavailable, connectors.ErrAuthExpired,
			connectors.ErrConflict, connectors.ErrNotFound, connectors.ErrInvalid, connectors.ErrPermanent} {
			if !errors.Is(other, tc.class) {
				require.False(t, errors.Is(err, other), "%s also matches %v", tc.body, other)
			}
		}
	}
}
