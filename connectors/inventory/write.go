package inventory

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// Get implements connectors.Connector. An inventory count's id is
// "catalog_object_id:location_id".
func (c *Connector) Get(ctx context.Context, object, id string) (*connectors.Record, error) {
	return c.get(ctx, object, id, false)
}

// get reads one object; write says it serves a write and may spend the
// budget reserved for writes.
func (c *Connector) get(ctx context.Context, object, id string, write bool) (*connectors.Record, error) {
	if _, err := knownObject(object); err != nil {
		return nil, err
	}
	var (
		path, key string
		q         url.Values
	)
	switch object {
	case ObjItem, ObjItemVariation:
		path, key = "/v2/catalog/object/"+url.PathEscape(id), "object"
	case ObjOrder:
		path, key = "/v2/orders/"+url.PathEscape(id), "order"
	case ObjInventoryCount:
		obj, loc, ok := strings.Cut(id, ":")
		if !ok {
			return nil, &connectors.InvalidError{Field: "id", Msg: "an inventory count id is catalog_object_id:location_id"}
		}
		path, q = "/v2/inventory/"+url.PathEscape(obj), url.Values{"location_ids": {loc}}
	}
	body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: path, Query: q, Write: write})
	if err != nil {
		return nil, err
	}
	var it gjson.Result
	if object == ObjInventoryCount {
		for _, cnt := range gjson.GetBytes(body, "counts").Array() {
			if cnt.Get("catalog_object_id").String()+":"+cnt.Get("location_id").String() == id && cnt.Get("state").String() == "IN_STOCK" {
				it = cnt
			}
		}
		if !it.Exists() {
			return nil, connectors.Classify(connectors.ErrNotFound, fmt.Errorf("inventory: no IN_STOCK count %s", id))
		}
	} else if it = gjson.GetBytes(body, key); !it.IsObject() {
		return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("inventory: answer without %s", key))
	}
	if it.Get("is_deleted").Bool() {
		return nil, connectors.Classify(connectors.ErrNotFound, fmt.Errorf("inventory: %s %s is deleted", object, id))
	}
	if object != ObjInventoryCount && it.Get("type").Exists() && it.Get("type").String() != object {
		return nil, connectors.Classify(connectors.ErrNotFound, fmt.Errorf("inventory: %s is a %s, not a %s", id, it.Get("type").String(), object))
	}
	rec, err := toRecord(object, it, body)
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// Write implements connectors.Connector. Every call carries the
// idempotency key, which Square uses to answer a repeated request with
// the first one's result; an update carries the expected version.
func (c *Connector) Write(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	info, err := knownObject(w.Object)
	if err != nil {
		return nil, err
	}
	if !info.Writable {
		return nil, &connectors.InvalidError{Field: "object", Msg: "Square object " + w.Object + " is not writable"}
	}
	if w.IdempotencyKey == "" && w.Op != connectors.OpDelete {
		return nil, &connectors.InvalidError{Field: "idempotency_key", Msg: "Square writes need an idempotency key"}
	}
	obj := map[string]any{}
	for k, v := range w.Fields {
		obj[k] = v
	}
	version := w.ExpectedVersion
	if version == "" && w.Op == connectors.OpUpdate && w.ID != "" {
		// Square needs the version on every update; without one to check
		// against, write over the current one.
		cur, err := c.get(ctx, w.Object, w.ID, true)
		if err != nil {
			return nil, err
		}
		version = cur.Version
	}
	if version != "" {
		v, err := strconv.ParseInt(version, 10, 64)
		if err != nil {
			return nil, &connectors.InvalidError{Field: "expected_version", Msg: "a Square version is an integer"}
		}
		obj["version"] = v
	}
	switch {
	case w.Op == connectors.OpDelete && w.Object == ObjOrder:
		return nil, &connectors.InvalidError{Field: "op", Msg: "Square orders are not deleted; update their state to CANCELED"}
	case w.Op == connectors.OpDelete:
		_, err := c.do(ctx, wire.Call{Method: http.MethodDelete, Path: "/v2/catalog/object/" + url.PathEscape(w.ID), Write: true, Idempotent: true})
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		return &connectors.WriteResult{ID: w.ID}, nil
	case w.Op != connectors.OpCreate && w.Op != connectors.OpUpdate:
		return nil, &connectors.InvalidError{Field: "op", Msg: fmt.Sprintf("unknown write operation %q", w.Op)}
	case w.Op == connectors.OpUpdate && w.ID == "":
		return nil, &connectors.InvalidError{Field: "id", Msg: "an update needs the record id"}
	}

	var k wire.Call
	var key string
	switch w.Object {
	case ObjOrder:
		key = "order"
		k = wire.Call{Method: http.MethodPost, Path: "/v2/orders", Body: map[string]any{"idempotency_key": w.IdempotencyKey, "order": obj}}
		if w.Op == connectors.OpUpdate {
			k = wire.Call{Method: http.MethodPut, Path: "/v2/orders/" + url.PathEscape(w.ID), Body: map[string]any{"idempotency_key": w.IdempotencyKey, "order": obj}}
		}
	default:
		key = "catalog_object"
		obj["type"] = w.Object
		obj["id"] = "#portico-" + w.IdempotencyKey
		if w.Op == connectors.OpUpdate {
			obj["id"] = w.ID
		}
		k = wire.Call{Method: http.MethodPost, Path: "/v2/catalog/object", Body: map[string]any{"idempotency_key": w.IdempotencyKey, "object": obj}}
	}
	k.Write, k.Idempotent = true, true
	body, err := c.do(ctx, k)
	if err != nil {
		if ce, ok := asConflict(err); ok && w.ID != "" {
			if cur, gerr := c.get(ctx, w.Object, w.ID, true); gerr == nil {
				return nil, &connectors.ConflictError{CurrentVersion: cur.Version, Msg: ce.Msg}
			}
		}
		return nil, err
	}
	it := gjson.GetBytes(body, key)
	if !it.IsObject() {
		return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("inventory: answer without %s", key))
	}
	rec, err := toRecord(w.Object, it, body)
	if err != nil {
		return nil, err
	}
	return &connectors.WriteResult{ID: rec.ID, Version: rec.Version, Created: w.Op == connectors.OpCreate, Record: &rec}, nil
}
