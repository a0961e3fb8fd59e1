package fakesource

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (s *Sim) inventoryRoutes(mux *http.ServeMux) {
	mux.Handle("POST /oauth2/token", s.api(Inventory, "POST /oauth2/token", kindToken, s.sqToken))
	mux.Handle("POST /v2/catalog/search", s.api(Inventory, "POST /v2/catalog/search", kindAPI, s.sqCatalogSearch))
	mux.Handle("POST /v2/catalog/object", s.api(Inventory, "POST /v2/catalog/object", kindAPI, s.sqCatalogUpsert))
	mux.Handle("GET /v2/catalog/object/{id}", s.api(Inventory, "GET /v2/catalog/object/{id}", kindAPI, s.sqCatalogGet))
	mux.Handle("POST /v2/inventory/counts/batch-retrieve", s.api(Inventory, "POST /v2/inventory/counts/batch-retrieve", kindAPI, s.sqCounts))
	mux.Handle("POST /v2/orders/search", s.api(Inventory, "POST /v2/orders/search", kindAPI, s.sqOrderSearch))
	mux.Handle("POST /v2/orders", s.api(Inventory, "POST /v2/orders", kindAPI, s.sqOrderCreate))
	mux.Handle("GET /v2/orders/{id}", s.api(Inventory, "GET /v2/orders/{id}", kindAPI, s.sqOrderGet))
	mux.Handle("PUT /v2/orders/{id}", s.api(Inventory, "PUT /v2/orders/{id}", kindAPI, s.sqOrderUpdate))
	mux.Handle("GET /v2/customers/{id}", s.api(Inventory, "GET /v2/customers/{id}", kindAPI, s.sqCustomerGet))
	mux.Handle("GET /v2/locations", s.api(Inventory, "GET /v2/locations", kindAPI, s.sqLocations))
}

func (s *Sim) sqToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		GrantType    string `json:"grant_type"`
		RefreshToken string `json:"refresh_token"`
		Code         string `json:"code"`
		RedirectURI  string `json:"redirect_uri"`
	}
	if err := readJSON(r, &body); err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_CONTENT_TYPE", err.Error(), "")
		return
	}
	s.mu.Lock()
	a := s.auth
	switch {
	case body.ClientID != a.sqClientID || body.ClientSecret != a.sqClientSecret:
		s.mu.Unlock()
		sqError(w, http.StatusUnauthorized, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "Invalid client credentials.", "client_secret")
		return
	case body.GrantType == "authorization_code":
		if code, msg := s.redeemCodeLocked(Inventory, body.Code, body.RedirectURI, ""); code != "" {
			s.mu.Unlock()
			sqError(w, http.StatusUnauthorized, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "Invalid authorization code: "+msg+".", "code")
			return
		}
	case body.GrantType != "refresh_token":
		s.mu.Unlock()
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_VALUE", "grant_type must be authorization_code or refresh_token.", "grant_type")
		return
	case body.RefreshToken != a.sqRefresh:
		s.mu.Unlock()
		sqError(w, http.StatusUnauthorized, "AUTHENTICATION_ERROR", "UNAUTHORIZED", "Invalid refresh token.", "refresh_token")
		return
	}
	tok, exp := s.issueTokenLocked(Inventory)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "bearer", "expires_at": sqTime(exp),
		"merchant_id": "ML7Z3B1ZHAYPS", "refresh_token": a.sqRefresh, "short_lived": false})
}

// sqRenderLocked renders a Square object as its retrieve endpoint would.
func (s *Sim) sqRenderLocked(o *objectState, r *record) map[string]any {
	out := make(map[string]any, len(r.fields)+6)
	for k, v := range r.fields {
		if !strings.HasPrefix(k, "_") {
			out[k] = v
		}
	}
	switch o.def.name {
	case "InventoryCount":
		out["calculated_at"] = sqTime(r.stamp)
		return out
	case "Item", "ItemVariation":
		out["id"], out["updated_at"], out["version"], out["is_deleted"] = r.id, sqTime(r.stamp), r.version, r.deleted
		if o.def.name == "Item" {
			data, _ := out["item_data"].(map[string]any)
			data = deepCopyMap(data)
			vo := s.store.object(Inventory, "ItemVariation")
			var vars []any
			ids, _ := r.fields["_variation_ids"].([]any)
			for _, id := range ids {
				if v := vo.get(fmt.Sprint(id)); v != nil && !v.deleted {
					vars = append(vars, s.sqRenderLocked(vo, v))
				}
			}
			if data == nil {
				data = map[string]any{}
			}
			data["variations"] = vars
			out["item_data"] = data
		}
		return out
	}
	out["id"], out["created_at"] = r.id, sqTime(r.created)
	if o.def.name != "Location" {
		out["updated_at"], out["version"] = sqTime(r.stamp), r.version
	}
	return out
}

