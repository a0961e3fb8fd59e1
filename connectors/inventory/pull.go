package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// Object names, as the shipped mappings use them.
const (
	ObjItem           = "ITEM"
	ObjItemVariation  = "ITEM_VARIATION"
	ObjInventoryCount = "inventory_count"
	ObjOrder          = "order"
)

var objectInfo = []connectors.ObjectInfo{
	{Name: ObjItem, Key: "id", CursorField: "updated_at", Deletes: true, Writable: true},
	{Name: ObjItemVariation, Key: "id", CursorField: "updated_at", Deletes: true, Writable: true},
	{Name: ObjInventoryCount, Key: "catalog_object_id:location_id", CursorField: "calculated_at", Webhooks: true},
	{Name: ObjOrder, Key: "id", CursorField: "updated_at", Writable: true, Webhooks: true},
}

// Objects implements connectors.Connector.
func (c *Connector) Objects(context.Context) ([]connectors.ObjectInfo, error) {
	return append([]connectors.ObjectInfo(nil), objectInfo...), nil
}

func knownObject(name string) (connectors.ObjectInfo, error) {
	for _, o := range objectInfo {
		if o.Name == name {
			return o, nil
		}
	}
	return connectors.ObjectInfo{}, &connectors.InvalidError{Field: "object", Msg: "unknown Square object " + name}
}

// timeLayout is Square's RFC 3339 with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, fmt.Errorf("inventory: bad time %q", s)
	}
	return t.UTC(), nil
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// pageToken continues a pull: Square's cursor for the same search, and
// the search's start time and high-water mark so far.
type pageToken struct {
	Cursor string    `json:"c"`
	Since  time.Time `json:"s,omitzero"`
	Max    time.Time `json:"m,omitzero"`
}

// Pull implements connectors.Connector. Each endpoint's cursor pages a
// search whose start time is fixed for the whole pull.
func (c *Connector) Pull(ctx context.Context, req connectors.PullRequest) (*connectors.Page, error) {
	if _, err := knownObject(req.Object); err != nil {
		return nil, err
	}
	tok := pageToken{}
	if req.Cursor != "" {
		cur, err := parseTime(req.Cursor)
		if err != nil {
			return nil, &connectors.InvalidError{Field: "cursor", Msg: err.Error()}
		}
		tok.Since, tok.Max = cur.Add(-c.opts.Overlap), cur
	}
	if req.Page != "" {
		var err error
		if tok, err = wire.DecodeToken[pageToken](req.Page); err != nil {
			return nil, err
		}
	}
	limit := req.Limit
	if limit <= 0 {
		limit = c.opts.PageSize
	}
	var (
		items  []gjson.Result
		cursor string
		body   []byte
		err    error
	)
	switch req.Object {
	case ObjItem, ObjItemVariation:
		items, cursor, body, err = c.searchCatalog(ctx, req.Object, tok, min(limit, 1000))
	case ObjInventoryCount:
		items, cursor, body, err = c.searchCounts(ctx, tok, min(limit, 1000))
	case ObjOrder:
		items, cursor, body, err = c.searchOrders(ctx, tok, min(limit, 1000))
	}
	if err != nil {
		return nil, err
	}
	page := &connectors.Page{Records: make([]connectors.Record, 0, len(items))}
	for _, it := range items {
		rec, err := toRecord(req.Object, it, body)
		if err != nil {
			return nil, err
		}
		if rec.Modified.After(tok.Max) {
			tok.Max = rec.Modified
		}
		if it.Get("is_deleted").Bool() {
			page.Deleted = append(page.Deleted, connectors.Deletion{ID: rec.ID, DeletedAt: rec.Modified})
			continue
		}
		page.Records = append(page.Records, rec)
	}
	if cursor != "" {
		tok.Cursor = cursor
		page.Next = wire.EncodeToken(tok)
	}
	page.Cursor = req.Cursor
	if !tok.Max.IsZero() {
		page.Cursor = formatTime(tok.Max)
	}
	return page, nil
}

// toRecord pulls out key, version and stamp of one object.
func toRecord(object string, it gjson.Result, body []byte) (connectors.Record, error) {
	rec := connectors.Record{Object: object, Raw: rawOf(body, it)}
	stamp := "updated_at"
	if object == ObjInventoryCount {
		rec.ID = it.Get("catalog_object_id").String() + ":" + it.Get("location_id").String()
		stamp = "calculated_at"
		if rec.ID == ":" {
			rec.ID = ""
		}
	} else {
		rec.ID = it.Get("id").String()
		rec.Version = it.Get("version").String()
	}
	if rec.ID == "" {
		return rec, connectors.Classify(connectors.ErrPermanent, fmt.Errorf("inventory: %s without id", object))
	}
	if s := it.Get(stamp).String(); s != "" {
		t, err := parseTime(s)
		if err != nil {
			return rec, connectors.Classify(connectors.ErrPermanent, err)
		}
		rec.Modified = t
		if rec.Version == "" {
			rec.Version = formatTime(t)
		}
	}
	return rec, nil
}

