package fakesource

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

const sfPageSize = 2000

var sfVersionRe = regexp.MustCompile(`^v\d+\.\d$`)

func (s *Sim) salesforceRoutes(mux *http.ServeMux) {
	mux.Handle("POST /services/oauth2/token", s.api(Salesforce, "POST /services/oauth2/token", kindToken, s.sfToken))
	mux.Handle("GET /services/data/{$}", s.api(Salesforce, "GET /services/data/", kindToken, s.sfVersions))
	mux.Handle("GET /services/data/{v}/query", s.api(Salesforce, "GET query", kindAPI, s.sfQuery(false)))
	mux.Handle("GET /services/data/{v}/queryAll", s.api(Salesforce, "GET queryAll", kindAPI, s.sfQuery(true)))
	mux.Handle("GET /services/data/{v}/query/{locator}", s.api(Salesforce, "GET query/{locator}", kindAPI, s.sfQueryMore))
	mux.Handle("GET /services/data/{v}/queryAll/{locator}", s.api(Salesforce, "GET queryAll/{locator}", kindAPI, s.sfQueryMore))
	mux.Handle("GET /services/data/{v}/limits", s.api(Salesforce, "GET limits", kindAPI, s.sfLimits))
	mux.Handle("POST /services/data/{v}/composite", s.api(Salesforce, "POST composite", kindAPI, s.sfComposite))
	for _, m := range []string{"GET", "POST", "PATCH", "DELETE"} {
		mux.Handle(m+" /services/data/{v}/sobjects/{rest...}", s.sfSObjects(m))
	}
}

// sfToken serves the OAuth 2.0 token endpoint.
func (s *Sim) sfToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "malformed form body"})
		return
	}
	s.mu.Lock()
	a := s.auth
	grant := r.PostForm.Get("grant_type")
	var errCode, errDesc string
	switch grant {
	case "client_credentials":
		if r.PostForm.Get("client_id") != a.sfClientID {
			errCode, errDesc = "invalid_client_id", "client identifier invalid"
		} else if r.PostForm.Get("client_secret") != a.sfClientSecret {
			errCode, errDesc = "invalid_client", "invalid client credentials"
		}
	case "refresh_token":
		if r.PostForm.Get("client_id") != a.sfClientID {
			errCode, errDesc = "invalid_client_id", "client identifier invalid"
		} else if sec := r.PostForm.Get("client_secret"); sec != "" && sec != a.sfClientSecret {
			errCode, errDesc = "invalid_client", "invalid client credentials"
		} else if r.PostForm.Get("refresh_token") != a.sfRefresh {
			errCode, errDesc = "invalid_grant", "expired access/refresh token"
		}
	case "authorization_code":
		if r.PostForm.Get("client_id") != a.sfClientID {
			errCode, errDesc = "invalid_client_id", "client identifier invalid"
		} else if sec := r.PostForm.Get("client_secret"); sec != "" && sec != a.sfClientSecret {
			errCode, errDesc = "invalid_client", "invalid client credentials"
		} else {
			errCode, errDesc = s.redeemCodeLocked(Salesforce, r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier"))
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		errCode, errDesc = s.checkJWTLocked(r.PostForm.Get("assertion"))
	default:
		errCode, errDesc = "unsupported_grant_type", "grant type not supported"
	}
	if errCode != "" {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": errCode, "error_description": errDesc})
		return
	}
	tok, _ := s.issueTokenLocked(Salesforce)
	s.mu.Unlock()
	base := requestBase(r) // the address the client used reaches us again
	issued := strconv.FormatInt(s.now().UnixMilli(), 10)
	out := omap{{"access_token", tok}}
	if grant == "authorization_code" { // the web server flow also hands out the refresh token
		out = append(out, kv{"refresh_token", a.sfRefresh})
	}
	writeJSON(w, http.StatusOK, append(out,
		kv{"signature", s.sign(s.auth.sfClientSecret, base+issued)},
		kv{"scope", "api refresh_token"}, kv{"instance_url", base},
		kv{"id", base + "/id/" + sfOrgID + "/" + sfID("005", 0)}, kv{"token_type", "Bearer"}, kv{"issued_at", issued},
	))
}

// checkJWTLocked validates a JWT bearer assertion's claims (iss = client id, sub present,
// exp in the future). The signature is not checked: the simulator holds no certificate.
func (s *Sim) checkJWTLocked(assertion string) (string, string) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return "invalid_grant", "invalid assertion"
	}
	raw, err := decodeSegment(parts[1])
	if err != nil {
		return "invalid_grant", "invalid assertion"
	}
	var claims struct {
		Iss string  `json:"iss"`
		Sub string  `json:"sub"`
		Aud string  `json:"aud"`
		Exp float64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil {
		return "invalid_grant", "invalid assertion"
	}
	switch {
	case claims.Iss != s.auth.sfClientID:
		return "invalid_client_id", "client identifier invalid"
	case claims.Sub == "":
		return "invalid_grant", "user hasn't approved this consumer"
	case int64(claims.Exp) <= s.now().Unix():
		return "invalid_grant", "expired authorization code"
	}
	return "", ""
}

