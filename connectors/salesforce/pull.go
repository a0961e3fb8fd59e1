package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// stampLayout is how Salesforce renders datetimes in JSON.
const stampLayout = "2006-01-02T15:04:05.000-0700"

// soqlLayout is a SOQL datetime literal (UTC).
const soqlLayout = "2006-01-02T15:04:05.000Z"

// versionLayout is how a record's version (its SystemModstamp) is written
// in Record.Version and the cursor.
const versionLayout = "2006-01-02T15:04:05.000Z07:00"

func parseStamp(s string) (time.Time, error) {
	for _, layout := range []string{stampLayout, time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("salesforce: bad datetime %q", s)
}

func formatVersion(t time.Time) string { return t.UTC().Format(versionLayout) }

// pageToken continues a pull. A pull is one SOQL query paged by the
// server's own cursor (nextRecordsUrl), so records sharing a stamp never
// straddle two queries. Only when the query's LIMIT cuts it short does a
// new query start, from the last stamp seen (>=, repeating the records at
// that stamp, which callers dedupe). If a whole query shared one stamp,
// the next goes on by Id within that stamp (SystemModstamp = S AND Id >
// id), then past it (SystemModstamp > S).
type pageToken struct {
	Next   string    `json:"n,omitempty"` // nextRecordsUrl of the current query
	From   time.Time `json:"f,omitzero"`  // the next query's SystemModstamp >=
	After  time.Time `json:"a,omitzero"`  // the next query's stamp for the Id fallback
	AfterI string    `json:"i,omitempty"` // set: rest of stamp After; empty: stamps after After
	First  time.Time `json:"s,omitzero"`  // first stamp of the current query
	Resume time.Time `json:"r,omitzero"`  // stamp of the last record returned
	Max    time.Time `json:"m,omitzero"`
	Count  int       `json:"c,omitempty"` // records of the current query so far
}

// queryResult is one batch of a SOQL query.
type queryResult struct {
	TotalSize      int               `json:"totalSize"`
	Done           bool              `json:"done"`
	NextRecordsURL string            `json:"nextRecordsUrl"`
	Records        []json.RawMessage `json:"records"`
}

// decodeQuery reads a query batch. Records are sub-slices of body, not
// copies: a page of 2000 records is a few megabytes, and the pull reads
// little of each record beyond its id and stamp.
func decodeQuery(body []byte) (queryResult, error) {
	var qr queryResult
	if !gjson.ValidBytes(body) {
		return qr, connectors.Classify(connectors.ErrUnavailable, errors.New("salesforce: query answer is not JSON"))
	}
	res := gjson.GetManyBytes(body, "totalSize", "done", "nextRecordsUrl", "records")
	qr.TotalSize, qr.Done, qr.NextRecordsURL = int(res[0].Int()), res[1].Bool(), res[2].String()
	if !res[3].IsArray() {
		return qr, connectors.Classify(connectors.ErrUnavailable, errors.New("salesforce: query answer without records"))
	}
	qr.Records = subSlices(body, res[3])
	return qr, nil
}

// subSlices returns the elements of array as slices of the body they
// were parsed from.
func subSlices(body []byte, array gjson.Result) []json.RawMessage {
	out := make([]json.RawMessage, 0, 64)
	array.ForEach(func(_, v gjson.Result) bool {
		if v.Index > 0 && v.Index+len(v.Raw) <= len(body) && string(body[v.Index:v.Index+len(v.Raw)]) == v.Raw {
			out = append(out, json.RawMessage(body[v.Index:v.Index+len(v.Raw):v.Index+len(v.Raw)]))
		} else {
			out = append(out, json.RawMessage(v.Raw))
		}
		return true
	})
	return out
}

// Pull implements connectors.Connector. PullRequest.Limit asks for a
// batch size (Salesforce honours 200 to 2000); the first page of an
// incremental pull also carries the deletions since the cursor (minus the
// overlap).
func (c *Connector) Pull(ctx context.Context, req connectors.PullRequest) (*connectors.Page, error) {
	if _, err := c.selectFields(req.Object); err != nil {
		return nil, err
	}
	var err error
	batch := req.Limit
	if batch <= 0 {
		batch = c.opts.PageSize
	}
	batch = min(max(batch, 200), 2000)
	var since time.Time
	if req.Cursor != "" {
		cur, err := parseStamp(req.Cursor)
		if err != nil {
			return nil, &connectors.InvalidError{Field: "cursor", Msg: err.Error()}
		}
		since = cur.Add(-c.opts.Overlap)
	}
	tok := pageToken{From: since}
	if req.Page != "" {
		if tok, err = wire.DecodeToken[pageToken](req.Page); err != nil {
			return nil, err
		}
	} else if !since.IsZero() {
		tok.Max = mustStamp(req.Cursor)
	}

	header := http.Header{"Sforce-Query-Options": {fmt.Sprintf("batchSize=%d", batch)}}
	var body []byte
	if tok.Next == "" {
		from, after, afterI := tok.From, tok.After, tok.AfterI
		body, err = c.query(ctx, req.Object, false, header, func(fields []string) string {
			return buildSOQL(req.Object, fields, from, after, afterI, c.opts.QueryLimit)
		})
		tok.Count, tok.First = 0, time.Time{}
	} else {
		_, body, err = c.do(ctx, wire.Call{Method: http.MethodGet, Path: tok.Next, Header: header})
	}
	var ie *connectors.InvalidError
	if err != nil && tok.Next != "" && errors.As(err, &ie) && ie.Code == "INVALID_QUERY_LOCATOR" {
		// The server forgot the query (locators expire after minutes of
		// disuse, e.g. a full sync resumed after a restart): query again
		// from the last stamp returned; its records repeat, none is lost.
		c.Log.InfoContext(ctx, "query locator expired; querying again from the last stamp", "object", req.Object)
		from := tok.Resume
		if from.IsZero() {
			from = tok.From
		}
		tok = pageToken{From: from, Max: tok.Max}
		body, err = c.query(ctx, req.Object, false, header, func(fields []string) string {
			return buildSOQL(req.Object, fields, from, time.Time{}, "", c.opts.QueryLimit)
		})
	}
	if err != nil {
		return nil, err
	}
	qr, err := decodeQuery(body)
	if err != nil {
		return nil, err
	}

	page := &connectors.Page{Records: make([]connectors.Record, 0, len(qr.Records))}
	var last connectors.Record
	for _, raw := range qr.Records {
		rec, err := toRecord(req.Object, raw)
		if err != nil {
			return nil, err
		}
		page.Records = append(page.Records, rec)
		if rec.Modified.After(tok.Max) {
			tok.Max = rec.Modified
		}
		if tok.Count == 0 && len(page.Records) == 1 {
			tok.First = rec.Modified
		}
		last = rec
	}
	tok.Count += len(qr.Records)
	if last.ID != "" {
		tok.Resume = last.Modified
	}

	if req.Page == "" && !since.IsZero() {
		if page.Deleted, err = c.deleted(ctx, req.Object, since); err != nil {
			return nil, err
		}
	}

	switch {
	case !qr.Done && qr.NextRecordsURL != "":
		tok.Next = qr.NextRecordsURL
		page.Next = wire.EncodeToken(tok)
	case tok.Count >= c.opts.QueryLimit && last.ID != "" && tok.First.Equal(last.Modified):
		// More records share one stamp than a query returns.
		page.Next = wire.EncodeToken(pageToken{After: last.Modified, AfterI: last.ID, Max: tok.Max, Resume: tok.Resume})
	case tok.Count >= c.opts.QueryLimit && last.ID != "":
		page.Next = wire.EncodeToken(pageToken{From: last.Modified, Max: tok.Max, Resume: tok.Resume})
	case tok.AfterI != "":
		page.Next = wire.EncodeToken(pageToken{After: tok.After, Max: tok.Max, Resume: tok.Resume})
	}
	if !tok.Max.IsZero() {
		page.Cursor = formatVersion(tok.Max)
	} else {
		page.Cursor = req.Cursor
	}
	return page, nil
}

func mustStamp(s string) time.Time {
	t, _ := parseStamp(s)
	return t
}

// query sends the first call of a SOQL query that selects object's
// fields. When the org refuses a selected field (INVALID_FIELD), it drops
// the fields the org lacks (dropMissing) and asks once more.
func (c *Connector) query(ctx context.Context, object string, write bool, header http.Header, soql func(fields []string) string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		fields, err := c.selectFields(object)
		if err != nil {
			return nil, err
		}
		_, body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/query", Header: header, Write: write,
			Query: url.Values{"q": {soql(fields)}}})
		var ie *connectors.InvalidError
		if err == nil || attempt > 0 || !errors.As(err, &ie) || ie.Code != "INVALID_FIELD" {
			return body, err
		}
		if dropped, derr := c.dropMissing(ctx, object, write); derr != nil || !dropped {
			return nil, err
		}
	}
}

