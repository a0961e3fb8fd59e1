package fakesource

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	qbDefaultMax = 100
	qbMaxResults = 1000
	qbCDCMax     = 1000
)

func (s *Sim) accountingRoutes(mux *http.ServeMux) {
	mux.Handle("POST /oauth2/v1/tokens/bearer", s.api(Accounting, "POST /oauth2/v1/tokens/bearer", kindToken, s.qbToken))
	mux.Handle("GET /v3/company/{realm}/query", s.api(Accounting, "GET query", kindAPI, s.qbRealmCheck(s.qbQuery)))
	mux.Handle("POST /v3/company/{realm}/query", s.api(Accounting, "POST query", kindAPI, s.qbRealmCheck(s.qbQuery)))
	mux.Handle("GET /v3/company/{realm}/cdc", s.api(Accounting, "GET cdc", kindAPI, s.qbRealmCheck(s.qbCDC)))
	mux.Handle("GET /v3/company/{realm}/{entity}/{id}", s.api(Accounting, "GET {entity}/{id}", kindAPI, s.qbRealmCheck(s.qbGet)))
	mux.Handle("POST /v3/company/{realm}/{entity}", s.api(Accounting, "POST {entity}", kindAPI, s.qbRealmCheck(s.qbWrite)))
	mux.Handle("POST /v3/company/{realm}/upload", s.api(Accounting, "POST upload", kindAPI, s.qbRealmCheck(s.qbUpload)))
	mux.Handle("GET /v3/company/{realm}/download/{id}", s.api(Accounting, "GET download/{id}", kindAPI, s.qbRealmCheck(s.qbDownload)))
	mux.Handle("GET /qbo-attachments/{id}", s.api(Accounting, "GET TempDownloadUri", kindToken, s.qbAttachmentContent))
}

func (s *Sim) qbRealmCheck(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("intuit_tid", "1-"+s.rng.token(24))
		if r.PathValue("realm") != qbRealm {
			qbFault(w, s.now(), http.StatusForbidden, "AUTHORIZATION", "3100", "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403", "", "")
			return
		}
		h(w, r)
	}
}

// qbToken serves Intuit's OAuth 2.0 token endpoint; refresh tokens rotate on every use and
// the previous one keeps working only for Options.RefreshGrace.
func (s *Sim) qbToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	a := s.auth
	if id != a.qbClientID || secret != a.qbClientSecret {
		s.mu.Unlock()
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	now := s.now()
	old := r.PostForm.Get("refresh_token")
	switch g := r.PostForm.Get("grant_type"); g {
	case "authorization_code":
		// The company's first refresh token comes with the code.
		if code, _ := s.redeemCodeLocked(Accounting, r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), ""); code != "" {
			s.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": code})
			return
		}
	case "refresh_token":
		info, known := a.qbRefresh[old]
		if !known || (!info.validUntil.IsZero() && !now.Before(info.validUntil)) {
			s.mu.Unlock()
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
	default:
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	if info, known := a.qbRefresh[old]; known && info.validUntil.IsZero() {
		a.qbRefresh[old] = refreshInfo{validUntil: now.Add(s.opts.RefreshGrace)}
		s.journalLocked(journalEntry{Refresh: &journalToken{Token: old, Until: now.Add(s.opts.RefreshGrace)}})
	}
	next := "AB11" + s.rng.token(46)
	a.qbRefresh[next] = refreshInfo{}
	a.qbCurrent = next
	s.journalLocked(journalEntry{Refresh: &journalToken{Token: next}})
	tok, _ := s.issueTokenLocked(Accounting)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type": "bearer", "expires_in": int(s.opts.TokenTTL.Seconds()), "refresh_token": next,
		"x_refresh_token_expires_in": 8726400, "access_token": tok,
	})
}

// qbEntity resolves a path or query entity name case-insensitively.
func (s *Sim) qbEntity(name string) *objectState {
	for _, n := range objectNames[Accounting] {
		if strings.EqualFold(n, name) {
			return s.store.object(Accounting, n)
		}
	}
	return nil
}