func (s *Sim) sfVersions(w http.ResponseWriter, _ *http.Request) {
	var out []omap
	labels := []string{"Winter", "Spring", "Summer"}
	for v := 55; v <= 62; v++ {
		year := 2022 + (v-55)/3 + 1
		out = append(out, omap{{"label", fmt.Sprintf("%s '%02d", labels[(v-55)%3], year%100)}, {"url", fmt.Sprintf("/services/data/v%d.0", v)}, {"version", fmt.Sprintf("%d.0", v)}})
	}
	writeJSON(w, http.StatusOK, out)
}

// sfLimits serves the daily API request budget as /limits does (this call included).
func (s *Sim) sfLimits(w http.ResponseWriter, r *http.Request) {
	if _, ok := sfCheckVersion(w, r); !ok {
		return
	}
	used, limit := s.peekQuota(Salesforce, s.faultsFor(Salesforce).DailyQuota)
	writeJSON(w, http.StatusOK, omap{{"DailyApiRequests", omap{{"Max", limit}, {"Remaining", max(0, limit-used)}}}})
}

func sfCheckVersion(w http.ResponseWriter, r *http.Request) (string, bool) {
	v := r.PathValue("v")
	if !sfVersionRe.MatchString(v) {
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return "", false
	}
	return v, true
}

// sfCursor is the server-side state behind a nextRecordsUrl.
type sfCursor struct {
	q         *soqlQuery
	all       bool
	version   string
	lastStamp time.Time
	lastSeq   int64
	served    int
	total     int
	batch     int
}

// sfBatchSize reads Sforce-Query-Options: batchSize=N. Real Salesforce clamps it to
// 200..2000; the simulator accepts 1..2000 so tests can page small data sets.
func sfBatchSize(r *http.Request, def int) int {
	for _, opt := range strings.Split(r.Header.Get("Sforce-Query-Options"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(opt), "=")
		if strings.EqualFold(k, "batchSize") {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				return min(n, sfPageSize)
			}
		}
	}
	return def
}

func (s *Sim) sfQuery(all bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := sfCheckVersion(w, r)
		if !ok {
			return
		}
		qs := r.URL.Query().Get("q")
		if qs == "" {
			sfError(w, http.StatusBadRequest, "MALFORMED_QUERY", "A query string has to be specified")
			return
		}
		q, err := parseSOQL(qs)
		if err != nil {
			sfError(w, http.StatusBadRequest, "MALFORMED_QUERY", err.Error())
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if code, msg := s.sfCheckQueryLocked(q); code != "" {
			sfError(w, http.StatusBadRequest, code, msg)
			return
		}
		c := &sfCursor{q: q, all: all, version: v, lastSeq: -1, batch: sfBatchSize(r, sfPageSize)}
		c.total = s.sfCountLocked(c)
		s.sfPageLocked(w, c)
	}
}