// buildSOQL writes the pull query. Object and field names are checked
// against fieldName when the connector is built (mapped paths included),
// and datetimes and ids are formatted here, so nothing needs escaping
// beyond the id literal.
func buildSOQL(object string, fields []string, since, after time.Time, afterID string, limit int) string {
	var where []string
	if !since.IsZero() {
		where = append(where, "SystemModstamp >= "+since.UTC().Format(soqlLayout))
	}
	switch a := after.UTC().Format(soqlLayout); {
	case after.IsZero():
	case afterID != "":
		where = append(where, "SystemModstamp = "+a, fmt.Sprintf("Id > '%s'", escape(afterID)))
	default:
		where = append(where, "SystemModstamp > "+a)
	}
	q := "SELECT " + strings.Join(fields, ", ") + " FROM " + object
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q + fmt.Sprintf(" ORDER BY SystemModstamp, Id LIMIT %d", limit)
}

func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// toRecord pulls out what the sync needs without decoding the whole record.
func toRecord(object string, raw json.RawMessage) (connectors.Record, error) {
	res := gjson.GetManyBytes(raw, "Id", "SystemModstamp", "LastModifiedDate")
	id := res[0].String()
	if id == "" {
		return connectors.Record{}, connectors.Classify(connectors.ErrPermanent, errors.New("salesforce: record without Id"))
	}
	stamp := res[1].String()
	if stamp == "" {
		stamp = res[2].String()
	}
	rec := connectors.Record{Object: object, ID: id, Raw: raw}
	if stamp != "" {
		t, err := parseStamp(stamp)
		if err != nil {
			return rec, connectors.Classify(connectors.ErrPermanent, err)
		}
		rec.Modified, rec.Version = t, formatVersion(t)
	}
	return rec, nil
}

