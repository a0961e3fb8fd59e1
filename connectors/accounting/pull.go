package accounting

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// entity is what the connector knows about one QuickBooks entity.
type entity struct {
	writable  bool
	deletable bool // transactions delete; names (Customer) deactivate
}

var entities = map[string]entity{
	"Customer":   {writable: true},
	"Invoice":    {writable: true, deletable: true},
	"Payment":    {},
	"CreditMemo": {},
	"Attachable": {writable: true, deletable: true},
}

var entityOrder = []string{"Customer", "Invoice", "Payment", "CreditMemo", "Attachable"}

// Objects implements connectors.Connector.
func (c *Connector) Objects(context.Context) ([]connectors.ObjectInfo, error) {
	out := make([]connectors.ObjectInfo, 0, len(entityOrder))
	for _, name := range entityOrder {
		out = append(out, connectors.ObjectInfo{Name: name, Key: "Id", CursorField: "MetaData.LastUpdatedTime",
			Deletes: true, Writable: entities[name].writable, Webhooks: true})
	}
	return out, nil
}

func checkEntity(name string) (entity, error) {
	e, ok := entities[name]
	if !ok {
		return e, &connectors.InvalidError{Field: "object", Msg: "unknown QuickBooks entity " + name}
	}
	return e, nil
}

// pageToken continues a pull. QuickBooks pages by position, and a record
// edited mid-pull moves to the end and shifts every later position. So
// each page starts a fresh query at the last stamp seen (S), a few
// positions before where the previous page ended, and finds the last
// record it returned there: whatever shifted, the records after it are
// the new ones. When that record is gone (edited away, or shifted out of
// reach), the page reads stamp S from its start again; repeats are
// harmless, skips are not.
type pageToken struct {
	Stamp time.Time `json:"s,omitzero"`  // the query's MetaData.LastUpdatedTime >=
	Seen  int       `json:"k,omitempty"` // position of the last record returned, counted from the start of S
	Last  string    `json:"l,omitempty"` // its id
	Max   time.Time `json:"m,omitzero"`
}

// rewind is how many positions before the last one a page re-reads.
func rewind(limit int) int { return min(5, (limit-1)/2) }

func parseStamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, fmt.Errorf("accounting: bad time %q", s)
	}
	return t.UTC(), nil
}

func formatStamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// buildQuery writes the pull query. Entity names come from this
// package's table; the only literal is a formatted time.
func buildQuery(entity string, since time.Time, start, max int) string {
	q := "SELECT * FROM " + entity
	if !since.IsZero() {
		q += " WHERE MetaData.LastUpdatedTime >= '" + formatStamp(since) + "'"
	}
	return q + fmt.Sprintf(" ORDERBY MetaData.LastUpdatedTime STARTPOSITION %d MAXRESULTS %d", start, max)
}

// queryItems returns the entity's records from a query answer, as slices
// of body; an empty QueryResponse ({}) means none.
func queryItems(body []byte, entity string) ([]json.RawMessage, error) {
	if !gjson.ValidBytes(body) {
		return nil, connectors.Classify(connectors.ErrUnavailable, errors.New("accounting: query answer is not JSON"))
	}
	qr := gjson.GetBytes(body, "QueryResponse")
	if !qr.IsObject() {
		return nil, connectors.Classify(connectors.ErrUnavailable, errors.New("accounting: answer without QueryResponse"))
	}
	items := qr.Get(gjson.Escape(entity))
	if !items.Exists() {
		return nil, nil
	}
	if !items.IsArray() {
		return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("accounting: %s is not a list", entity))
	}
	out := make([]json.RawMessage, 0, 64)
	items.ForEach(func(_, v gjson.Result) bool {
		if i := v.Index; i > 0 && i+len(v.Raw) <= len(body) && string(body[i:i+len(v.Raw)]) == v.Raw {
			out = append(out, json.RawMessage(body[i:i+len(v.Raw):i+len(v.Raw)]))
		} else {
			out = append(out, json.RawMessage(v.Raw))
		}
		return true
	})
	return out, nil
}

func toRecord(entity string, raw json.RawMessage) (connectors.Record, error) {
	res := gjson.GetManyBytes(raw, "Id", "SyncToken", "MetaData.LastUpdatedTime")
	rec := connectors.Record{Object: entity, ID: res[0].String(), Version: res[1].String(), Raw: raw}
	if rec.ID == "" {
		return rec, connectors.Classify(connectors.ErrPermanent, errors.New("accounting: record without Id"))
	}
	if s := res[2].String(); s != "" {
		t, err := parseStamp(s)
		if err != nil {
			return rec, connectors.Classify(connectors.ErrPermanent, err)
		}
		rec.Modified = t
	}
	return rec, nil
}