func (s *Sim) sfQueryMore(w http.ResponseWriter, r *http.Request) {
	if _, ok := sfCheckVersion(w, r); !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cursors[r.PathValue("locator")]
	if !ok {
		sfError(w, http.StatusBadRequest, "INVALID_QUERY_LOCATOR", "invalid query locator")
		return
	}
	cp := *c // the stored page stays replayable
	cp.batch = sfBatchSize(r, c.batch)
	s.sfPageLocked(w, &cp)
}

// sfCheckQueryLocked validates object and field names like Salesforce would.
func (s *Sim) sfCheckQueryLocked(q *soqlQuery) (string, string) {
	obj, ok := sfCanonObject(q.Object)
	if !ok {
		return "INVALID_TYPE", fmt.Sprintf("sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", q.Object)
	}
	q.Object = obj
	for i, f := range q.Fields {
		canon, ok := s.sfCanonPath(obj, f)
		if !ok {
			return "INVALID_FIELD", noSuchColumn(f, obj)
		}
		q.Fields[i] = canon
	}
	for i, c := range q.Where {
		canon, ok := s.sf.canon(obj, c.Field)
		if !ok {
			return "INVALID_FIELD", noSuchColumn(c.Field, obj)
		}
		q.Where[i].Field = canon
		q.Where[i].Exact = canon == "Id" || strings.HasSuffix(canon, "Id")
		if sfIsDateTime(canon) {
			for _, v := range c.Values {
				if v.Kind != "datetime" && v.Kind != "null" {
					return "INVALID_FIELD", fmt.Sprintf("value of filter criterion for field '%s' must be of type dateTime and should not be enclosed in quotes", canon)
				}
			}
		}
	}
	return "", ""
}

// sfCanonPath resolves "Field" or "Rel.Field" (one level) to canonical names.
func (s *Sim) sfCanonPath(obj, path string) (string, bool) {
	rel, field, dotted := strings.Cut(path, ".")
	if !dotted {
		return s.sf.canon(obj, path)
	}
	_, lk, ok := s.sf.lookupFor(obj, rel)
	if !ok {
		return "", false
	}
	if lk.target == "User" {
		for _, uf := range []string{"Id", "Name", "Email"} {
			if strings.EqualFold(uf, field) {
				return lk.rel + "." + uf, true
			}
		}
		return "", false
	}
	c, ok := s.sf.canon(lk.target, field)
	return lk.rel + "." + c, ok
}

func sfIsDateTime(f string) bool {
	return f == "SystemModstamp" || f == "LastModifiedDate" || f == "CreatedDate" || f == "ClosedDate"
}

// sfLowerBound extracts the iteration start from SystemModstamp/LastModifiedDate >= or >.
func sfLowerBound(q *soqlQuery) time.Time {
	var from time.Time
	for _, c := range q.Where {
		if (c.Field == "SystemModstamp" || c.Field == "LastModifiedDate") && (c.Op == ">=" || c.Op == ">") && len(c.Values) == 1 && c.Values[0].T.After(from) {
			from = c.Values[0].T
		}
	}
	return from
}

