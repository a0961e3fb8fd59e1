package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// Get implements connectors.Connector.
func (c *Connector) Get(ctx context.Context, object, id string) (*connectors.Record, error) {
	return c.get(ctx, object, id, false)
}

// get reads one record; write says it serves a write (a read-back or a
// conflict's current version) and may spend the budget reserved for
// writes.
func (c *Connector) get(ctx context.Context, object, id string, write bool) (*connectors.Record, error) {
	if _, err := c.selectFields(object); err != nil {
		return nil, err
	}
	_, body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/sobjects/" + object + "/" + url.PathEscape(id), Write: write})
	if err != nil {
		return nil, err
	}
	rec, err := toRecord(object, body)
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// saveResult is the answer to a create or upsert.
type saveResult struct {
	ID      string     `json:"id"`
	Success bool       `json:"success"`
	Created *bool      `json:"created"`
	Errors  []apiError `json:"errors"`
}

// Write implements connectors.Connector.
func (c *Connector) Write(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	o, ok := objects[w.Object]
	if !ok || !o.writable {
		return nil, &connectors.InvalidError{Field: "object", Msg: fmt.Sprintf("Salesforce object %s is not writable", w.Object)}
	}
	switch w.Op {
	case connectors.OpCreate:
		if w.File != nil {
			return c.createFile(ctx, w)
		}
		return c.create(ctx, w)
	case connectors.OpUpdate:
		return c.update(ctx, w)
	case connectors.OpDelete:
		return c.delete(ctx, w)
	}
	return nil, &connectors.InvalidError{Field: "op", Msg: fmt.Sprintf("unknown write operation %q", w.Op)}
}

// create upserts by the external id, so a create retried after a lost
// response finds the record it made the first time instead of making a
// second one.
func (c *Connector) create(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	fields := withoutID(w.Fields)
	r := wire.Call{Method: http.MethodPost, Path: "/sobjects/" + w.Object + "/", Body: fields, Write: true}
	if w.IdempotencyKey != "" {
		delete(fields, ExternalIDField)
		r = wire.Call{Method: http.MethodPatch, Path: "/sobjects/" + w.Object + "/" + ExternalIDField + "/" + url.PathEscape(w.IdempotencyKey),
			Body: fields, Write: true, Idempotent: true}
	}
	resp, body, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	var sr saveResult
	if len(body) > 0 {
		if err := json.Unmarshal(body, &sr); err != nil {
			return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("salesforce: decode save result: %w", err))
		}
	}
	if len(sr.Errors) > 0 {
		return nil, classify(&http.Response{StatusCode: http.StatusBadRequest, Header: http.Header{}}, mustJSON(sr.Errors))
	}
	created := resp.StatusCode == http.StatusCreated
	if sr.Created != nil {
		created = *sr.Created
	}
	if sr.ID == "" {
		return nil, connectors.Classify(connectors.ErrPermanent, errors.New("salesforce: save result without id"))
	}
	return c.result(ctx, w.Object, sr.ID, created)
}

// update sends If-Unmodified-Since when the caller knows the version, so
// a record changed in the meantime answers 412 instead of being
// overwritten.
func (c *Connector) update(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	if w.ID == "" {
		return nil, &connectors.InvalidError{Field: "id", Msg: "an update needs the record id"}
	}
	r := wire.Call{Method: http.MethodPatch, Path: "/sobjects/" + w.Object + "/" + url.PathEscape(w.ID),
		Body: withoutID(w.Fields), Write: true, Idempotent: true, Header: http.Header{}}
	if w.ExpectedVersion != "" {
		v, err := parseStamp(w.ExpectedVersion)
		if err != nil {
			return nil, &connectors.InvalidError{Field: "expected_version", Msg: err.Error()}
		}
		r.Header.Set("If-Unmodified-Since", v.UTC().Format(http.TimeFormat))
	}
	if _, _, err := c.do(ctx, r); err != nil {
		var ce *connectors.ConflictError
		if errors.As(err, &ce) {
			if cur, gerr := c.get(ctx, w.Object, w.ID, true); gerr == nil {
				return nil, &connectors.ConflictError{CurrentVersion: cur.Version, Msg: ce.Msg}
			}
		}
		return nil, err
	}
	return c.result(ctx, w.Object, w.ID, false)
}

// delete treats an already-deleted record as deleted: a retried delete
// whose first answer was lost must not fail.
func (c *Connector) delete(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	if w.ID == "" {
		return nil, &connectors.InvalidError{Field: "id", Msg: "a delete needs the record id"}
	}
	_, _, err := c.do(ctx, wire.Call{Method: http.MethodDelete, Path: "/sobjects/" + w.Object + "/" + url.PathEscape(w.ID), Write: true, Idempotent: true})
	if err != nil && !errors.Is(err, connectors.ErrNotFound) {
		return nil, err
	}
	return &connectors.WriteResult{ID: w.ID}, nil
}

// result reads the record back for its authoritative version. The write
// has been applied by then, so a failed read-back is not a failed Write:
// the result just lacks the version, and the next pull brings it.
func (c *Connector) result(ctx context.Context, object, id string, created bool) (*connectors.WriteResult, error) {
	res := &connectors.WriteResult{ID: id, Created: created}
	rec, err := c.get(ctx, object, id, true)
	if err != nil {
		c.Log.WarnContext(ctx, "read back after write failed", "object", object, "error", err)
		return res, nil
	}
	res.Version, res.Record = rec.Version, rec
	return res, nil
}

func withoutID(fields map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		if k != "Id" {
			out[k] = v
		}
	}
	return out
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
