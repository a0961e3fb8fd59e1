package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// compositeMax is how many sub-requests one Composite call carries; the
// org's API limit counts the call once.
const compositeMax = 25

type compositeSub struct {
	Method      string `json:"method"`
	URL         string `json:"url"`
	ReferenceID string `json:"referenceId"`
}

type compositeAnswer struct {
	Responses []struct {
		Body        json.RawMessage `json:"body"`
		Status      int             `json:"httpStatusCode"`
		ReferenceID string          `json:"referenceId"`
	} `json:"compositeResponse"`
}

// ProbeChanges implements connectors.ChangeProber with Salesforce
// Composite: per object, a query for one record modified after the cursor
// and the list of records deleted since the last pull, up to 25
// sub-requests per call (12 objects). Every sub-request's answer is
// classified on its own: an error inside the call's 200 is that object's
// Err, never "unchanged".
func (c *Connector) ProbeChanges(ctx context.Context, probes []connectors.Probe) ([]connectors.ProbeResult, error) {
	out := make([]connectors.ProbeResult, len(probes))
	for start := 0; start < len(probes); start += compositeMax / 2 {
		end := min(start+compositeMax/2, len(probes))
		if err := c.probeBatch(ctx, probes[start:end], out[start:end]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *Connector) probeBatch(ctx context.Context, probes []connectors.Probe, out []connectors.ProbeResult) error {
	base := "/services/data/" + APIVersion
	var subs []compositeSub
	sinces := make([]time.Time, len(probes))
	for i, p := range probes {
		out[i] = connectors.ProbeResult{Object: p.Object}
		cur, err := parseStamp(p.Cursor)
		if err != nil {
			out[i].Err = &connectors.InvalidError{Field: "cursor", Msg: err.Error()}
			continue
		}
		if _, err := c.selectFields(p.Object); err != nil {
			out[i].Err = err
			continue
		}
		soql := fmt.Sprintf("SELECT Id FROM %s WHERE SystemModstamp > %s LIMIT 1", p.Object, cur.UTC().Format(soqlLayout))
		since := p.Since
		now := c.opts.Now()
		if since.IsZero() {
			since = cur
		}
		since = minTime(since, now)
		sinces[i] = since
		from := since.UTC().Add(-time.Minute).Truncate(time.Minute)
		to := now.UTC().Add(time.Minute).Truncate(time.Minute)
		del := url.Values{"start": {from.Format(time.RFC3339)}, "end": {to.Format(time.RFC3339)}}
		subs = append(subs,
			compositeSub{Method: http.MethodGet, URL: base + "/query?" + url.Values{"q": {soql}}.Encode(), ReferenceID: "q" + strconv.Itoa(i)},
			compositeSub{Method: http.MethodGet, URL: base + "/sobjects/" + p.Object + "/deleted/?" + del.Encode(), ReferenceID: "d" + strconv.Itoa(i)},
		)
	}
	if len(subs) == 0 {
		return nil
	}
	_, body, err := c.do(ctx, wire.Call{Method: http.MethodPost, Path: "/composite", Idempotent: true,
		Body: map[string]any{"allOrNone": false, "compositeRequest": subs}})
	if err != nil {
		return err
	}
	var ans compositeAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("salesforce: decode composite: %w", err))
	}
	seen := map[string]bool{}
	for _, r := range ans.Responses {
		if len(r.ReferenceID) < 2 {
			continue
		}
		i, err := strconv.Atoi(r.ReferenceID[1:])
		if err != nil || i < 0 || i >= len(probes) {
			continue
		}
		seen[r.ReferenceID] = true
		changed, err := subAnswer(r.ReferenceID[0], r.Status, r.Body, sinces[i])
		switch {
		case err != nil:
			out[i].Err = errors.Join(out[i].Err, fmt.Errorf("salesforce: %s probe of %s: %w", map[byte]string{'q': "query", 'd': "deleted"}[r.ReferenceID[0]], probes[i].Object, err))
		case changed:
			out[i].Changed = true
		}
	}
	for _, s := range subs {
		if !seen[s.ReferenceID] {
			i, _ := strconv.Atoi(s.ReferenceID[1:])
			out[i].Err = errors.Join(out[i].Err, connectors.Classify(connectors.ErrUnavailable,
				fmt.Errorf("salesforce: composite answered no %s for %s", s.ReferenceID, probes[i].Object)))
		}
	}
	return nil
}

// subAnswer reads one sub-request's answer: a query ('q') changed when it
// found a record, a deleted list ('d') when it lists one deleted since the
// last pull (the list's window starts at a whole minute).
func subAnswer(kind byte, status int, body []byte, since time.Time) (bool, error) {
	if status < 200 || status >= 300 {
		return false, classify(&http.Response{StatusCode: status, Header: http.Header{}}, body)
	}
	if kind == 'q' {
		qr, err := decodeQuery(body)
		if err != nil {
			return false, err
		}
		return len(qr.Records) > 0, nil
	}
	dels, err := parseDeleted(body)
	for _, d := range dels {
		if !d.DeletedAt.Before(since) {
			return true, err
		}
	}
	return false, err
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