// sqCursor encodes a position in (stamp, kind, seq) order.
func sqCursor(stamp time.Time, kind int, seq int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d:%d:%d", stamp.UnixNano(), kind, seq))
}

func parseSQCursor(c string) (time.Time, int, int64, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, 0, 0, false
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 3 {
		return time.Time{}, 0, 0, false
	}
	ns, e1 := strconv.ParseInt(parts[0], 10, 64)
	k, e2 := strconv.Atoi(parts[1])
	seq, e3 := strconv.ParseInt(parts[2], 10, 64)
	if e1 != nil || e2 != nil || e3 != nil {
		return time.Time{}, 0, 0, false
	}
	return time.Unix(0, ns).UTC(), k, seq, true
}

func sqParseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, fmt.Errorf("%s must be an RFC 3339 timestamp", field)
	}
	return t, nil
}

// sqPage collects up to limit visible records from several objects merged in
// (stamp, kind, seq) order after the cursor position; keep filters records.
func (s *Sim) sqPageLocked(objs []*objectState, from time.Time, after string, limit int, keep func(o *objectState, r *record) bool) ([]*record, []*objectState, string, error) {
	type hit struct {
		r    *record
		o    *objectState
		kind int
	}
	cs, ck, cq := from, -1, int64(-1)
	if after != "" {
		var ok bool
		cs, ck, cq, ok = parseSQCursor(after)
		if !ok {
			return nil, nil, "", fmt.Errorf("invalid cursor")
		}
	}
	var hits []hit
	for kind, o := range objs {
		startSeq := int64(-1)
		switch {
		case kind < ck: // this kind sorts before the cursor's: only later stamps remain
			startSeq = math.MaxInt64
		case kind == ck:
			startSeq = cq + 1
		}
		var got int
		o.iterate(cs, startSeq, func(c cand) bool {
			if !s.visible(c.stamp) {
				return true
			}
			r := o.materialize(c)
			if !keep(o, r) {
				return true
			}
			hits = append(hits, hit{r, o, kind})
			got++
			return got <= limit
		})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := a.r.stamp.Compare(b.r.stamp); c != 0 {
			return c
		}
		if a.kind != b.kind {
			return a.kind - b.kind
		}
		return int(a.r.seq - b.r.seq)
	})
	next := ""
	if len(hits) > limit {
		hits = hits[:limit]
		last := hits[limit-1]
		next = sqCursor(last.r.stamp, last.kind, last.r.seq)
	}
	recs := make([]*record, len(hits))
	os := make([]*objectState, len(hits))
	for i, h := range hits {
		recs[i], os[i] = h.r, h.o
	}
	return recs, os, next, nil
}

func sqLimit(v, def, maxV int) int {
	if v <= 0 {
		return def
	}
	return min(v, maxV)
}