// qbRender renders a QuickBooks entity; deleted ones in CDC's short form.
func qbRender(o *objectState, r *record) map[string]any {
	if r.deleted {
		return map[string]any{"domain": "QBO", "status": "Deleted", "Id": r.id,
			"MetaData": map[string]any{"LastUpdatedTime": qbTime(r.stamp)}}
	}
	out := make(map[string]any, len(r.fields)+5)
	for k, v := range r.fields {
		if !strings.HasPrefix(k, "Sim_") { // the simulator's own bookkeeping (Sim_MD5 of an upload)
			out[k] = v
		}
	}
	out["domain"] = "QBO"
	out["sparse"] = false
	out["Id"] = r.id
	out["SyncToken"] = strconv.FormatInt(r.version, 10)
	out["MetaData"] = map[string]any{"CreateTime": qbTime(r.created), "LastUpdatedTime": qbTime(r.stamp)}
	return out
}

// qbQueryDef is a parsed QuickBooks query.
type qbQueryDef struct {
	count    bool
	entity   string
	where    []soqlCond
	orderBy  string // "", "id", "metadata.lastupdatedtime", "metadata.createtime"
	start    int
	max      int
	activeOK bool   // the query mentions Active, so inactive rows are not hidden
	shape    string // the query without STARTPOSITION/MAXRESULTS, to resume paging
}

// qbResume remembers where the previous page of a query ended, so paging a large entity
// with STARTPOSITION costs one page each instead of a rescan from the start.
type qbResume struct {
	gen   uint64
	now   time.Time
	next  int // the STARTPOSITION that continues here
	stamp time.Time
	seq   int64
}

func parseQBQuery(q string) (*qbQueryDef, error) {
	toks, err := lexSOQL(q)
	if err != nil {
		return nil, err
	}
	p := &soqlParser{toks: toks}
	out := &qbQueryDef{start: 1, max: qbDefaultMax}
	var shape []string
	for i := 0; i < len(toks); i++ {
		if t := toks[i]; t.kind == "ident" && (strings.EqualFold(t.text, "STARTPOSITION") || strings.EqualFold(t.text, "MAXRESULTS")) {
			i++
			continue
		}
		shape = append(shape, toks[i].kind+":"+toks[i].text)
	}
	out.shape = strings.Join(shape, " ")
	if err := p.expectKeyword("SELECT"); err != nil {
		return nil, err
	}
	if p.keyword("COUNT") {
		if p.next().text != "(" || p.next().text != "*" || p.next().text != ")" {
			return nil, malformed("expected COUNT(*)")
		}
		out.count = true
	} else {
		// the field list is accepted and ignored: QuickBooks answers whole entities
		for t := p.peek(); t.kind != "" && !(t.kind == "ident" && strings.EqualFold(t.text, "FROM")); t = p.peek() {
			p.next()
		}
	}
	if err := p.expectKeyword("FROM"); err != nil {
		return nil, err
	}
	ent := p.next()
	if ent.kind != "ident" {
		return nil, malformed("invalid context declaration: %s", ent.text)
	}
	out.entity = ent.text
	if p.keyword("WHERE") {
		for {
			c, err := p.cond()
			if err != nil {
				return nil, err
			}
			out.where = append(out.where, c)
			if strings.EqualFold(c.Field, "Active") {
				out.activeOK = true
			}
			if !p.keyword("AND") {
				break
			}
		}
	}
	for p.pos < len(p.toks) {
		switch {
		case p.keyword("ORDERBY") || (p.keyword("ORDER") && p.keyword("BY")):
			f := p.next()
			out.orderBy = strings.ToLower(f.text)
			if p.keyword("DESC") {
				return nil, malformed("ORDERBY ... DESC is not supported by the simulator")
			}
			p.keyword("ASC")
			if out.orderBy != "id" && out.orderBy != "metadata.lastupdatedtime" {
				return nil, malformed("the simulator only supports ORDERBY Id or MetaData.LastUpdatedTime, got %s", f.text)
			}
		case p.keyword("STARTPOSITION"):
			n, err := strconv.Atoi(p.next().text)
			if err != nil || n < 1 {
				return nil, malformed("STARTPOSITION must be a positive integer")
			}
			out.start = n
		case p.keyword("MAXRESULTS"):
			n, err := strconv.Atoi(p.next().text)
			if err != nil || n < 1 {
				return nil, malformed("MAXRESULTS must be a positive integer")
			}
			out.max = min(n, qbMaxResults)
		default:
			return nil, malformed("Encountered \"%s\"", p.peek().text)
		}
	}
	return out, nil
}

