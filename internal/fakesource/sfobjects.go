package fakesource

import (
	"bytes"
	"crypto/md5" //nolint:gosec // Salesforce's ContentVersion.Checksum is an MD5
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sfSObjects dispatches everything under /services/data/vNN.N/sobjects/.
func (s *Sim) sfSObjects(method string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimSuffix(r.PathValue("rest"), "/"), "/")
		var endpoint string
		var h http.HandlerFunc
		switch {
		case len(parts) == 1 && method == "GET":
			endpoint, h = "GET sobjects/{Obj}", func(w http.ResponseWriter, r *http.Request) { s.sfDescribeHandler(w, r, parts[0], false) }
		case len(parts) == 2 && method == "GET" && parts[1] == "describe":
			endpoint, h = "GET sobjects/{Obj}/describe", func(w http.ResponseWriter, r *http.Request) { s.sfDescribeHandler(w, r, parts[0], true) }
		case len(parts) == 1 && method == "POST":
			endpoint, h = "POST sobjects/{Obj}", func(w http.ResponseWriter, r *http.Request) { s.sfCreate(w, r, parts[0]) }
		case len(parts) == 2 && method == "GET" && (parts[1] == "updated" || parts[1] == "deleted"):
			endpoint, h = "GET sobjects/{Obj}/"+parts[1], func(w http.ResponseWriter, r *http.Request) { s.sfChanges(w, r, parts[0], parts[1]) }
		case len(parts) == 2:
			endpoint, h = method+" sobjects/{Obj}/{Id}", func(w http.ResponseWriter, r *http.Request) { s.sfByID(w, r, method, parts[0], parts[1]) }
		case len(parts) == 3 && method == "GET" && parts[2] == "VersionData":
			endpoint, h = "GET sobjects/{Obj}/{Id}/VersionData", func(w http.ResponseWriter, r *http.Request) { s.sfVersionData(w, parts[0], parts[1]) }
		case len(parts) == 3 && method != "POST":
			endpoint, h = method+" sobjects/{Obj}/{Field}/{Value}", func(w http.ResponseWriter, r *http.Request) { s.sfByExt(w, r, method, parts[0], parts[1], parts[2]) }
		default:
			endpoint, h = method+" sobjects/other", func(w http.ResponseWriter, _ *http.Request) {
				sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
			}
		}
		s.api(Salesforce, endpoint, kindAPI, func(w http.ResponseWriter, r *http.Request) {
			if _, ok := sfCheckVersion(w, r); ok {
				h(w, r)
			}
		}).ServeHTTP(w, r)
	})
}

// sfObjectLocked resolves an object name or writes NOT_FOUND.
func (s *Sim) sfObjectLocked(w http.ResponseWriter, name string) *objectState {
	canon, ok := sfCanonObject(name)
	if !ok {
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return nil
	}
	return s.store.object(Salesforce, canon)
}

func (s *Sim) sfReadBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var body map[string]any
	if err := readJSON(r, &body); err != nil || body == nil {
		sfError(w, http.StatusBadRequest, "JSON_PARSER_ERROR", "The request body is not a JSON object")
		return nil, false
	}
	delete(body, "attributes")
	return body, true
}

// sfCheckWriteLocked validates a body and its lookups; it writes the error and returns false.
func (s *Sim) sfCheckWriteLocked(w http.ResponseWriter, o *objectState, body map[string]any, cur *record) bool {
	create := cur == nil
	if code, msg, fields := s.sf.validate(o, body, create); code != "" {
		sfError(w, http.StatusBadRequest, code, msg, fields...)
		return false
	}
	for k, v := range body {
		canon, _ := s.sf.canon(o.def.name, k)
		lk, ok := s.sf[o.def.name].lookups[canon]
		id, isStr := v.(string)
		if !ok || lk.target == "User" || v == nil {
			continue
		}
		if !isStr {
			sfError(w, http.StatusBadRequest, "MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %v", canon, v), canon)
			return false
		}
		found := false
		for _, target := range append([]string{lk.target}, lk.also...) {
			if t := s.store.object(Salesforce, target).get(id); t != nil && !t.deleted {
				found = true
				break
			}
		}
		if !found {
			sfError(w, http.StatusBadRequest, "INVALID_CROSS_REFERENCE_KEY", fmt.Sprintf("invalid cross reference id: %s", id), canon)
			return false
		}
	}
	for _, ext := range s.sf[o.def.name].extIDs {
		if v, ok := lookupFold(body, ext); ok && v != nil {
			if dup := s.sfFindExtLocked(o, ext, fmt.Sprint(v)); dup != nil && (cur == nil || dup.seq != cur.seq) {
				sfError(w, http.StatusBadRequest, "DUPLICATE_VALUE", fmt.Sprintf("duplicate value found: %s duplicates value on record with id: %s", ext, dup.id), ext)
				return false
			}
		}
	}
	return true
}