func (s *Sim) sqCatalogSearch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Cursor                string          `json:"cursor"`
		ObjectTypes           []string        `json:"object_types"`
		IncludeDeletedObjects bool            `json:"include_deleted_objects"`
		BeginTime             string          `json:"begin_time"`
		Limit                 int             `json:"limit"`
		Query                 *sqCatalogQuery `json:"query"`
	}
	if err := readJSON(r, &body); err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_CONTENT_TYPE", err.Error(), "")
		return
	}
	match, field, msg := body.Query.matcher()
	if msg != "" {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_VALUE", msg, field)
		return
	}
	begin, err := sqParseTime("begin_time", body.BeginTime)
	if err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_TIME", err.Error(), "begin_time")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var objs []*objectState
	types := body.ObjectTypes
	if len(types) == 0 {
		types = []string{"ITEM", "ITEM_VARIATION"}
	}
	for _, t := range types {
		switch t {
		case "ITEM":
			objs = append(objs, s.store.object(Inventory, "Item"))
		case "ITEM_VARIATION":
			objs = append(objs, s.store.object(Inventory, "ItemVariation"))
		case "CATEGORY", "TAX", "DISCOUNT", "MODIFIER_LIST", "IMAGE":
		default:
			sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_ENUM_VALUE", "Invalid object type "+t, "object_types")
			return
		}
	}
	recs, os, next, err := s.sqPageLocked(objs, begin, body.Cursor, sqLimit(body.Limit, 100, 1000), func(_ *objectState, rec *record) bool {
		return (begin.IsZero() || rec.stamp.After(begin)) && (body.IncludeDeletedObjects || !rec.deleted) && match(rec)
	})
	if err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_CURSOR", "The pagination cursor is not valid.", "cursor")
		return
	}
	out := map[string]any{"objects": s.sqRenderAll(recs, os), "latest_time": sqTime(s.now())}
	if next != "" {
		out["cursor"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) sqRenderAll(recs []*record, os []*objectState) []any {
	out := make([]any, len(recs))
	for i, r := range recs {
		out[i] = s.sqRenderLocked(os[i], r)
	}
	return out
}

func (s *Sim) sqCatalogGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range []string{"Item", "ItemVariation"} {
		o := s.store.object(Inventory, name)
		if rec := o.get(r.PathValue("id")); rec != nil && !rec.deleted {
			writeJSON(w, http.StatusOK, map[string]any{"object": s.sqRenderLocked(o, rec)})
			return
		}
	}
	sqError(w, http.StatusNotFound, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Object with ID `"+r.PathValue("id")+"` not found.", "object_id")
}

func (s *Sim) sqCounts(w http.ResponseWriter, r *http.Request) {
	var body struct {
		CatalogObjectIDs []string `json:"catalog_object_ids"`
		LocationIDs      []string `json:"location_ids"`
		UpdatedAfter     string   `json:"updated_after"`
		Cursor           string   `json:"cursor"`
		States           []string `json:"states"`
		Limit            int      `json:"limit"`
	}
	if err := readJSON(r, &body); err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_CONTENT_TYPE", err.Error(), "")
		return
	}
	after, err := sqParseTime("updated_after", body.UpdatedAfter)
	if err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_TIME", err.Error(), "updated_after")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.store.object(Inventory, "InventoryCount")
	recs, os, next, err := s.sqPageLocked([]*objectState{o}, after, body.Cursor, sqLimit(body.Limit, 1000, 1000), func(_ *objectState, rec *record) bool {
		f := rec.fields
		return !rec.deleted && (after.IsZero() || rec.stamp.After(after)) &&
			(len(body.CatalogObjectIDs) == 0 || slices.Contains(body.CatalogObjectIDs, fmt.Sprint(f["catalog_object_id"]))) &&
			(len(body.LocationIDs) == 0 || slices.Contains(body.LocationIDs, fmt.Sprint(f["location_id"]))) &&
			(len(body.States) == 0 || slices.Contains(body.States, fmt.Sprint(f["state"])))
	})
	if err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_CURSOR", "The pagination cursor is not valid.", "cursor")
		return
	}
	out := map[string]any{"counts": s.sqRenderAll(recs, os)}
	if next != "" {
		out["cursor"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

type sqTimeRange struct {
	StartAt string `json:"start_at"`
	EndAt   string `json:"end_at"`
}

func (s *Sim) sqOrderSearch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		LocationIDs   []string `json:"location_ids"`
		Cursor        string   `json:"cursor"`
		Limit         int      `json:"limit"`
		ReturnEntries bool     `json:"return_entries"`
		Query         struct {
			Filter struct {
				StateFilter *struct {
					States []string `json:"states"`
				} `json:"state_filter"`
				DateTimeFilter *struct {
					CreatedAt *sqTimeRange `json:"created_at"`
					UpdatedAt *sqTimeRange `json:"updated_at"`
					ClosedAt  *sqTimeRange `json:"closed_at"`
				} `json:"date_time_filter"`
				CustomerFilter *struct {
					CustomerIDs []string `json:"customer_ids"`
				} `json:"customer_filter"`
			} `json:"filter"`
			Sort *struct {
				SortField string `json:"sort_field"`
				SortOrder string `json:"sort_order"`
			} `json:"sort"`
		} `json:"query"`
	}
	if err := readJSON(r, &body); err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_CONTENT_TYPE", err.Error(), "")
		return
	}
	bad := func(code, detail, field string) {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", code, detail, field)
	}
	if len(body.LocationIDs) == 0 || len(body.LocationIDs) > 10 {
		bad("INVALID_ARRAY_LENGTH", "location_ids must contain between 1 and 10 ids.", "location_ids")
		return
	}
	f := body.Query.Filter
	var from, to time.Time
	if dt := f.DateTimeFilter; dt != nil {
		if dt.CreatedAt != nil || dt.ClosedAt != nil {
			bad("INVALID_VALUE", "The simulator supports date_time_filter.updated_at only.", "query.filter.date_time_filter")
			return
		}
		if dt.UpdatedAt != nil {
			var err1, err2 error
			from, err1 = sqParseTime("start_at", dt.UpdatedAt.StartAt)
			to, err2 = sqParseTime("end_at", dt.UpdatedAt.EndAt)
			if err1 != nil || err2 != nil {
				bad("INVALID_TIME", "updated_at start_at/end_at must be RFC 3339 timestamps.", "query.filter.date_time_filter.updated_at")
				return
			}
			if body.Query.Sort == nil || body.Query.Sort.SortField != "UPDATED_AT" {
				bad("INVALID_SORT_ORDER", "A date_time_filter on updated_at requires sort_field UPDATED_AT.", "query.sort.sort_field")
				return
			}
		}
	}
	// Square's default order is CREATED_AT DESC (newest first). Sorted
	// by UPDATED_AT ASC the pages follow the change stamps (what a sync
	// asks for, safe against edits between pages); any other order is
	// served from a snapshot sorted once, paged by position.
	field, order := "CREATED_AT", "DESC"
	if st := body.Query.Sort; st != nil {
		field, order = cmp.Or(st.SortField, "CREATED_AT"), cmp.Or(st.SortOrder, "ASC")
	}
	if !slices.Contains([]string{"CREATED_AT", "UPDATED_AT", "CLOSED_AT"}, field) || (order != "ASC" && order != "DESC") {
		bad("INVALID_ENUM_VALUE", "sort_field must be CREATED_AT, UPDATED_AT or CLOSED_AT and sort_order ASC or DESC.", "query.sort")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.store.object(Inventory, "Order")
	page := s.sqPageLocked
	if field != "UPDATED_AT" || order != "ASC" {
		page = s.sqSortedPageLocked(field, order)
	}
	recs, os, next, err := page([]*objectState{o}, from, body.Cursor, sqLimit(body.Limit, 500, 1000), func(_ *objectState, rec *record) bool {
		if rec.deleted || !slices.Contains(body.LocationIDs, fmt.Sprint(rec.fields["location_id"])) {
			return false
		}
		if !to.IsZero() && !rec.stamp.Before(to) {
			return false
		}
		if f.StateFilter != nil && len(f.StateFilter.States) > 0 && !slices.Contains(f.StateFilter.States, fmt.Sprint(rec.fields["state"])) {
			return false
		}
		if f.CustomerFilter != nil && len(f.CustomerFilter.CustomerIDs) > 0 && !slices.Contains(f.CustomerFilter.CustomerIDs, fmt.Sprint(rec.fields["customer_id"])) {
			return false
		}
		return true
	})
	if err != nil {
		bad("INVALID_CURSOR", "The pagination cursor is not valid.", "cursor")
		return
	}
	out := map[string]any{}
	if body.ReturnEntries {
		// Entries only: the order's id, version and location.
		entries := make([]any, len(recs))
		for i, rec := range recs {
			entries[i] = map[string]any{"order_id": rec.id, "version": rec.version, "location_id": rec.fields["location_id"]}
		}
		out["order_entries"] = entries
	} else {
		out["orders"] = s.sqRenderAll(recs, os)
	}
	if next != "" {
		out["cursor"] = next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) sqGet(w http.ResponseWriter, r *http.Request, name, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.store.object(Inventory, name)
	rec := o.get(r.PathValue("id"))
	if rec == nil || rec.deleted {
		sqError(w, http.StatusNotFound, "INVALID_REQUEST_ERROR", "NOT_FOUND", fmt.Sprintf("%s not found for id %s", name, r.PathValue("id")), "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{key: s.sqRenderLocked(o, rec)})
}

func (s *Sim) sqOrderGet(w http.ResponseWriter, r *http.Request) { s.sqGet(w, r, "Order", "order") }
func (s *Sim) sqCustomerGet(w http.ResponseWriter, r *http.Request) {
	s.sqGet(w, r, "Customer", "customer")
}

func (s *Sim) sqLocations(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.store.object(Inventory, "Location")
	var out []any
	o.iterate(time.Time{}, -1, func(c cand) bool {
		if r := o.materialize(c); !r.deleted {
			out = append(out, s.sqRenderLocked(o, r))
		}
		return true
	})
	writeJSON(w, http.StatusOK, map[string]any{"locations": out})
}

// sqIdempotent runs apply once per idempotency key: a replay with the same body gets the
// first answer, a replay with a different body gets IDEMPOTENCY_KEY_REUSED.
func (s *Sim) sqIdempotentLocked(w http.ResponseWriter, scope, key string, raw []byte, apply func(w http.ResponseWriter)) {
	if key == "" {
		apply(w)
		return
	}
	sum := sha256.Sum256(raw)
	if e, ok := s.idemLookupLocked(Inventory, scope, key); ok {
		if e.header.Get("X-Sim-Body-Hash") != base64.StdEncoding.EncodeToString(sum[:]) {
			sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "IDEMPOTENCY_KEY_REUSED", "The idempotency key was already used with a different request.", "idempotency_key")
			return
		}
		replay(w, e)
		return
	}
	buf := &bufferedResponse{header: http.Header{}}
	apply(buf)
	if buf.status < 300 {
		h := buf.header.Clone()
		h.Set("X-Sim-Body-Hash", base64.StdEncoding.EncodeToString(sum[:]))
		s.idemStoreLocked(Inventory, scope, key, idemEntry{status: buf.status, body: buf.body, header: h})
	}
	replay(w, idemEntry{status: buf.status, body: buf.body, header: buf.header})
}

func readRaw(r *http.Request, v any) ([]byte, error) {
	var raw json.RawMessage
	if err := readJSON(r, &raw); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return nil, fmt.Errorf("invalid JSON body: %w", err)
	}
	return raw, nil
}

func (s *Sim) sqOrderCreate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Order          map[string]any `json:"order"`
		IdempotencyKey string         `json:"idempotency_key"`
	}
	raw, err := readRaw(r, &body)
	if err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_CONTENT_TYPE", err.Error(), "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sqIdempotentLocked(w, "orders.create", body.IdempotencyKey, raw, func(w http.ResponseWriter) {
		if body.Order == nil {
			sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER", "Field must be set", "order")
			return
		}
		loc, _ := body.Order["location_id"].(string)
		if l := s.store.object(Inventory, "Location").get(loc); l == nil {
			sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Location `"+loc+"` not found.", "order.location_id")
			return
		}
		fields := sqWritable(body.Order)
		if fields["state"] == nil {
			fields["state"] = "OPEN"
		}
		sqOrderTotals(fields)
		o := s.store.object(Inventory, "Order")
		rec := s.createLocked(o, fields, time.Time{})
		writeJSON(w, http.StatusOK, map[string]any{"order": s.sqRenderLocked(o, rec)})
	})
}