// Pull implements connectors.Connector. The first page of an incremental
// pull also carries the deletions change data capture reports.
func (c *Connector) Pull(ctx context.Context, req connectors.PullRequest) (*connectors.Page, error) {
	if _, err := checkEntity(req.Object); err != nil {
		return nil, err
	}
	limit := req.Limit
	if limit <= 0 || limit > 1000 {
		limit = c.opts.PageSize
	}
	var since time.Time
	if req.Cursor != "" {
		cur, err := parseStamp(req.Cursor)
		if err != nil {
			return nil, &connectors.InvalidError{Field: "cursor", Msg: err.Error()}
		}
		since = cur.Add(-c.opts.Overlap)
	}
	tok := pageToken{Stamp: since}
	if req.Cursor != "" {
		tok.Max, _ = parseStamp(req.Cursor)
	}
	if req.Page != "" {
		var err error
		if tok, err = wire.DecodeToken[pageToken](req.Page); err != nil {
			return nil, err
		}
	}
	start := 1
	if tok.Seen > 0 {
		start = max(1, tok.Seen+1-rewind(limit))
	}
	recs, err := c.query(ctx, req.Object, tok.Stamp, start, limit)
	if err != nil {
		return nil, err
	}
	full := len(recs) >= limit
	skip := 0
	if tok.Last != "" {
		j := slices.IndexFunc(recs, func(r connectors.Record) bool { return r.ID == tok.Last })
		switch {
		case j >= 0:
			skip = j + 1
		case start > 1:
			start = 1
			if recs, err = c.query(ctx, req.Object, tok.Stamp, 1, limit); err != nil {
				return nil, err
			}
			full = len(recs) >= limit
		}
	}
	page := &connectors.Page{Records: recs[skip:]}
	next := pageToken{Stamp: tok.Stamp, Seen: tok.Seen, Last: tok.Last, Max: tok.Max}
	for _, rec := range page.Records {
		if rec.Modified.After(next.Max) {
			next.Max = rec.Modified
		}
	}
	if n := len(recs); n > 0 {
		last := recs[n-1]
		next.Last = last.ID
		if last.Modified.Equal(tok.Stamp) {
			next.Seen = start + n - 1
		} else {
			// Positions of a later stamp count from its first record here;
			// undercounting only re-reads, never skips.
			next.Stamp, next.Seen = last.Modified, 0
			for _, r := range recs {
				if r.Modified.Equal(last.Modified) {
					next.Seen++
				}
			}
		}
	}
	if req.Page == "" && !since.IsZero() {
		if page.Deleted, err = c.deleted(ctx, req.Object, since); err != nil {
			return nil, err
		}
	}
	// A short page is the last one.
	if full {
		page.Next = wire.EncodeToken(next)
	}
	page.Cursor = req.Cursor
	if !next.Max.IsZero() {
		page.Cursor = formatStamp(next.Max)
	}
	return page, nil
}

// query reads one page of entity from position start at stamps >= since.
func (c *Connector) query(ctx context.Context, entity string, since time.Time, start, limit int) ([]connectors.Record, error) {
	body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/query",
		Query: url.Values{"query": {buildQuery(entity, since, start, limit)}}})
	if err != nil {
		return nil, err
	}
	items, err := queryItems(body, entity)
	if err != nil {
		return nil, err
	}
	recs := make([]connectors.Record, 0, len(items))
	for _, raw := range items {
		rec, err := toRecord(entity, raw)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// cdcWindow is how far back change data capture reaches.
const cdcWindow = 30 * 24 * time.Hour

// cdcLog remembers when this connector last asked change data capture
// about each entity, to tell an expected old cursor from a real gap.
type cdcLog struct {
	mu      sync.Mutex
	checked map[string]time.Time // entity -> when its deletions were last read
	said    bool                 // the expected case was logged
}

// deleted asks change data capture for the entity's deletions since.
// Older deletions are beyond what QuickBooks keeps; reconciliation finds
// those.
func (c *Connector) deleted(ctx context.Context, entity string, since time.Time) ([]connectors.Deletion, error) {
	now := c.opts.Now()
	if floor := now.Add(-cdcWindow + time.Hour); since.Before(floor) {
		c.noteOldCursor(ctx, entity, since, floor)
		since = floor
	}
	body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/cdc",
		Query: url.Values{"entities": {entity}, "changedSince": {formatStamp(since)}}})
	if err != nil {
		return nil, err
	}
	c.cdc.mu.Lock()
	if c.cdc.checked == nil {
		c.cdc.checked = map[string]time.Time{}
	}
	c.cdc.checked[entity] = now
	c.cdc.mu.Unlock()
	if n := gjson.GetBytes(body, "CDCResponse.#.QueryResponse.#."+entity+".#").String(); strings.Contains(n, "1000") {
		// CDC answers at most 1000 changes per entity and does not page.
		c.Log.WarnContext(ctx, "change data capture answer is capped; deletions beyond it are left to reconciliation",
			"object", entity, "since", since)
	}
	return parseCDC(body, entity)
}