// sfScanLocked walks the records matching c after its position, calling fn for each.
// rec is nil when no condition needed the record's fields; callers materialize it.
func (s *Sim) sfScanLocked(c *sfCursor, fromStamp time.Time, fromSeq int64, fn func(o *objectState, c cand, rec *record) bool) {
	o := s.store.object(Salesforce, c.q.Object)
	if lb := sfLowerBound(c.q); lb.After(fromStamp) {
		fromStamp, fromSeq = lb, -1
	}
	stampOnly := true
	for _, w := range c.q.Where {
		if w.Field != "SystemModstamp" && w.Field != "LastModifiedDate" {
			stampOnly = false
		}
	}
	visit := o.iterate
	if ids := sfIDFilter(c.q); ids != nil {
		visit = func(from time.Time, fromSeq int64, fn func(cand) bool) { s.sfIterateIDs(o, ids, from, fromSeq, fn) }
	}
	visit(fromStamp, fromSeq, func(cd cand) bool {
		if !s.visible(cd.stamp) {
			return true
		}
		if cd.rec != nil && cd.rec.deleted && !c.all {
			return true
		}
		if stampOnly {
			for _, w := range c.q.Where {
				if !sfCompare(cd.stamp, w) {
					return true
				}
			}
			return fn(o, cd, nil)
		}
		rec := o.materialize(cd)
		for _, w := range c.q.Where {
			if !sfCompare(sfFieldValue(rec, w.Field), w) {
				return true
			}
		}
		return fn(o, cd, rec)
	})
}

// sfIDFilter returns the ids of an `Id = 'x'` or `Id IN (...)` condition, so such queries
// look the records up instead of scanning the object.
func sfIDFilter(q *soqlQuery) []string {
	for _, w := range q.Where {
		if w.Field == "Id" && (w.Op == "=" || w.Op == "IN") {
			var ids []string
			for _, v := range w.Values {
				ids = append(ids, v.S)
			}
			return ids
		}
	}
	return nil
}

// sfIterateIDs visits the given records in (stamp, seq) order from (from, fromSeq).
func (s *Sim) sfIterateIDs(o *objectState, ids []string, from time.Time, fromSeq int64, fn func(cand) bool) {
	var cs []cand
	seen := map[int64]bool{}
	for _, id := range ids {
		r := o.get(id)
		if r == nil || seen[r.seq] || keyLess(r.stamp, r.seq, from, fromSeq) {
			continue
		}
		seen[r.seq] = true
		c := cand{seq: r.seq, stamp: r.stamp}
		if _, ok := o.overlay[r.seq]; ok {
			c.rec = r
		}
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if keyLess(a.stamp, a.seq, b.stamp, b.seq) {
			return -1
		}
		return 1
	})
	for _, c := range cs {
		if !fn(c) {
			return
		}
	}
}

func (s *Sim) sfCountLocked(c *sfCursor) int {
	n := 0
	s.sfScanLocked(c, time.Time{}, -1, func(*objectState, cand, *record) bool {
		n++
		return c.q.Limit == 0 || n < c.q.Limit
	})
	return n
}

func (s *Sim) sfPageLocked(w http.ResponseWriter, c *sfCursor) {
	if c.q.Count {
		writeJSON(w, http.StatusOK, omap{{"totalSize", c.total}, {"done", true}, {"records", []any{}}})
		return
	}
	want := c.batch
	if c.q.Limit > 0 {
		want = min(want, c.q.Limit-c.served)
	}
	records := []any{}
	more := false
	s.sfScanLocked(c, c.lastStamp, c.lastSeq+1, func(o *objectState, cd cand, r *record) bool {
		if len(records) == want {
			more = true
			return false
		}
		if r == nil {
			r = o.materialize(cd)
		}
		records = append(records, s.sfProject(o, r, c.version, c.q.Fields))
		c.lastStamp, c.lastSeq = r.stamp, r.seq
		return true
	})
	c.served += len(records)
	if c.q.Limit > 0 && c.served >= c.q.Limit {
		more = false
	}
	out := omap{{"totalSize", c.total}, {"done", !more}}
	if more {
		s.cursorSeq++
		loc := fmt.Sprintf("01g8d%010d-%d", s.cursorSeq, c.served)
		s.cursorOrder = append(s.cursorOrder, loc)
		if len(s.cursorOrder) > 10000 {
			delete(s.cursors, s.cursorOrder[0])
			s.cursorOrder = s.cursorOrder[1:]
		}
		kind := "query"
		if c.all {
			kind = "queryAll"
		}
		cp := *c
		s.cursors[loc] = &cp
		out = append(out, kv{"nextRecordsUrl", "/services/data/" + c.version + "/" + kind + "/" + loc})
	}
	out = append(out, kv{"records", records})
	writeJSON(w, http.StatusOK, out)
}