// qbFieldValue reads a (dotted) field for filtering; times become time.Time.
func qbFieldValue(r *record, f string) any {
	switch strings.ToLower(f) {
	case "id":
		n, _ := strconv.ParseFloat(r.id, 64)
		return n
	case "metadata.lastupdatedtime":
		return r.stamp
	case "metadata.createtime":
		return r.created
	case "synctoken":
		return float64(r.version)
	}
	var cur any = r.fields
	for _, part := range strings.Split(f, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		var found bool
		for k, v := range m {
			if strings.EqualFold(k, part) {
				cur, found = v, true
				break
			}
		}
		if !found {
			return nil
		}
	}
	if m, ok := cur.(map[string]any); ok { // CustomerRef = '1' compares the ref's value
		cur = m["value"]
	}
	if sv, ok := cur.(string); ok {
		if n, err := strconv.ParseFloat(sv, 64); err == nil && strings.HasSuffix(strings.ToLower(f), "ref") {
			return n
		}
	}
	return cur
}

// qbMatch evaluates conditions with QuickBooks' literal forms: quoted strings, which
// are compared as times or numbers when the field holds those.
func qbMatch(r *record, conds []soqlCond) bool {
	for _, c := range conds {
		v := qbFieldValue(r, c.Field)
		cc := c
		cc.Values = make([]soqlValue, len(c.Values))
		for i, x := range c.Values {
			cc.Values[i] = qbCoerce(v, x)
		}
		if !sfCompare(v, cc) {
			return false
		}
	}
	return true
}

func qbCoerce(v any, x soqlValue) soqlValue {
	if x.Kind != "string" {
		return x
	}
	switch v.(type) {
	case time.Time:
		if t, err := parseQBTime(x.S); err == nil {
			return soqlValue{Kind: "datetime", T: t}
		}
	case float64:
		if n, err := strconv.ParseFloat(x.S, 64); err == nil {
			return soqlValue{Kind: "number", N: n}
		}
	case bool:
		return soqlValue{Kind: "bool", B: strings.EqualFold(x.S, "true")}
	}
	return x
}

func parseQBTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05-07:00", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q", s)
}

var qbQueryable = []string{"id", "metadata.lastupdatedtime", "metadata.createtime", "synctoken"}