// noteOldCursor says that deletions before floor are left to
// reconciliation. A cursor is old whenever nothing changed for a month
// (every fresh environment over old data), so the first time is expected
// and said once per connection, at info. Only when this connector read
// the entity's deletions before, longer ago than change data capture
// keeps, were deletions really missed: that is a warning. If it read
// them within the window, nothing was missed and nothing is said.
func (c *Connector) noteOldCursor(ctx context.Context, entity string, since, floor time.Time) {
	c.cdc.mu.Lock()
	last, checked := c.cdc.checked[entity]
	first := !c.cdc.said
	c.cdc.said = true
	c.cdc.mu.Unlock()
	switch {
	case checked && last.Before(floor):
		c.Log.WarnContext(ctx, "deletions were last read longer ago than change data capture keeps; those in between need a reconciliation",
			"object", entity, "last_read", last, "since", since)
	case !checked && first:
		c.Log.InfoContext(ctx, "cursor is older than change data capture keeps (expected after a month without changes or a long stop); older deletions are left to reconciliation",
			"object", entity, "since", since)
	}
}

// parseCDC reads the deletions of entity from a JSON CDC answer:
// {"CDCResponse":[{"QueryResponse":[{"Customer":[{..., "status":"Deleted"}]}]}]}.
func parseCDC(body []byte, entity string) ([]connectors.Deletion, error) {
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '<' {
		return parseCDCXML(b, entity)
	}
	if !gjson.ValidBytes(body) {
		return nil, connectors.Classify(connectors.ErrUnavailable, errors.New("accounting: CDC answer is not JSON"))
	}
	var out []connectors.Deletion
	var perr error
	gjson.GetBytes(body, "CDCResponse.#.QueryResponse.#."+entity).ForEach(func(_, perResp gjson.Result) bool {
		perResp.ForEach(func(_, list gjson.Result) bool {
			list.ForEach(func(_, item gjson.Result) bool {
				if !strings.EqualFold(item.Get("status").String(), "Deleted") {
					return true
				}
				d := connectors.Deletion{ID: item.Get("Id").String()}
				if s := item.Get("MetaData.LastUpdatedTime").String(); s != "" {
					if d.DeletedAt, perr = parseStamp(s); perr != nil {
						return false
					}
				}
				out = append(out, d)
				return true
			})
			return perr == nil
		})
		return perr == nil
	})
	if perr != nil {
		return nil, connectors.Classify(connectors.ErrPermanent, perr)
	}
	return out, nil
}

// parseCDCXML reads the XML form of a CDC answer:
// <IntuitResponse><CDCResponse><QueryResponse><Customer status="Deleted">
// <Id>39</Id><MetaData><LastUpdatedTime>...</LastUpdatedTime></MetaData>.
func parseCDCXML(body []byte, entity string) ([]connectors.Deletion, error) {
	type item struct {
		Status  string `xml:"status,attr"`
		ID      string `xml:"Id"`
		Updated string `xml:"MetaData>LastUpdatedTime"`
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	var out []connectors.Deletion
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("accounting: decode CDC XML: %w", err))
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local != entity {
			continue
		}
		var it item
		if err := dec.DecodeElement(&it, &start); err != nil {
			return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("accounting: decode CDC XML: %w", err))
		}
		if !strings.EqualFold(it.Status, "Deleted") {
			continue
		}
		d := connectors.Deletion{ID: strings.TrimSpace(it.ID)}
		if it.Updated != "" {
			if d.DeletedAt, err = parseStamp(strings.TrimSpace(it.Updated)); err != nil {
				return nil, connectors.Classify(connectors.ErrPermanent, err)
			}
		}
		out = append(out, d)
	}
}