func (s *Sim) sfCreate(w http.ResponseWriter, r *http.Request, obj string) {
	var blob *sfBlob
	body, ok := map[string]any(nil), false
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		body, blob, ok = sfReadMultipart(w, r, obj)
	} else {
		body, ok = s.sfReadBody(w, r)
	}
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.sfObjectLocked(w, obj)
	if o == nil || !s.sfCheckWriteLocked(w, o, body, nil) {
		return
	}
	fields := s.sf.complete(o, body)
	if blob != nil {
		fields["ContentSize"], fields["Checksum"] = int(blob.size), blob.md5
	}
	rec := s.createLocked(o, fields, time.Time{})
	s.sfIndexLocked(o, rec)
	writeJSON(w, http.StatusCreated, omap{{"id", rec.id}, {"success", true}, {"errors", []any{}}})
}

func (s *Sim) sfByID(w http.ResponseWriter, r *http.Request, method, obj, id string) {
	var body map[string]any
	if method == "PATCH" {
		var ok bool
		if body, ok = s.sfReadBody(w, r); !ok {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.sfObjectLocked(w, obj)
	if o == nil {
		return
	}
	rec := o.get(id)
	if rec == nil {
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	if rec.deleted {
		sfError(w, http.StatusNotFound, "ENTITY_IS_DELETED", "entity is deleted")
		return
	}
	switch method {
	case "GET":
		out := s.sfRender(o, rec, r.PathValue("v"))
		if fl := r.URL.Query().Get("fields"); fl != "" {
			out = s.sfSelect(o, rec, r.PathValue("v"), fl, out)
			if out == nil {
				sfError(w, http.StatusBadRequest, "INVALID_FIELD", noSuchColumn(fl, o.def.name))
				return
			}
		}
		w.Header().Set("Last-Modified", rec.stamp.UTC().Format(http.TimeFormat))
		writeJSON(w, http.StatusOK, out)
	case "PATCH":
		if !s.sfCheckWriteLocked(w, o, body, rec) {
			return
		}
		rec, ok := s.sfPreconditionLocked(w, r, o, rec)
		if !ok {
			return
		}
		s.sfUpdateLocked(o, rec, body)
		w.WriteHeader(http.StatusNoContent)
	case "DELETE":
		if _, ok := s.sfPreconditionLocked(w, r, o, rec); !ok {
			return
		}
		s.deleteLocked(o, rec)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Sim) sfSelect(o *objectState, rec *record, version, list string, _ omap) omap {
	var fields []string
	for _, f := range strings.Split(list, ",") {
		c, ok := s.sf.canon(o.def.name, strings.TrimSpace(f))
		if !ok {
			return nil
		}
		fields = append(fields, c)
	}
	return s.sfProject(o, rec, version, fields)
}

// sfPreconditionLocked applies the stale_next_write fault and If-Unmodified-Since.
func (s *Sim) sfPreconditionLocked(w http.ResponseWriter, r *http.Request, o *objectState, rec *record) (*record, bool) {
	// The fault's edit comes after the writer's read even when both fall in
	// one second, which If-Unmodified-Since (to the second) cannot tell:
	// a write that names a version is stale then.
	edited := s.takeStaleNextWriteLocked(Salesforce)
	if edited {
		rec = s.concurrentEditLocked(o, rec)
	}
	if h := r.Header.Get("If-Unmodified-Since"); h != "" {
		t, err := http.ParseTime(h)
		if err != nil {
			sfError(w, http.StatusBadRequest, "INVALID_HEADER_TYPE", "If-Unmodified-Since is not a valid HTTP date: "+h)
			return rec, false
		}
		if edited || rec.stamp.Truncate(time.Second).After(t) {
			w.Header().Set("Last-Modified", rec.stamp.UTC().Format(http.TimeFormat))
			sfError(w, http.StatusPreconditionFailed, "PRECONDITION_FAILED",
				fmt.Sprintf("The record was modified after %s (LastModifiedDate %s).", h, sfTime(rec.stamp)))
			return rec, false
		}
	}
	return rec, true
}

// sfUpdateLocked merges body into rec with the side effects Salesforce applies.
func (s *Sim) sfUpdateLocked(o *objectState, rec *record, body map[string]any) *record {
	n := s.updateLocked(o, rec, func(n *record) {
		for k, v := range body {
			c, _ := s.sf.canon(o.def.name, k)
			n.fields[c] = deepCopy(v)
		}
	})
	switch o.def.name {
	case "Case":
		closed := n.fields["Status"] == "Closed"
		n.fields["IsClosed"] = closed
		if closed && rec.fields["Status"] != "Closed" {
			n.fields["ClosedDate"] = sfTime(n.stamp)
		} else if !closed {
			n.fields["ClosedDate"] = nil
		}
	case "Contact":
		n.fields["Name"] = strings.TrimSpace(fmt.Sprint(nz(n.fields["FirstName"])) + " " + fmt.Sprint(nz(n.fields["LastName"])))
	}
	s.sfIndexLocked(o, n)
	return n
}

// sfExtKey keys the external-id index.
func sfExtKey(obj, field, value string) string {
	return obj + "|" + strings.ToLower(field) + "|" + strings.ToLower(value)
}

func (s *Sim) sfIndexLocked(o *objectState, r *record) {
	for _, ext := range s.sf[o.def.name].extIDs {
		if v := r.fields[ext]; v != nil && v != "" {
			s.extIndex[sfExtKey(o.def.name, ext, fmt.Sprint(v))] = r.seq
		}
	}
}

// sfFindExtLocked finds the live record whose external-id field equals value.
func (s *Sim) sfFindExtLocked(o *objectState, field, value string) *record {
	canon, _ := s.sf.canon(o.def.name, field)
	check := func(seq int64) *record {
		r := o.get(o.def.idOf(seq))
		if r != nil && !r.deleted && strings.EqualFold(fmt.Sprint(r.fields[canon]), value) {
			return r
		}
		return nil
	}
	if seq, ok := s.extIndex[sfExtKey(o.def.name, canon, value)]; ok {
		if r := check(seq); r != nil {
			return r
		}
	}
	// seed accounts carry their QuickBooks/Square customer ids, derivable from the value
	if o.def.name == "Account" {
		var seq int64 = -1
		switch canon {
		case "QuickBooks_Customer_Id__c":
			seq, _ = qbSeq(value)
		case "Square_Customer_Id__c":
			if q := s.store.object(Inventory, "Customer"); q != nil {
				if v, ok := q.def.seqOf(value); ok {
					seq = v
				}
			}
		}
		if seq >= 0 && seq < int64(o.def.seedN) {
			return check(seq)
		}
	}
	return nil
}

func (s *Sim) sfByExt(w http.ResponseWriter, r *http.Request, method, obj, field, value string) {
	var body map[string]any
	if method == "PATCH" {
		var ok bool
		if body, ok = s.sfReadBody(w, r); !ok {
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.sfObjectLocked(w, obj)
	if o == nil {
		return
	}
	canon, ok := s.sf.canon(o.def.name, field)
	if !ok || !containsStr(s.sf[o.def.name].extIDs, canon) {
		sfError(w, http.StatusNotFound, "NOT_FOUND", "Provided external ID field does not exist or is not accessible: "+field)
		return
	}
	rec := s.sfFindExtLocked(o, canon, value)
	switch method {
	case "GET", "DELETE":
		if rec == nil {
			sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
			return
		}
		if method == "GET" {
			writeJSON(w, http.StatusOK, s.sfRender(o, rec, r.PathValue("v")))
			return
		}
		if _, ok := s.sfPreconditionLocked(w, r, o, rec); !ok {
			return
		}
		s.deleteLocked(o, rec)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// upsert
	s.countWriteLocked(Salesforce, o.def.name+"/"+canon+"/"+value)
	for k := range body {
		if strings.EqualFold(k, canon) {
			delete(body, k)
		}
	}
	newAPI := sfVersionNumber(r.PathValue("v")) >= 46
	if rec == nil {
		body[canon] = value
		if !s.sfCheckWriteLocked(w, o, body, nil) {
			return
		}
		rec = s.createLocked(o, s.sf.complete(o, body), time.Time{})
		s.sfIndexLocked(o, rec)
		out := omap{{"id", rec.id}, {"success", true}, {"errors", []any{}}}
		if newAPI {
			out = append(out, kv{"created", true})
		}
		writeJSON(w, http.StatusCreated, out)
		return
	}
	if !s.sfCheckWriteLocked(w, o, body, rec) {
		return
	}
	rec, ok = s.sfPreconditionLocked(w, r, o, rec)
	if !ok {
		return
	}
	rec = s.sfUpdateLocked(o, rec, body)
	if !newAPI {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, omap{{"id", rec.id}, {"success", true}, {"errors", []any{}}, {"created", false}})
}

func sfVersionNumber(v string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimPrefix(v, "v"), 64)
	return f
}

func containsStr(xs []string, x string) bool {
	for _, e := range xs {
		if e == x {
			return true
		}
	}
	return false
}

// sfChanges serves GET /sobjects/{Obj}/updated/ and /deleted/.
func (s *Sim) sfChanges(w http.ResponseWriter, r *http.Request, obj, kind string) {
	q := r.URL.Query()
	start, err1 := parseSFTime(q.Get("start"))
	end, err2 := parseSFTime(q.Get("end"))
	if err1 != nil || err2 != nil {
		sfError(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE", "start and end must be ISO 8601 datetimes, e.g. 2024-01-01T00:00:00+00:00")
		return
	}
	start, end = start.UTC().Truncate(time.Minute), end.UTC().Truncate(time.Minute)
	now := s.now().UTC()
	switch {
	case !end.After(start):
		sfError(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE", "end date must be after start date")
		return
	case start.Before(now.Add(-30 * 24 * time.Hour)):
		sfError(w, http.StatusBadRequest, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
		return
	}
	covered := end
	if n := now.Truncate(time.Minute); n.Before(covered) {
		covered = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.sfObjectLocked(w, obj)
	if o == nil {
		return
	}
	ids := []string{}
	var deleted []omap
	o.iterate(start, -1, func(c cand) bool {
		if !c.stamp.Before(end) {
			return false
		}
		if !s.visible(c.stamp) {
			return true
		}
		isDel := c.rec != nil && c.rec.deleted
		switch {
		case kind == "updated" && !isDel:
			ids = append(ids, o.def.idOf(c.seq))
		case kind == "deleted" && isDel:
			deleted = append(deleted, omap{{"id", c.rec.id}, {"deletedDate", sfTime(c.rec.deletedAt)}})
		}
		return len(ids) < 600000
	})
	if kind == "updated" {
		writeJSON(w, http.StatusOK, omap{{"ids", ids}, {"latestDateCovered", sfTime(covered)}})
		return
	}
	if deleted == nil {
		deleted = []omap{}
	}
	writeJSON(w, http.StatusOK, omap{{"deletedRecords", deleted}, {"earliestDateAvailable", sfTime(seedEpoch)}, {"latestDateCovered", sfTime(covered)}})
}

func decodeSegment(seg string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
}

// sfVersionData serves a file's bytes: the simulator keeps only sizes, so the content is
// a deterministic filler of the recorded ContentSize.
func (s *Sim) sfVersionData(w http.ResponseWriter, obj, id string) {
	s.mu.Lock()
	o := s.sfObjectLocked(w, obj)
	var rec *record
	if o != nil {
		rec = o.get(id)
	}
	s.mu.Unlock()
	if o == nil {
		return
	}
	if o.def.name != "ContentVersion" || rec == nil || rec.deleted {
		sfError(w, http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
		return
	}
	size, _ := rec.fields["ContentSize"].(int)
	if f, ok := rec.fields["ContentSize"].(float64); ok {
		size = int(f)
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(size))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(bytes.Repeat([]byte("portico "), size/8+1)[:size])
}

// sfBlob is what the simulator keeps of an uploaded file: its size and
// MD5 (ContentVersion.Checksum), not its bytes.
type sfBlob struct {
	size int64
	md5  string
}

// sfReadMultipart reads Salesforce's multipart insert of a ContentVersion
// ("Insert or Update Blob Data"): the record as JSON in the part
// entity_content, then the file in the part VersionData, streamed through
// (only its size and MD5 are kept).
func sfReadMultipart(w http.ResponseWriter, r *http.Request, obj string) (map[string]any, *sfBlob, bool) {
	bad := func(msg string) (map[string]any, *sfBlob, bool) {
		sfError(w, http.StatusBadRequest, "INVALID_MULTIPART_REQUEST", msg)
		return nil, nil, false
	}
	if canon, _ := sfCanonObject(obj); canon != "ContentVersion" {
		return bad("multipart requests are supported for blob objects such as ContentVersion only")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return bad(err.Error())
	}
	var body map[string]any
	var blob *sfBlob
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return bad("the multipart body cannot be read: " + err.Error())
		}
		switch part.FormName() {
		case "entity_content":
			if err := json.NewDecoder(io.LimitReader(part, 1<<20)).Decode(&body); err != nil || body == nil {
				return bad("entity_content must be a JSON object")
			}
		case "VersionData":
			h := md5.New()
			n, err := io.Copy(h, part)
			if err != nil {
				return bad("the binary part was cut off: " + err.Error())
			}
			blob = &sfBlob{size: n, md5: hex.EncodeToString(h.Sum(nil))}
		}
	}
	if body == nil || blob == nil {
		return bad("a ContentVersion insert needs the parts entity_content and VersionData")
	}
	delete(body, "attributes")
	delete(body, "VersionData")
	return body, blob, true
}