func (s *Sim) qbQuery(w http.ResponseWriter, r *http.Request) {
	qs := r.URL.Query().Get("query")
	if r.Method == http.MethodPost && qs == "" {
		b, _ := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
		qs = string(b)
	}
	q, err := parseQBQuery(qs)
	if err != nil {
		qbValidation(w, s.now(), "4000", "Error parsing query", "QueryParserError: "+err.Error(), "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.qbEntity(q.entity)
	if o == nil {
		qbValidation(w, s.now(), "4001", "Invalid query", "QueryValidationError: invalid context declaration: "+q.entity, "")
		return
	}
	for _, c := range q.where {
		lf := strings.ToLower(c.Field)
		if !slices.Contains(qbQueryable, lf) && !s.qbHasField(o, c.Field) {
			qbValidation(w, s.now(), "4001", "Invalid query", fmt.Sprintf("QueryValidationError: property '%s' is not queryable", c.Field), "")
			return
		}
	}
	name := o.def.name
	hideInactive := name == "Customer" && !q.activeOK
	match := func(rec *record) bool {
		if rec.deleted || (hideInactive && rec.fields["Active"] == false) {
			return false
		}
		return qbMatch(rec, q.where)
	}
	var rows []any
	n := 0
	from := qbResume{seq: -1}
	key := name + "|" + q.shape
	if r, ok := s.qbResume[key]; ok && !q.count && r.gen == o.gen && r.next == q.start && (s.opts.VisibilityLag == 0 || r.now.Equal(s.now())) {
		from, n = r, q.start-1
		from.seq++
	}
	var last *record
	s.qbScanLocked(o, q, from.stamp, from.seq, func(rec *record) bool {
		if !match(rec) {
			return true
		}
		n++
		if q.count {
			return true
		}
		if n >= q.start {
			rows = append(rows, qbRender(o, rec))
			last = rec
		}
		return len(rows) < q.max
	})
	if last != nil {
		if len(s.qbResume) > 1000 {
			clear(s.qbResume)
		}
		s.qbResume[key] = qbResume{gen: o.gen, now: s.now(), next: q.start + len(rows), stamp: last.stamp, seq: last.seq}
	}
	resp := map[string]any{}
	if q.count {
		resp["totalCount"] = n
	} else if len(rows) > 0 {
		resp[name] = rows
		resp["startPosition"] = q.start
		resp["maxResults"] = len(rows)
	}
	writeJSON(w, http.StatusOK, map[string]any{"QueryResponse": resp, "time": qbNow(s.now())})
}

// qbHasField reports whether the entity has a top-level field of that (dotted) name.
func (s *Sim) qbHasField(o *objectState, f string) bool {
	head, _, _ := strings.Cut(f, ".")
	sample := qbSampleFields[o.def.name]
	for _, k := range sample {
		if strings.EqualFold(k, head) {
			return true
		}
	}
	return false
}

var qbSampleFields = map[string][]string{
	"Customer":   {"DisplayName", "CompanyName", "GivenName", "FamilyName", "FullyQualifiedName", "PrimaryEmailAddr", "ParentRef", "Job", "Balance", "Active", "PrimaryPhone"},
	"Invoice":    {"DocNumber", "CustomerRef", "TxnDate", "DueDate", "TotalAmt", "Balance", "EmailStatus"},
	"Payment":    {"CustomerRef", "TotalAmt", "TxnDate", "PaymentRefNum"},
	"CreditMemo": {"DocNumber", "CustomerRef", "TxnDate", "TotalAmt", "Balance"},
	"Attachable": {"FileName", "ContentType", "AttachableRef"},
}

// qbScanLocked iterates visible records in the query's order.
func (s *Sim) qbScanLocked(o *objectState, q *qbQueryDef, afterStamp time.Time, afterSeq int64, fn func(*record) bool) {
	if q.orderBy == "id" {
		for seq := max(afterSeq, 0); seq < o.nextSeq; seq++ {
			rec := o.get(o.def.idOf(seq))
			if rec == nil || !s.visible(rec.stamp) {
				continue
			}
			if !fn(rec) {
				return
			}
		}
		return
	}
	var from time.Time
	for _, c := range q.where {
		if strings.EqualFold(c.Field, "MetaData.LastUpdatedTime") && (c.Op == ">" || c.Op == ">=") {
			if t, err := parseQBTime(c.Values[0].S); err == nil && t.After(from) {
				from = t
			}
		}
	}
	fromSeq := int64(-1)
	if afterStamp.After(from) || (afterStamp.Equal(from) && afterSeq > fromSeq) {
		from, fromSeq = afterStamp, afterSeq
	}
	o.iterate(from, fromSeq, func(c cand) bool {
		if !s.visible(c.stamp) {
			return true
		}
		return fn(o.materialize(c))
	})
}

func (s *Sim) qbCDC(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ents := strings.Split(q.Get("entities"), ",")
	since, err := parseQBTime(q.Get("changedSince"))
	if q.Get("entities") == "" || err != nil {
		qbValidation(w, s.now(), "2020", "Required param missing, need to supply the required value for the API",
			"Required parameter entities and changedSince (ISO 8601) are missing or invalid", "")
		return
	}
	if since.Before(s.now().Add(-30 * 24 * time.Hour)) {
		qbValidation(w, s.now(), "4001", "Invalid query", "changedSince must be within the last 30 days", "changedSince")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var qrs []any
	for _, e := range ents {
		o := s.qbEntity(strings.TrimSpace(e))
		if o == nil {
			qbValidation(w, s.now(), "4001", "Invalid query", "QueryValidationError: invalid context declaration: "+e, "entities")
			return
		}
		var rows []any
		o.iterate(since, -1, func(c cand) bool {
			if s.visible(c.stamp) {
				rows = append(rows, qbRender(o, o.materialize(c)))
			}
			return len(rows) < qbCDCMax
		})
		qr := map[string]any{"startPosition": 1, "maxResults": len(rows), "totalCount": len(rows)}
		if len(rows) > 0 {
			qr[o.def.name] = rows
		}
		qrs = append(qrs, qr)
	}
	writeJSON(w, http.StatusOK, map[string]any{"CDCResponse": []any{map[string]any{"QueryResponse": qrs}}, "time": qbNow(s.now())})
}

func (s *Sim) qbGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.qbEntity(r.PathValue("entity"))
	if o == nil {
		qbValidation(w, s.now(), "4001", "Invalid query", "QueryValidationError: invalid context declaration: "+r.PathValue("entity"), "")
		return
	}
	rec := o.get(r.PathValue("id"))
	if rec == nil || rec.deleted {
		qbNotFound(w, s.now(), o.def.name, r.PathValue("id"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{o.def.name: qbRender(o, rec), "time": qbNow(s.now())})
}

func qbNotFound(w http.ResponseWriter, now time.Time, ent, id string) {
	qbValidation(w, now, "610", "Object Not Found", fmt.Sprintf("Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees. (%s %s)", ent, id), "")
}

// qbWrite serves create, (sparse) update and delete, with ?requestid= idempotency.
func (s *Sim) qbWrite(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := readJSON(r, &body); err != nil || body == nil {
		qbValidation(w, s.now(), "2010", "Request has invalid or unsupported property", "Request body is not a JSON object", "")
		return
	}
	q := r.URL.Query()
	reqID := q.Get("requestid")
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.qbEntity(r.PathValue("entity"))
	if o == nil {
		qbValidation(w, s.now(), "4001", "Invalid query", "QueryValidationError: invalid context declaration: "+r.PathValue("entity"), "")
		return
	}
	if reqID != "" {
		if e, ok := s.idemLookupLocked(Accounting, "", reqID); ok {
			replay(w, e)
			return
		}
	}
	rec := &bufferedResponse{header: http.Header{}}
	s.qbApplyLocked(rec, o, body, q.Get("operation"))
	if reqID != "" && rec.status < 300 {
		s.idemStoreLocked(Accounting, "", reqID, idemEntry{status: rec.status, body: rec.body, header: rec.header})
	}
	replay(w, idemEntry{status: rec.status, body: rec.body, header: rec.header})
}

func (s *Sim) qbApplyLocked(w http.ResponseWriter, o *objectState, body map[string]any, op string) {
	now := s.now()
	name := o.def.name
	id, _ := body["Id"].(string)
	if op == "delete" || op == "update" || id != "" {
		if id == "" {
			qbValidation(w, now, "2020", "Required param missing, need to supply the required value for the API", "Required parameter Id is missing in the request", "Id")
			return
		}
		cur := o.get(id)
		if cur == nil || cur.deleted {
			qbNotFound(w, now, name, id)
			return
		}
		tok, ok := body["SyncToken"].(string)
		if !ok {
			qbValidation(w, now, "2020", "Required param missing, need to supply the required value for the API", "Required parameter SyncToken is missing in the request", "SyncToken")
			return
		}
		if s.takeStaleNextWriteLocked(Accounting) {
			cur = s.concurrentEditLocked(o, cur)
		}
		if tok != strconv.FormatInt(cur.version, 10) {
			qbValidation(w, now, "5010", "Stale Object Error",
				fmt.Sprintf("Stale Object Error : You and Sim Staff were working on the same %s at the same time. Sim Staff finished before you did, so your work was not saved.", name), "")
			return
		}
		if op == "delete" {
			d := s.deleteLocked(o, cur)
			writeJSON(w, http.StatusOK, map[string]any{name: map[string]any{"domain": "QBO", "status": "Deleted", "Id": d.id}, "time": qbNow(now)})
			return
		}
		fields := qbWritable(body)
		if msg, el := s.qbValidateLocked(o, fields, cur, false); msg != "" {
			qbValidation(w, now, el[0], msg, el[1], el[2])
			return
		}
		sparse, _ := body["sparse"].(bool)
		n := s.updateLocked(o, cur, func(n *record) {
			if !sparse { // a full update clears what the body leaves out
				for k := range n.fields {
					if _, keep := fields[k]; !keep && !qbKeepOnFullUpdate(k) {
						delete(n.fields, k)
					}
				}
			}
			mergeFields(n.fields, fields)
			qbDerive(name, n.fields, false)
		})
		writeJSON(w, http.StatusOK, map[string]any{name: qbRender(o, n), "time": qbNow(now)})
		return
	}
	fields := qbWritable(body)
	if msg, el := s.qbValidateLocked(o, fields, nil, true); msg != "" {
		qbValidation(w, now, el[0], msg, el[1], el[2])
		return
	}
	s.qbDefaults(o, fields)
	n := s.createLocked(o, fields, time.Time{})
	writeJSON(w, http.StatusOK, map[string]any{name: qbRender(o, n), "time": qbNow(now)})
}

// qbDefaults fills what QuickBooks computes or defaults on create.
func (s *Sim) qbDefaults(o *objectState, fields map[string]any) {
	name := o.def.name
	qbDerive(name, fields, true)
	if name == "Invoice" && fields["DocNumber"] == nil {
		fields["DocNumber"] = strconv.FormatInt(1001+o.nextSeq, 10)
	}
	if fields["TxnDate"] == nil && (name == "Invoice" || name == "Payment" || name == "CreditMemo") {
		fields["TxnDate"] = qbDate(s.now())
	}
}

func qbKeepOnFullUpdate(k string) bool {
	return k == "Balance" || k == "BalanceWithJobs" || k == "CurrencyRef" || k == "TotalAmt"
}

// qbWritable drops the system-managed keys from a request body.
func qbWritable(body map[string]any) map[string]any {
	out := deepCopyMap(body)
	for _, k := range []string{"Id", "SyncToken", "MetaData", "domain", "sparse", "status"} {
		delete(out, k)
	}
	return out
}

// qbValidateLocked returns a message and [code, detail, element] on failure.
func (s *Sim) qbValidateLocked(o *objectState, fields map[string]any, cur *record, create bool) (string, [3]string) {
	if create {
		for _, k := range o.def.required {
			if _, ok := fields[k]; !ok {
				return "Required param missing, need to supply the required value for the API", [3]string{"2020", "Required parameter " + k + " is missing in the request", k}
			}
		}
	}
	if ref, ok := fields["CustomerRef"]; ok {
		m, _ := ref.(map[string]any)
		v, _ := m["value"].(string)
		c := s.store.object(Accounting, "Customer").get(v)
		if c == nil || c.deleted {
			return "Invalid Reference Id", [3]string{"2500", "Invalid Reference Id : Customer assigned to this transaction has been deleted or does not exist: " + v, "CustomerRef"}
		}
	}
	if o.def.name == "Customer" {
		if dn, ok := fields["DisplayName"].(string); ok {
			if dup := s.qbCustomerNamedLocked(o, dn); dup != nil && (cur == nil || dup.seq != cur.seq) {
				return "Duplicate Name Exists Error", [3]string{"6240", "The name supplied already exists. : Another customer, vendor or employee is already using this name. Please use a different name. Id=" + dup.id, "DisplayName"}
			}
		}
	}
	return "", [3]string{}
}

// qbCustomerNamedLocked finds the live customer with this DisplayName: changed records
// by scanning the overlay, untouched seed customers through the world's name index.
func (s *Sim) qbCustomerNamedLocked(o *objectState, name string) *record {
	for _, r := range o.overlay {
		if !r.deleted && r.fields["DisplayName"] == name {
			return r
		}
	}
	if a, ok := s.store.world.byName[name]; ok && a < o.def.seedN {
		if _, changed := o.overlay[int64(a)]; !changed {
			return o.def.gen(a)
		}
	}
	return nil
}

// qbDerive fills the amounts QuickBooks computes from lines.
func qbDerive(name string, f map[string]any, create bool) {
	if lines, ok := f["Line"].([]any); ok && (name == "Invoice" || name == "CreditMemo") {
		var total float64
		for _, l := range lines {
			if m, ok := l.(map[string]any); ok && m["DetailType"] != "SubTotalLineDetail" {
				if a, ok := m["Amount"].(float64); ok {
					total += a
				}
			}
		}
		f["TotalAmt"] = money(total)
		if create {
			f["Balance"] = money(total)
		}
	}
	if create {
		if name == "Customer" {
			if _, ok := f["Active"]; !ok {
				f["Active"] = true
			}
			if _, ok := f["Balance"]; !ok {
				f["Balance"] = 0.0
			}
			if f["FullyQualifiedName"] == nil {
				f["FullyQualifiedName"] = f["DisplayName"]
			}
		}
		if name != "Attachable" && f["CurrencyRef"] == nil {
			f["CurrencyRef"] = usd
		}
	}
}

// bufferedResponse captures a response so it can be replayed for a repeated idempotency key.
type bufferedResponse struct {
	header http.Header
	status int
	body   []byte
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

func replay(w http.ResponseWriter, e idemEntry) {
	for k, v := range e.header {
		w.Header()[k] = v
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(e.body)
}

// qbAfterCreateLocked applies a new transaction to the balances it affects, as QuickBooks
// does: an invoice raises its customer's balance; a payment lowers the balance of each
// invoice it is linked to (recording the link on the invoice) and of the customer.
func (s *Sim) qbAfterCreateLocked(o *objectState, rec *record) {
	custs := s.store.object(Accounting, "Customer")
	adjustCustomer := func(ref any, delta float64) {
		m, _ := ref.(map[string]any)
		id, _ := m["value"].(string)
		if c := custs.get(id); c != nil && !c.deleted && delta != 0 {
			s.updateLocked(custs, c, func(n *record) {
				for _, k := range []string{"Balance", "BalanceWithJobs"} {
					b, _ := n.fields[k].(float64)
					n.fields[k] = money(b + delta)
				}
			})
		}
	}
	switch o.def.name {
	case "Invoice":
		bal, _ := rec.fields["Balance"].(float64)
		adjustCustomer(rec.fields["CustomerRef"], bal)
	case "Payment":
		invs := s.store.object(Accounting, "Invoice")
		var applied float64
		lines, _ := rec.fields["Line"].([]any)
		for _, l := range lines {
			lm, _ := l.(map[string]any)
			amt, _ := lm["Amount"].(float64)
			links, _ := lm["LinkedTxn"].([]any)
			for _, lk := range links {
				m, _ := lk.(map[string]any)
				id, _ := m["TxnId"].(string)
				inv := invs.get(id)
				if m["TxnType"] != "Invoice" || inv == nil || inv.deleted {
					continue
				}
				s.updateLocked(invs, inv, func(n *record) {
					bal, _ := n.fields["Balance"].(float64)
					pay := min(bal, amt)
					applied += pay
					n.fields["Balance"] = money(bal - pay)
					prev, _ := n.fields["LinkedTxn"].([]any)
					n.fields["LinkedTxn"] = append(append([]any{}, prev...), map[string]any{"TxnId": rec.id, "TxnType": "Payment"})
				})
			}
		}
		adjustCustomer(rec.fields["CustomerRef"], -applied)
	}
}
