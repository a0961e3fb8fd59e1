package fakesource

import (
	"bytes"
	"crypto/md5" //nolint:gosec // a fingerprint of the received file for tests, not a security hash
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// qbUpload serves POST /v3/company/{realm}/upload, QuickBooks' multipart
// upload of an Attachable: file_metadata_NN (the Attachable as JSON, its
// AttachableRef linking the entity) and file_content_NN (the file, streamed
// through: only its size and MD5 are kept, the MD5 in the simulator-only
// field Sim_MD5 that tests read with Record). It answers
// {"AttachableResponse":[{"Attachable":{...}}],"time":...}, a refused
// item as {"Fault":{...}} in its place, and honours ?requestid= like
// every other write.
func (s *Sim) qbUpload(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	meta, size, sum, err := qbReadUpload(r)
	if err != nil {
		qbValidation(w, now, "2010", "Request has invalid or unsupported property", err.Error(), "")
		return
	}
	reqID := r.URL.Query().Get("requestid")
	s.mu.Lock()
	defer s.mu.Unlock()
	if reqID != "" {
		if e, ok := s.idemLookupLocked(Accounting, "", reqID); ok {
			replay(w, e)
			return
		}
	}
	o := s.store.object(Accounting, "Attachable")
	fields := qbWritable(meta)
	fields["Size"], fields["Sim_MD5"] = float64(size), sum
	if msg, el := s.qbUploadRefLocked(fields); msg != "" {
		writeJSON(w, http.StatusOK, map[string]any{"AttachableResponse": []any{map[string]any{"Fault": map[string]any{
			"Error": []any{map[string]any{"Message": msg, "Detail": el[1], "code": el[0], "element": el[2]}}, "type": "ValidationFault"}}},
			"time": qbNow(now)})
		return
	}
	s.qbDefaults(o, fields)
	rec := s.createLocked(o, fields, time.Time{})
	buf := &bufferedResponse{header: http.Header{}}
	writeJSON(buf, http.StatusOK, map[string]any{"AttachableResponse": []any{map[string]any{"Attachable": qbRender(o, rec)}}, "time": qbNow(now)})
	if reqID != "" {
		s.idemStoreLocked(Accounting, "", reqID, idemEntry{status: buf.status, body: buf.body, header: buf.header})
	}
	replay(w, idemEntry{status: buf.status, body: buf.body, header: buf.header})
}

// qbUploadRefLocked checks that every entity the attachment links exists.
func (s *Sim) qbUploadRefLocked(fields map[string]any) (string, [3]string) {
	refs, _ := fields["AttachableRef"].([]any)
	for _, ref := range refs {
		m, _ := ref.(map[string]any)
		er, _ := m["EntityRef"].(map[string]any)
		typ, _ := er["type"].(string)
		id, _ := er["value"].(string)
		o := s.qbEntity(typ)
		if o == nil {
			return "Invalid Reference Id", [3]string{"2500", "Invalid Reference Id : unknown entity type " + typ, "AttachableRef"}
		}
		if rec := o.get(id); rec == nil || rec.deleted {
			return "Invalid Reference Id", [3]string{"2500", fmt.Sprintf("Invalid Reference Id : %s %s does not exist", typ, id), "AttachableRef"}
		}
	}
	return "", [3]string{}
}

// qbReadUpload reads the metadata part and streams the content part.
func qbReadUpload(r *http.Request) (map[string]any, int64, string, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, 0, "", err
	}
	var meta, content map[string]any
	var size int64 = -1
	var sum string
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, 0, "", fmt.Errorf("the multipart body cannot be read: %w", err)
		}
		switch name := part.FormName(); {
		case strings.HasPrefix(name, "file_metadata_"):
			if err := json.NewDecoder(io.LimitReader(part, 1<<20)).Decode(&meta); err != nil || meta == nil {
				return nil, 0, "", errors.New(name + " must be a JSON Attachable")
			}
		case strings.HasPrefix(name, "file_content_"):
			// Without a metadata part QuickBooks names the attachment
			// after the file part (node-quickbooks uploads so, and links
			// it to its entity by an update afterwards).
			content = map[string]any{"FileName": part.FileName(), "ContentType": part.Header.Get("Content-Type")}
			h := md5.New() //nolint:gosec // see the import
			if size, err = io.Copy(h, part); err != nil {
				return nil, 0, "", fmt.Errorf("%s was cut off: %w", name, err)
			}
			sum = hex.EncodeToString(h.Sum(nil))
		}
	}
	if size < 0 {
		return nil, 0, "", errors.New("an upload needs file_content_01 (and optionally file_metadata_01)")
	}
	if meta == nil {
		meta = content
	}
	return meta, size, sum, nil
}

// UploadMD5 returns the MD5 (hex) of the file an upload delivered to a
// record: a ContentVersion's Checksum, an Attachable's kept digest. Tests
// compare it with what they sent.
func (s *Sim) UploadMD5(system, object, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.lookupObject(system, object)
	if err != nil {
		return "", err
	}
	rec := o.get(id)
	if rec == nil {
		return "", fmt.Errorf("%w: %s/%s/%s", ErrNotFound, system, object, id)
	}
	for _, k := range []string{"Sim_MD5", "Checksum"} {
		if v, ok := rec.fields[k].(string); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("%w: %s/%s/%s holds no uploaded file", ErrNotFound, system, object, id)
}

// qbDownload serves QuickBooks' attachment download: GET
// /v3/company/{realm}/download/{id} answers, as plain text, the
// Attachable's TempDownloadUri, a short-lived URL that needs no token.
func (s *Sim) qbDownload(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rec := s.store.object(Accounting, "Attachable").get(r.PathValue("id"))
	s.mu.Unlock()
	if rec == nil || rec.deleted {
		qbNotFound(w, s.now(), "Attachable", r.PathValue("id"))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "http://"+r.Host+"/qbo-attachments/"+url.PathEscape(rec.id)+"?signature="+s.rng.token(16))
}

// qbAttachmentContent serves a TempDownloadUri: the simulator keeps only
// sizes, so the content is a deterministic filler of the Attachable's Size.
func (s *Sim) qbAttachmentContent(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	rec := s.store.object(Accounting, "Attachable").get(r.PathValue("id"))
	var size int
	if rec != nil {
		switch v := rec.fields["Size"].(type) {
		case int:
			size = v
		case float64:
			size = int(v)
		case int64:
			size = int(v)
		}
	}
	s.mu.Unlock()
	if rec == nil || rec.deleted || r.URL.Query().Get("signature") == "" {
		http.Error(w, "AccessDenied", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(size))
	_, _ = w.Write(bytes.Repeat([]byte("portico "), size/8+1)[:size])
}
