package accounting

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/wire"
)

// ProbeChanges implements connectors.ChangeProber with one change data
// capture call for every entity asked about: an entity changed when CDC
// lists one of its records updated after its cursor, or deleted since its
// last pull. An entity whose cursor is older than CDC reaches is reported
// changed (its pull decides), as is every entity when the answer is not
// the JSON form this reads.
func (c *Connector) ProbeChanges(ctx context.Context, probes []connectors.Probe) ([]connectors.ProbeResult, error) {
	out := make([]connectors.ProbeResult, len(probes))
	now := c.opts.Now()
	floor := now.Add(-cdcWindow + time.Hour)
	var names []string
	var earliest time.Time
	cursors := make([]time.Time, len(probes))
	for i, p := range probes {
		out[i] = connectors.ProbeResult{Object: p.Object}
		if _, err := checkEntity(p.Object); err != nil {
			out[i].Err = err
			continue
		}
		cur, err := parseStamp(p.Cursor)
		if err != nil {
			out[i].Err = &connectors.InvalidError{Field: "cursor", Msg: err.Error()}
			continue
		}
		cursors[i] = cur
		// What changed before the last pull started, that pull read (its
		// overlap included); an idle entity's cursor may be months old.
		from := cur
		if !p.Since.IsZero() {
			from = minTime(p.Since.Add(-c.opts.Overlap), now)
		}
		if from.Before(floor) {
			out[i].Changed = true // beyond what CDC keeps: let the pull look
			continue
		}
		if earliest.IsZero() || from.Before(earliest) {
			earliest = from
		}
		names = append(names, p.Object)
	}
	if len(names) == 0 {
		return out, nil
	}
	body, err := c.do(ctx, wire.Call{Method: http.MethodGet, Path: "/cdc",
		Query: url.Values{"entities": {strings.Join(names, ",")}, "changedSince": {formatStamp(earliest)}}})
	if err != nil {
		return nil, err
	}
	if b := bytes.TrimSpace(body); len(b) == 0 || b[0] != '{' || !gjson.ValidBytes(b) {
		for i := range out {
			if out[i].Err == nil {
				out[i].Changed = true
			}
		}
		return out, nil
	}
	for i, p := range probes {
		if out[i].Err != nil || out[i].Changed {
			continue
		}
		since := p.Since
		if since.IsZero() {
			since = cursors[i]
		}
		out[i].Changed, out[i].Err = cdcChanged(body, p.Object, cursors[i], since)
	}
	return out, nil
}

// cdcChanged reads one entity's lists in a CDC answer.
func cdcChanged(body []byte, entity string, cursor, since time.Time) (bool, error) {
	changed := false
	var perr error
	gjson.GetBytes(body, "CDCResponse.#.QueryResponse.#."+entity).ForEach(func(_, perResp gjson.Result) bool {
		perResp.ForEach(func(_, list gjson.Result) bool {
			list.ForEach(func(_, item gjson.Result) bool {
				at, err := parseStamp(item.Get("MetaData.LastUpdatedTime").String())
				if err != nil {
					perr = err
					return false
				}
				deleted := strings.EqualFold(item.Get("status").String(), "Deleted")
				changed = deleted && !at.Before(since) || !deleted && at.After(cursor)
				return !changed
			})
			return !changed && perr == nil
		})
		return !changed && perr == nil
	})
	if perr != nil {
		return false, connectors.Classify(connectors.ErrPermanent, errors.Join(errors.New("accounting: CDC answer"), perr))
	}
	return changed, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