// rawOf returns it as a slice of the body it was parsed from, or a copy
// when its position is unknown.
func rawOf(body []byte, it gjson.Result) json.RawMessage {
	if i := it.Index; i > 0 && i+len(it.Raw) <= len(body) && string(body[i:i+len(it.Raw)]) == it.Raw {
		return json.RawMessage(body[i : i+len(it.Raw) : i+len(it.Raw)])
	}
	return json.RawMessage(it.Raw)
}

// list returns the array at key of a search answer and its cursor.
func list(body []byte, key string) ([]gjson.Result, string, error) {
	if !gjson.ValidBytes(body) {
		return nil, "", connectors.Classify(connectors.ErrUnavailable, errors.New("inventory: answer is not JSON"))
	}
	res := gjson.GetManyBytes(body, key, "cursor")
	return res[0].Array(), res[1].String(), nil
}

func (c *Connector) searchCatalog(ctx context.Context, object string, tok pageToken, limit int) ([]gjson.Result, string, []byte, error) {
	body := map[string]any{"object_types": []string{object}, "include_deleted_objects": true, "limit": limit}
	return c.search(ctx, "/v2/catalog/search", "objects", "begin_time", body, tok)
}

func (c *Connector) searchCounts(ctx context.Context, tok pageToken, limit int) ([]gjson.Result, string, []byte, error) {
	body := map[string]any{"states": []string{"IN_STOCK"}, "limit": limit}
	return c.search(ctx, "/v2/inventory/counts/batch-retrieve", "counts", "updated_after", body, tok)
}

// search posts one of Square's search bodies with the page's lower bound
// (under since, the endpoint's name for it) and cursor, and lists the
// answer's key.
func (c *Connector) search(ctx context.Context, path, key, since string, body map[string]any, tok pageToken) ([]gjson.Result, string, []byte, error) {
	if !tok.Since.IsZero() {
		body[since] = formatTime(tok.Since)
	}
	if tok.Cursor != "" {
		body["cursor"] = tok.Cursor
	}
	out, err := c.do(ctx, wire.Call{Method: http.MethodPost, Path: path, Body: body, Idempotent: true})
	if err != nil {
		return nil, "", nil, err
	}
	items, cursor, err := list(out, key)
	return items, cursor, out, err
}

func (c *Connector) searchOrders(ctx context.Context, tok pageToken, limit int) ([]gjson.Result, string, []byte, error) {
	locs, err := c.locationIDs(ctx)
	if err != nil {
		return nil, "", nil, err
	}
	filter := map[string]any{}
	if !tok.Since.IsZero() {
		filter["date_time_filter"] = map[string]any{"updated_at": map[string]any{"start_at": formatTime(tok.Since)}}
	}
	body := map[string]any{
		"location_ids": locs,
		"limit":        min(limit, 500),
		"query": map[string]any{
			"filter": filter,
			"sort":   map[string]any{"sort_field": "UPDATED_AT", "sort_order": "ASC"},
		},
	}
	if tok.Cursor != "" {
		body["cursor"] = tok.Cursor
	}
	out, err := c.do(ctx, wire.Call{Method: http.MethodPost, Path: "/v2/orders/search", Body: body, Idempotent: true})
	if err != nil {
		return nil, "", nil, err
	}
	items, cursor, err := list(out, "orders")
	return items, cursor, out, err
}

// locationIDs lists the seller's locations once; order search needs them.
func (c *Connector) locationIDs(ctx context.Context) ([]string, error) {
	c.mu.Lock()
	locs := c.locations
	c.mu.Unlock()
	if locs != nil {
		return locs, nil
	}
	out, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/v2/locations"})
	if err != nil {
		return nil, err
	}
	items, _, err := list(out, "locations")
	if err != nil {
		return nil, err
	}
	locs = make([]string, 0, len(items))
	for _, l := range items {
		locs = append(locs, l.Get("id").String())
	}
	c.mu.Lock()
	c.locations = locs
	c.mu.Unlock()
	return locs, nil
}
