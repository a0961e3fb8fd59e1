package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// Get implements connectors.Connector.
func (c *Connector) Get(ctx context.Context, object, id string) (*connectors.Record, error) {
	return c.get(ctx, object, id, false)
}

// get reads one record with the same select list as a pull (a query by
// Id, not the sObject resource), so a refresh reads the related records'
// fields a pull reads and never blanks them. write says it serves a write
// (a read-back or a conflict's current version) and may spend the budget
// reserved for writes.
func (c *Connector) get(ctx context.Context, object, id string, write bool) (*connectors.Record, error) {
	if _, err := c.selectFields(object); err != nil {
		return nil, err
	}
	if !sfID.MatchString(id) {
		return nil, &connectors.InvalidError{Field: "id", Msg: fmt.Sprintf("%q is not a Salesforce id (15 or 18 letters and digits)", id), Code: "MALFORMED_ID"}
	}
	body, err := c.query(ctx, object, write, nil, func(fields []string) string {
		return "SELECT " + strings.Join(fields, ", ") + " FROM " + object + " WHERE Id = '" + escape(id) + "'"
	})
	if err != nil {
		return nil, err
	}
	qr, err := decodeQuery(body)
	if err != nil {
		return nil, err
	}
	if len(qr.Records) == 0 {
		return nil, connectors.Classify(connectors.ErrNotFound, fmt.Errorf("salesforce: %s %s does not exist", object, id))
	}
	rec, err := toRecord(object, qr.Records[0])
	if err != nil {
		return nil, err
	}
	return &rec, nil
}

// sfID is a record id: 15 case-sensitive or 18 case-insensitive letters
// and digits. Only ids of this form reach a query.
var sfID = regexp.MustCompile(`^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$`)

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

// create makes a retried create find the record its first attempt made,
// instead of making a second one. By default it upserts by the external-id
// field (settings.external_id_field). When the org lacks that field, it
// falls back to the weaker marker strategy (createMarked).
func (c *Connector) create(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	fields := withoutID(w.Fields)
	if w.IdempotencyKey == "" {
		return c.save(ctx, w.Object, wire.Call{Method: http.MethodPost, Path: "/sobjects/" + w.Object + "/", Body: fields, Write: true})
	}
	if c.extID != "" && !c.lacksExtID(w.Object) {
		delete(fields, c.extID)
		res, err := c.save(ctx, w.Object, wire.Call{Method: http.MethodPatch, Path: "/sobjects/" + w.Object + "/" + c.extID + "/" + url.PathEscape(w.IdempotencyKey),
			Body: fields, Write: true, Idempotent: true})
		if err == nil || !errors.Is(err, connectors.ErrNotFound) {
			return res, err
		}
		// "Provided external ID field does not exist or is not
		// accessible": the describe says whether the org lacks it.
		if has, derr := c.hasExtID(ctx, w.Object); derr != nil || has {
			return nil, err
		}
		c.Log.WarnContext(ctx, "the org lacks the external-id field; creating with the marker strategy", "object", w.Object, "field", c.extID)
	}
	return c.createMarked(ctx, w, fields)
}

// save sends a create or upsert and reads the record back.
func (c *Connector) save(ctx context.Context, object string, r wire.Call) (*connectors.WriteResult, error) {
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
	return c.result(ctx, object, sr.ID, created)
}

// MarkerWindow is how far back the marker strategy looks for a create's
// earlier attempt: a retry later than this may create a second record.
const MarkerWindow = 7 * 24 * time.Hour