// sfFieldValue reads a field (system fields included) for filtering.
func sfFieldValue(r *record, f string) any {
	switch f {
	case "Id":
		return r.id
	case "IsDeleted":
		return r.deleted
	case "CreatedDate":
		return r.created
	case "LastModifiedDate", "SystemModstamp":
		return r.stamp
	case "ClosedDate":
		if s, ok := r.fields["ClosedDate"].(string); ok {
			t, _ := parseSFTime(s)
			return t
		}
		return nil
	}
	return r.fields[f]
}

func sfCompare(v any, c soqlCond) bool {
	switch c.Op {
	case "IN":
		for _, x := range c.Values {
			if cmpValue(v, x, c.Exact) == 0 {
				return true
			}
		}
		return false
	case "NOTIN":
		for _, x := range c.Values {
			if cmpValue(v, x, c.Exact) == 0 {
				return false
			}
		}
		return true
	case "LIKE":
		sv, _ := v.(string)
		return likeMatch(strings.ToLower(sv), strings.ToLower(c.Values[0].S))
	}
	d := cmpValue(v, c.Values[0], c.Exact)
	switch c.Op {
	case "=":
		return d == 0
	case "!=":
		return d != 0
	case "<":
		return d == -1
	case "<=":
		return d == -1 || d == 0
	case ">":
		return d == 1
	case ">=":
		return d == 1 || d == 0
	}
	return false
}

// cmpValue compares a record value with a literal: -1, 0, 1, or 2 when incomparable.
func cmpValue(v any, x soqlValue, exact bool) int {
	if x.Kind == "null" {
		if v == nil {
			return 0
		}
		return 2
	}
	if v == nil {
		return 2
	}
	switch x.Kind {
	case "datetime", "date":
		t, ok := v.(time.Time)
		if !ok {
			if s, ok2 := v.(string); ok2 {
				if pt, err := parseSFTime(s); err == nil {
					t, ok = pt, true
				} else if pt, err := time.Parse("2006-01-02", s); err == nil {
					t, ok = pt, true
				}
			}
		}
		if !ok {
			return 2
		}
		return t.Compare(x.T)
	case "number":
		var f float64
		switch n := v.(type) {
		case float64:
			f = n
		case int:
			f = float64(n)
		case int64:
			f = float64(n)
		default:
			return 2
		}
		switch {
		case f < x.N:
			return -1
		case f > x.N:
			return 1
		}
		return 0
	case "bool":
		b, ok := v.(bool)
		if !ok {
			return 2
		}
		if b == x.B {
			return 0
		}
		return 2
	}
	sv := fmt.Sprint(v)
	if exact {
		return strings.Compare(sv, x.S)
	}
	return strings.Compare(strings.ToLower(sv), strings.ToLower(x.S))
}

// likeMatch implements SOQL LIKE with % and _ wildcards.
func likeMatch(s, p string) bool {
	if p == "" {
		return s == ""
	}
	switch p[0] {
	case '%':
		for i := 0; i <= len(s); i++ {
			if likeMatch(s[i:], p[1:]) {
				return true
			}
		}
		return false
	case '_':
		return s != "" && likeMatch(s[1:], p[1:])
	}
	return s != "" && s[0] == p[0] && likeMatch(s[1:], p[1:])
}

func sfAttributes(obj, version, id string) omap {
	return omap{{"type", obj}, {"url", "/services/data/" + version + "/sobjects/" + obj + "/" + id}}
}

func sfUserRef(id string) omap {
	n := 0
	if seq, ok := sfSeq("005", id); ok {
		n = int(seq)
	}
	return omap{{"attributes", omap{{"type", "User"}, {"url", "/services/data/v59.0/sobjects/User/" + id}}}, {"Id", id},
		{"Name", fmt.Sprintf("Sim User %d", n+1)}, {"Email", fmt.Sprintf("user%d@sim.example.com", n+1)}}
}