func (s *Sim) sqOrderUpdate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Order          map[string]any `json:"order"`
		FieldsToClear  []string       `json:"fields_to_clear"`
		IdempotencyKey string         `json:"idempotency_key"`
	}
	raw, err := readRaw(r, &body)
	if err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_CONTENT_TYPE", err.Error(), "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sqIdempotentLocked(w, "orders.update:"+r.PathValue("id"), body.IdempotencyKey, raw, func(w http.ResponseWriter) {
		o := s.store.object(Inventory, "Order")
		cur := o.get(r.PathValue("id"))
		if cur == nil || cur.deleted {
			sqError(w, http.StatusNotFound, "INVALID_REQUEST_ERROR", "NOT_FOUND", "Order not found for id "+r.PathValue("id"), "")
			return
		}
		ver, ok := body.Order["version"].(float64)
		if !ok {
			sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER", "Field must be set", "order.version")
			return
		}
		if st, ok := body.Order["state"].(string); ok && !slices.Contains([]string{"OPEN", "COMPLETED", "CANCELED", "DRAFT"}, st) {
			sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_ENUM_VALUE", "`"+st+"` is not a valid enum value for `state`.", "order.state")
			return
		}
		if s.takeStaleNextWriteLocked(Inventory) {
			cur = s.concurrentEditLocked(o, cur)
		}
		if int64(ver) != cur.version {
			sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "VERSION_MISMATCH",
				fmt.Sprintf("The order version %d does not match the server version %d.", int64(ver), cur.version), "order.version")
			return
		}
		n := s.updateLocked(o, cur, func(n *record) {
			for _, f := range body.FieldsToClear {
				delete(n.fields, f)
			}
			for k, v := range sqWritable(body.Order) {
				if k == "fulfillments" || k == "line_items" {
					n.fields[k] = mergeByUID(n.fields[k], v)
					continue
				}
				n.fields[k] = deepCopy(v)
			}
			sqOrderTotals(n.fields)
		})
		if st := n.fields["state"]; (st == "COMPLETED" || st == "CANCELED") && n.fields["closed_at"] == nil {
			n.fields["closed_at"] = sqTime(n.stamp)
		}
		writeJSON(w, http.StatusOK, map[string]any{"order": s.sqRenderLocked(o, n)})
	})
}