// createMarked is the weaker idempotent create, for an org without the
// external-id field: the create appends "[portico:KEY]" to the object's
// marker field (settings.marker_fields, by default Case.Description and
// CaseComment.CommentBody), and first looks for a record created within
// MarkerWindow whose marker field holds it (narrowed by the write's
// reference fields, e.g. AccountId); found, it is the earlier attempt's
// record and nothing is created. Weaker than the upsert: a retry after
// MarkerWindow, or after staff removed the marker, creates again, and the
// lookup costs a query. An object without a marker field refuses keyed
// creates rather than risk applying one twice.
func (c *Connector) createMarked(ctx context.Context, w connectors.Write, fields map[string]any) (*connectors.WriteResult, error) {
	mf, ok := c.markers[w.Object]
	if !ok {
		return nil, connectors.Classify(connectors.ErrPermanent, fmt.Errorf(
			"salesforce: %s lacks the external-id field %q and has no marker field (settings.marker_fields), so a create cannot be made idempotent; `portico connectors check` says how to add the field",
			w.Object, c.extID))
	}
	marker := "[portico:" + w.IdempotencyKey + "]"
	id, err := c.findMarked(ctx, w.Object, mf, marker, fields)
	if err != nil {
		return nil, err
	}
	if id != "" {
		return c.result(ctx, w.Object, id, false)
	}
	text, _ := fields[mf].(string)
	if text != "" {
		text += "\n\n"
	}
	fields[mf] = text + marker
	return c.save(ctx, w.Object, wire.Call{Method: http.MethodPost, Path: "/sobjects/" + w.Object + "/", Body: fields, Write: true})
}

// findMarked returns the id of the record created within MarkerWindow
// whose marker field holds marker, or "". The marker field itself is not
// filtered on (a long text area cannot be), only read.
func (c *Connector) findMarked(ctx context.Context, object, markerField, marker string, fields map[string]any) (string, error) {
	where := []string{"CreatedDate >= " + c.opts.Now().Add(-MarkerWindow).UTC().Format(soqlLayout)}
	refs := make([]string, 0, len(fields))
	for k := range fields {
		refs = append(refs, k)
	}
	slices.Sort(refs)
	for _, k := range refs {
		if v, ok := fields[k].(string); ok && strings.HasSuffix(k, "Id") && fieldName.MatchString(k) && !strings.Contains(k, ".") && sfID.MatchString(v) {
			where = append(where, k+" = '"+escape(v)+"'")
		}
	}
	path, q := "/query", url.Values{"q": {"SELECT Id, " + markerField + " FROM " + object + " WHERE " + strings.Join(where, " AND ")}}
	for {
		_, body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: path, Query: q, Write: true})
		if err != nil {
			return "", err
		}
		qr, err := decodeQuery(body)
		if err != nil {
			return "", err
		}
		for _, raw := range qr.Records {
			r := gjson.GetManyBytes(raw, "Id", gjson.Escape(markerField))
			if strings.Contains(r[1].String(), marker) {
				return r[0].String(), nil
			}
		}
		if qr.Done || qr.NextRecordsURL == "" {
			return "", nil
		}
		path, q = qr.NextRecordsURL, nil
	}
}

// lacksExtID says whether the org is known to lack the external-id field
// on object (from an earlier describe).
func (c *Connector) lacksExtID(object string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.described[object]
	return ok && !describedExtID(d, c.extID)
}

// hasExtID reads the describe: does object have the external-id field?
func (c *Connector) hasExtID(ctx context.Context, object string) (bool, error) {
	d, err := c.describe(ctx, object, true)
	if err != nil {
		return false, err
	}
	return describedExtID(d, c.extID), nil
}

func describedExtID(d *describeResult, name string) bool {
	f, ok := d.field(name)
	return ok && f.ExternalID
}

// update, when the caller knows the version, first reads the record's
// SystemModstamp and compares it to the millisecond, then sends
// If-Unmodified-Since, so a record changed in the meantime is a conflict
// instead of being overwritten. If-Unmodified-Since alone compares to the
// second: an edit in the same second as the version read would pass it.
// The read costs a call per conditional update; what is left open is the
// few milliseconds between the read and the PATCH within one second,
// which Salesforce's REST API gives no way to close (sObject rows have no
// ETag).
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
		cur, err := c.get(ctx, w.Object, w.ID, true)
		if err != nil {
			return nil, err
		}
		if now, err := parseStamp(cur.Version); err != nil || !now.Equal(v) {
			return nil, &connectors.ConflictError{CurrentVersion: cur.Version,
				Msg: fmt.Sprintf("%s %s was modified at %s, after the version %s the change was made against", w.Object, w.ID, cur.Version, w.ExpectedVersion)}
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