// sfSystemValue renders a system field.
func sfSystemValue(r *record, f string) any {
	switch f {
	case "Id":
		return r.id
	case "IsDeleted":
		return r.deleted
	case "CreatedDate":
		return sfTime(r.created)
	case "LastModifiedDate", "SystemModstamp":
		return sfTime(r.stamp)
	case "CreatedById":
		if v, ok := r.fields["CreatedById"]; ok && v != nil {
			return v
		}
		return sfID("005", 0)
	case "LastModifiedById":
		if v, ok := r.fields["LastModifiedById"]; ok && v != nil {
			return v
		}
		return sfID("005", 0)
	}
	return nil
}

// sfRender renders every field of a record, as GET /sobjects/{Obj}/{Id} does.
func (s *Sim) sfRender(o *objectState, r *record, version string) omap {
	out := omap{{"attributes", sfAttributes(o.def.name, version, r.id)}, {"Id", r.id}, {"IsDeleted", r.deleted}}
	for _, f := range s.sf[o.def.name].fields {
		out = append(out, kv{f, r.fields[f]})
	}
	for _, f := range sfSystemFields[2:] {
		out = append(out, kv{f, sfSystemValue(r, f)})
	}
	return out
}

// sfProject renders the selected fields of a query row; Rel.Field paths become nested
// objects like Salesforce's, or null when the lookup is empty.
func (s *Sim) sfProject(o *objectState, r *record, version string, fields []string) omap {
	out := omap{{"attributes", sfAttributes(o.def.name, version, r.id)}}
	type relState struct {
		at     int
		target *record // nil for users
		userID string
	}
	rels := map[string]*relState{}
	for _, f := range fields {
		rel, field, dotted := strings.Cut(f, ".")
		if !dotted {
			out = append(out, kv{f, sfGet(r, f)})
			continue
		}
		st, seen := rels[rel]
		if !seen {
			st = &relState{at: len(out)}
			rels[rel] = st
			out = append(out, kv{rel, nil})
			if fld, lk, ok := s.sf.lookupFor(o.def.name, rel); ok {
				id, _ := sfGet(r, fld).(string)
				switch {
				case id == "":
				case lk.target == "User":
					st.userID = id
					out[st.at].v = omap{{"attributes", omap{{"type", "User"}, {"url", "/services/data/" + version + "/sobjects/User/" + id}}}}
				default:
					if tr := s.store.object(Salesforce, lk.target).get(id); tr != nil {
						st.target = tr
						out[st.at].v = omap{{"attributes", sfAttributes(lk.target, version, id)}}
					}
				}
			}
		}
		m, ok := out[st.at].v.(omap)
		if !ok {
			continue
		}
		if st.target != nil {
			m = append(m, kv{field, sfGet(st.target, field)})
		} else {
			for _, e := range sfUserRef(st.userID) {
				if e.k == field {
					m = append(m, e)
				}
			}
		}
		out[st.at].v = m
	}
	return out
}

// sfGet reads a rendered field value, system fields included.
func sfGet(r *record, f string) any {
	if slices.Contains(sfSystemFields, f) {
		return sfSystemValue(r, f)
	}
	return r.fields[f]
}

// sfLookupFor resolves a relationship name, including the audit lookups every object has.
func (sch sfSchema) lookupFor(obj, rel string) (string, sfLookup, bool) {
	for fld, lk := range sch[obj].lookups {
		if strings.EqualFold(lk.rel, rel) {
			return fld, lk, true
		}
	}
	switch strings.ToLower(rel) {
	case "createdby":
		return "CreatedById", sfLookup{rel: "CreatedBy", target: "User"}, true
	case "lastmodifiedby":
		return "LastModifiedById", sfLookup{rel: "LastModifiedBy", target: "User"}, true
	}
	return "", sfLookup{}, false
}