// mergeByUID merges list elements by their uid, as Square's sparse order update does.
func mergeByUID(cur, patch any) any {
	cl, _ := cur.([]any)
	pl, ok := patch.([]any)
	if !ok {
		return deepCopy(patch)
	}
	out := deepCopy(cl).([]any)
	for _, p := range pl {
		pm, _ := p.(map[string]any)
		uid, _ := pm["uid"].(string)
		merged := false
		for i, c := range out {
			if cm, ok := c.(map[string]any); ok && uid != "" && cm["uid"] == uid {
				for k, v := range pm {
					if sub, ok := v.(map[string]any); ok {
						if csub, ok := cm[k].(map[string]any); ok {
							mergeFields(csub, sub)
							continue
						}
					}
					cm[k] = deepCopy(v)
				}
				out[i] = cm
				merged = true
			}
		}
		if !merged {
			out = append(out, deepCopy(p))
		}
	}
	return out
}

func sqWritable(m map[string]any) map[string]any {
	out := deepCopyMap(m)
	for _, k := range []string{"id", "version", "created_at", "updated_at", "is_deleted"} {
		delete(out, k)
	}
	return out
}

// sqOrderTotals recomputes money totals and fills line item uids.
func sqOrderTotals(f map[string]any) {
	lines, _ := f["line_items"].([]any)
	var total int64
	for i, l := range lines {
		m, ok := l.(map[string]any)
		if !ok {
			continue
		}
		if m["uid"] == nil {
			m["uid"] = fmt.Sprintf("li-new-%d", i)
		}
		qty, _ := strconv.ParseFloat(fmt.Sprint(m["quantity"]), 64)
		var price float64
		if bp, ok := m["base_price_money"].(map[string]any); ok {
			price, _ = bp["amount"].(float64)
			if p, ok := bp["amount"].(int64); ok {
				price = float64(p)
			}
		}
		amt := int64(price * qty)
		m["gross_sales_money"], m["total_money"] = sqMoney(amt), sqMoney(amt)
		m["total_tax_money"], m["total_discount_money"] = sqMoney(0), sqMoney(0)
		total += amt
	}
	f["total_money"] = sqMoney(total)
	for _, k := range []string{"total_tax_money", "total_discount_money", "total_service_charge_money"} {
		if f[k] == nil {
			f[k] = sqMoney(0)
		}
	}
}

