package accounting

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

func path(entity string) string { return "/" + strings.ToLower(entity) }

// entityBody returns the entity object of a single-entity answer
// ({"Customer":{...},"time":...}).
func entityBody(body []byte, entity string) (connectors.Record, error) {
	raw := gjson.GetBytes(body, entity)
	if !raw.IsObject() {
		return connectors.Record{}, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("accounting: answer without %s", entity))
	}
	return toRecord(entity, []byte(raw.Raw))
}

// Get implements connectors.Connector.
func (c *Connector) Get(ctx context.Context, object, id string) (*connectors.Record, error) {
	return c.get(ctx, object, id, false)
}

// get reads one entity; write says it serves a write and may spend the
// budget reserved for writes.
func (c *Connector) get(ctx context.Context, object, id string, write bool) (*connectors.Record, error) {
	if _, err := checkEntity(object); err != nil {
		return nil, err
	}
	body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: path(object) + "/" + url.PathEscape(id), Write: write})
	if err != nil {
		return nil, err
	}
	rec, err := entityBody(body, object)
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// Write implements connectors.Connector. Every write carries the
// idempotency key as requestid, which QuickBooks uses to answer a repeated
// request with the first one's result instead of applying it again.
func (c *Connector) Write(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	e, err := checkEntity(w.Object)
	if err != nil {
		return nil, err
	}
	if !e.writable {
		return nil, &connectors.InvalidError{Field: "object", Msg: "QuickBooks entity " + w.Object + " is not writable"}
	}
	q := url.Values{}
	if w.IdempotencyKey != "" {
		q.Set("requestid", w.IdempotencyKey)
	}
	body := map[string]any{}
	for k, v := range w.Fields {
		body[k] = v
	}
	switch w.Op {
	case connectors.OpCreate:
		delete(body, "Id")
		delete(body, "SyncToken")
		if w.File != nil {
			return c.upload(ctx, w, body, q)
		}
	case connectors.OpUpdate, connectors.OpDelete:
		if w.ID == "" {
			return nil, &connectors.InvalidError{Field: "id", Msg: "an update or delete needs the record id"}
		}
		token := w.ExpectedVersion
		if token == "" {
			// No version to check against: write over the current one.
			cur, err := c.get(ctx, w.Object, w.ID, true)
			if err != nil {
				return nil, err
			}
			token = cur.Version
		}
		body["Id"], body["SyncToken"] = w.ID, token
		if w.Op == connectors.OpUpdate {
			body["sparse"] = true
		} else if e.deletable {
			body = map[string]any{"Id": w.ID, "SyncToken": token}
			q.Set("operation", "delete")
		} else {
			// Names are never deleted in QuickBooks, only made inactive.
			body = map[string]any{"Id": w.ID, "SyncToken": token, "sparse": true, "Active": false}
		}
	default:
		return nil, &connectors.InvalidError{Field: "op", Msg: fmt.Sprintf("unknown write operation %q", w.Op)}
	}
	resp, err := c.do(ctx, wire.Call{Method: http.MethodPost, Path: path(w.Object), Query: q, Body: body,
		Write: true, Idempotent: w.IdempotencyKey != ""})
	if err != nil {
		var ce *connectors.ConflictError
		if errors.As(err, &ce) && w.ID != "" {
			if cur, gerr := c.get(ctx, w.Object, w.ID, true); gerr == nil {
				return nil, &connectors.ConflictError{CurrentVersion: cur.Version, Msg: ce.Msg}
			}
		}
		err = c.targetGone(ctx, w, err)
		if w.Op == connectors.OpDelete && errors.Is(err, connectors.ErrNotFound) {
			return &connectors.WriteResult{ID: w.ID}, nil
		}
		return nil, err
	}
	rec, err := entityBody(resp, w.Object)
	if err != nil {
		return nil, err
	}
	if w.Op == connectors.OpDelete {
		return &connectors.WriteResult{ID: rec.ID, Version: rec.Version}, nil
	}
	return &connectors.WriteResult{ID: rec.ID, Version: rec.Version, Created: w.Op == connectors.OpCreate, Record: &rec}, nil
}

// targetGone tells the two meanings of a write's 610 apart: on an update
// or delete it is the record itself that may be gone (not found), else a
// record it refers to is inactive (invalid, with QuickBooks' text).
func (c *Connector) targetGone(ctx context.Context, w connectors.Write, err error) error {
	var ie *connectors.InvalidError
	if w.ID == "" || !errors.As(err, &ie) || strings.TrimLeft(ie.Code, "0") != "610" {
		return err
	}
	if _, gerr := c.get(ctx, w.Object, w.ID, true); errors.Is(gerr, connectors.ErrNotFound) {
		return gerr
	}
	return err
}