// deletedResult is the getDeleted resource's answer.
type deletedResult struct {
	DeletedRecords []struct {
		ID          string `json:"id"`
		DeletedDate string `json:"deletedDate"`
	} `json:"deletedRecords"`
	EarliestDateAvailable string `json:"earliestDateAvailable"`
	LatestDateCovered     string `json:"latestDateCovered"`
}

// deleted lists the records deleted since start. getDeleted only covers
// the last 30 days and whole minutes; when start is older than the
// source keeps, it falls back to queryAll over IsDeleted records.
func (c *Connector) deleted(ctx context.Context, object string, start time.Time) ([]connectors.Deletion, error) {
	end := c.opts.Now().UTC().Add(time.Minute).Truncate(time.Minute)
	q := url.Values{
		"start": {start.UTC().Truncate(time.Minute).Format(time.RFC3339)},
		"end":   {end.Format(time.RFC3339)},
	}
	_, body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/sobjects/" + object + "/deleted/", Query: q})
	if err != nil {
		if errors.Is(err, connectors.ErrInvalid) || errors.Is(err, connectors.ErrNotFound) {
			return c.deletedByQueryAll(ctx, object, start)
		}
		return nil, err
	}
	return parseDeleted(body)
}

func parseDeleted(body []byte) ([]connectors.Deletion, error) {
	var dr deletedResult
	if err := json.Unmarshal(body, &dr); err != nil {
		return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("salesforce: decode deleted: %w", err))
	}
	out := make([]connectors.Deletion, 0, len(dr.DeletedRecords))
	for _, d := range dr.DeletedRecords {
		t, err := parseStamp(d.DeletedDate)
		if err != nil {
			return nil, connectors.Classify(connectors.ErrPermanent, err)
		}
		out = append(out, connectors.Deletion{ID: d.ID, DeletedAt: t})
	}
	return out, nil
}

func (c *Connector) deletedByQueryAll(ctx context.Context, object string, start time.Time) ([]connectors.Deletion, error) {
	soql := fmt.Sprintf("SELECT Id, SystemModstamp FROM %s WHERE IsDeleted = true AND SystemModstamp >= %s ORDER BY SystemModstamp, Id",
		object, start.UTC().Format(soqlLayout))
	var out []connectors.Deletion
	path, q := "/queryAll", url.Values{"q": {soql}}
	for {
		_, body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: path, Query: q})
		if err != nil {
			return nil, err
		}
		var qr queryResult
		if err := json.Unmarshal(body, &qr); err != nil {
			return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("salesforce: decode queryAll: %w", err))
		}
		for _, raw := range qr.Records {
			rec, err := toRecord(object, raw)
			if err != nil {
				return nil, err
			}
			out = append(out, connectors.Deletion{ID: rec.ID, DeletedAt: rec.Modified})
		}
		if qr.Done || qr.NextRecordsURL == "" {
			return out, nil
		}
		path, q = qr.NextRecordsURL, nil
	}
}

// FullPullSOQL is the query a full pull of object starts with (for
// benchmarks and diagnostics that want to send the same request).
func FullPullSOQL(object string, opts Options) (string, error) {
	selects, err := planSelects(nil, opts.Fields)
	if err != nil {
		return "", err
	}
	c := &Connector{opts: opts, selects: selects}
	fields, err := c.selectFields(object)
	if err != nil {
		return "", err
	}
	if opts.QueryLimit <= 0 {
		opts.QueryLimit = 50000
	}
	return buildSOQL(object, fields, time.Time{}, time.Time{}, "", opts.QueryLimit), nil
}