func (s *Sim) sqCatalogUpsert(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IdempotencyKey string         `json:"idempotency_key"`
		Object         map[string]any `json:"object"`
	}
	raw, err := readRaw(r, &body)
	if err != nil {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "INVALID_CONTENT_TYPE", err.Error(), "")
		return
	}
	if body.IdempotencyKey == "" {
		sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", "MISSING_REQUIRED_PARAMETER", "Field must be set", "idempotency_key")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sqIdempotentLocked(w, "catalog.upsert", body.IdempotencyKey, raw, func(w http.ResponseWriter) {
		var mappings []any
		rec, o, code, detail, field := s.sqUpsertCatalogLocked(body.Object, &mappings)
		if code != "" {
			sqError(w, http.StatusBadRequest, "INVALID_REQUEST_ERROR", code, detail, field)
			return
		}
		out := map[string]any{"catalog_object": s.sqRenderLocked(o, rec)}
		if len(mappings) > 0 {
			out["id_mappings"] = mappings
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// sqUpsertCatalogLocked creates (id "#...") or updates (id + matching version) one catalog
// object; an ITEM's embedded variations are upserted too.
func (s *Sim) sqUpsertCatalogLocked(obj map[string]any, mappings *[]any) (*record, *objectState, string, string, string) {
	if obj == nil {
		return nil, nil, "MISSING_REQUIRED_PARAMETER", "Field must be set", "object"
	}
	typ, _ := obj["type"].(string)
	var o *objectState
	dataKey := ""
	switch typ {
	case "ITEM":
		o, dataKey = s.store.object(Inventory, "Item"), "item_data"
	case "ITEM_VARIATION":
		o, dataKey = s.store.object(Inventory, "ItemVariation"), "item_variation_data"
	default:
		return nil, nil, "INVALID_VALUE", "The simulator upserts ITEM and ITEM_VARIATION objects only.", "object.type"
	}
	id, _ := obj["id"].(string)
	data, _ := obj[dataKey].(map[string]any)
	if data == nil {
		return nil, nil, "MISSING_REQUIRED_PARAMETER", "Field must be set", "object." + dataKey
	}
	data = deepCopyMap(data)
	var nested []any
	if typ == "ITEM" {
		nested, _ = data["variations"].([]any)
		delete(data, "variations")
	}
	var rec *record
	if strings.HasPrefix(id, "#") || id == "" {
		if id == "" {
			return nil, nil, "MISSING_REQUIRED_PARAMETER", "Field must be set", "object.id"
		}
		rec = s.createLocked(o, map[string]any{"type": typ, "present_at_all_locations": true, dataKey: data}, time.Time{})
		*mappings = append(*mappings, map[string]any{"client_object_id": id, "object_id": rec.id})
	} else {
		cur := o.get(id)
		if cur == nil || cur.deleted {
			return nil, nil, "NOT_FOUND", "Object with ID `" + id + "` not found.", "object.id"
		}
		if s.takeStaleNextWriteLocked(Inventory) {
			cur = s.concurrentEditLocked(o, cur)
		}
		ver, ok := obj["version"].(float64)
		if !ok || int64(ver) != cur.version {
			return nil, nil, "VERSION_MISMATCH", "Object version does not match latest database version.", "object.version"
		}
		rec = s.updateLocked(o, cur, func(n *record) {
			if old, ok := n.fields[dataKey].(map[string]any); ok {
				if typ == "ITEM_VARIATION" {
					data["item_id"] = old["item_id"]
				}
			}
			n.fields[dataKey] = data
		})
	}
	if typ == "ITEM" && len(nested) > 0 {
		var ids []any
		for _, v := range nested {
			vm, _ := v.(map[string]any)
			if vd, ok := vm["item_variation_data"].(map[string]any); ok {
				vd["item_id"] = rec.id
			}
			vr, _, code, detail, field := s.sqUpsertCatalogLocked(vm, mappings)
			if code != "" {
				return nil, nil, code, detail, "object.item_data.variations." + field
			}
			ids = append(ids, vr.id)
		}
		rec.fields["_variation_ids"] = ids
	}
	return rec, o, "", "", ""
}
