package api_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/files/clamdtest"
)

var pdfBytes = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// multipartFile is a form with a CSRF-like field and the file part, its
// name as given (not cleaned).
func multipartFile(t *testing.T, name, contentType string, content []byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("note", "ignored"))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	pw, err := mw.CreatePart(h)
	require.NoError(t, err)
	_, _ = pw.Write(content)
	require.NoError(t, mw.Close())
	return mw.FormDataContentType(), buf.Bytes()
}

func (c *client) upload(path, name, contentType string, content []byte) reply {
	c.e.t.Helper()
	ct, body := multipartFile(c.e.t, name, contentType, content)
	return c.do("POST", path, string(body), http.Header{"Content-Type": {ct}})
}

func errorCode(t *testing.T, r reply) (string, string) {
	t.Helper()
	e := r.json(t)["error"].(map[string]any)
	fields, _ := e["fields"].([]any)
	field := ""
	if len(fields) > 0 {
		field = fields[0].(map[string]any)["path"].(string)
	}
	return e["code"].(string) + ": " + e["message"].(string), field
}

// TestUploadAndDownload: a member uploads a file to their case; the
// action names the file, never its content; the file is listed on the
// case and downloads with the safe headers and Range; another account's
// user gets the 404 of a missing id for every file URL.
func TestUploadAndDownload(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	bob := e.user("bob@beta.example", Beta, []string{"account_admin"}, false, false)
	marker := "PORTICO-CONTENT-MARKER-7f3a"
	content := append(append([]byte{}, pdfBytes...), []byte("% "+marker+"\n")...)

	res := ada.upload("/api/v1/cases/500A00000000000/files", "Router log.pdf", "application/pdf", content)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	up := res.json(t)
	file := up["file"].(map[string]any)
	act := up["action"].(map[string]any)
	id := file["id"].(string)
	require.Equal(t, "/api/v1/files/"+id, res.header.Get("Location"))
	require.Equal(t, "Router log.pdf", file["name"])
	require.Equal(t, "application/pdf", file["content_type"])
	require.Equal(t, "unscanned", file["state"], "no scanner in this setup")
	require.Equal(t, "attach_file", act["kind"])
	require.Equal(t, act["id"], file["action_id"])
	input := act["input"].(map[string]any)
	require.EqualValues(t, id, fmt.Sprint(input["file_id"]), "the action names the stored file")
	require.Equal(t, "500A00000000000", input["related_id"])
	require.NotContains(t, string(res.body), marker)

	// The content is in none of action, audit or record.
	got := ada.get("/api/v1/actions/" + act["id"].(string))
	require.Equal(t, http.StatusOK, got.code)
	require.NotContains(t, string(got.body), marker)
	anon := &client{e: e, http: http.DefaultClient}
	audit := anon.do("GET", "/admin/audit?limit=200", nil, http.Header{"Authorization": {"Bearer " + adminToken}})
	require.Equal(t, http.StatusOK, audit.code, string(audit.body))
	require.Contains(t, string(audit.body), "attach_file")
	require.NotContains(t, string(audit.body), marker)
	require.NotContains(t, string(ada.get("/api/v1/cases/500A00000000000").body), marker)

	// Listed on the case, for its account only.
	list := ada.get("/api/v1/cases/500A00000000000/files")
	require.Equal(t, http.StatusOK, list.code)
	require.Len(t, list.json(t)["data"], 1)
	require.Equal(t, http.StatusNotFound, bob.get("/api/v1/cases/500A00000000000/files").code)

	// Download: the bytes, an attachment, nothing runs, ranges served.
	dl := ada.get("/api/v1/files/" + id)
	require.Equal(t, http.StatusOK, dl.code)
	require.Equal(t, content, dl.body)
	require.Equal(t, `attachment; filename="Router log.pdf"`, dl.header.Get("Content-Disposition"))
	require.Equal(t, "nosniff", dl.header.Get("X-Content-Type-Options"))
	require.Contains(t, dl.header.Get("Content-Security-Policy"), "sandbox")
	require.Equal(t, "application/pdf", dl.header.Get("Content-Type"))
	part := ada.do("GET", "/api/v1/files/"+id, nil, http.Header{"Range": {"bytes=0-3"}})
	require.Equal(t, http.StatusPartialContent, part.code)
	require.Equal(t, "%PDF", string(part.body))

	// Foreign ids: the same 404 as a missing one, and nothing stored.
	missing := bob.get("/api/v1/files/999999")
	require.Equal(t, http.StatusNotFound, missing.code)
	foreign := bob.get("/api/v1/files/" + id)
	require.Equal(t, missing.code, foreign.code)
	require.Equal(t, string(missing.body), string(foreign.body))
	for _, bad := range []string{"abc", "-1", "0", "1e3"} {
		require.Equal(t, http.StatusNotFound, bob.get("/api/v1/files/"+bad).code, bad)
	}
	res = bob.upload("/api/v1/cases/500A00000000000/files", "x.pdf", "application/pdf", pdfBytes)
	require.Equal(t, http.StatusNotFound, res.code)
	require.Len(t, ada.get("/api/v1/cases/500A00000000000/files").json(t)["data"], 1)

	// A raw body with ?filename= is an upload too.
	raw := ada.do("POST", "/api/v1/cases/500A00000000001/files?filename=notes.txt", "plain notes", http.Header{"Content-Type": {"text/plain"}})
	require.Equal(t, http.StatusAccepted, raw.code, string(raw.body))
	require.Equal(t, "text/plain", raw.json(t)["file"].(map[string]any)["content_type"])
}

// TestUploadRefusals: each bad upload gets its status naming the field and
// the reason, and stores nothing.
func TestUploadRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.fileMax = 64 << 10 })
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	path := "/api/v1/cases/500A00000000000/files"
	big := append(append([]byte{}, pdfBytes...), bytes.Repeat([]byte("x"), 64<<10)...)
	for _, c := range []struct {
		name, file, ctype string
		content           []byte
		status            int
		words             []string
		field             string
	}{
		{"too large", "a.pdf", "application/pdf", big, 413, []string{"too_large", "0 MB", "65536"}, "file"},
		{"declared type differs", "a.pdf", "application/pdf", []byte("hello"), 415, []string{"application/pdf", "text/plain"}, "file"},
		{"type not allowed", "a.html", "text/html", []byte("<html><body>x</body></html>"), 415, []string{"text/html"}, "file"},
		{"path separator", "../../etc/passwd.txt", "text/plain", []byte("x"), 422, []string{"separator"}, "file_name"},
		{"empty", "a.txt", "text/plain", nil, 422, []string{"empty"}, "file"},
	} {
		res := ada.upload(path, c.file, c.ctype, c.content)
		require.Equal(t, c.status, res.code, c.name+": "+string(res.body))
		msg, field := errorCode(t, res)
		matched := false
		for _, w := range c.words {
			matched = matched || strings.Contains(msg, w)
		}
		require.True(t, matched, "%s: %s names none of %v", c.name, msg, c.words)
		require.Equal(t, c.field, field, c.name)
	}
	// A control character (which a multipart header cannot carry).
	res := ada.do("POST", path+"?filename=a%01.txt", "x", http.Header{"Content-Type": {"text/plain"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code, string(res.body))
	msg, field := errorCode(t, res)
	require.Contains(t, msg, "control")
	require.Equal(t, "file_name", field)
	// Announced too large: refused before the body is read.
	res = ada.do("POST", path+"?filename=a.pdf", string(big), http.Header{"Content-Type": {"application/pdf"}})
	require.Equal(t, http.StatusRequestEntityTooLarge, res.code)
	// No file part.
	res = ada.do("POST", path, "--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--b--\r\n", http.Header{"Content-Type": {"multipart/form-data; boundary=b"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.code, string(res.body))
	// A body cut off inside the file part.
	ct, body := multipartFile(t, "a.pdf", "application/pdf", pdfBytes)
	res = ada.do("POST", path, string(body[:len(body)-30]), http.Header{"Content-Type": {ct}})
	require.Equal(t, http.StatusBadRequest, res.code, string(res.body))

	require.Empty(t, ada.get("/api/v1/cases/500A00000000000/files").json(t)["data"], "nothing was stored")
	require.Equal(t, rows{}, e.rows(t), "no file, chunk or action row")
}

// TestInvoiceUpload: a file on an invoice goes to the accounting system
// (its document mapping), for the roles that see its documents.
func TestInvoiceUpload(t *testing.T) {
	t.Parallel()
	e := setup(t)
	admin := e.user("ann@alpha.example", Alpha, []string{"account_admin"}, false, false)
	res := admin.upload("/api/v1/invoices/9A1/files", "receipt.pdf", "application/pdf", pdfBytes)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	act := res.json(t)["action"].(map[string]any)
	require.Equal(t, "document", act["object"])
	got := admin.get("/api/v1/invoices/9A1/files")
	require.Len(t, got.json(t)["data"], 1)
}

// TestUploadInfected: through the real clamd, EICAR is refused with the
// reason, kept as quarantined, never listed for download and never sent
// (no action); a clean file passes as clean.
func TestUploadInfected(t *testing.T) {
	t.Parallel()
	scanner := clamdtest.Start(t)
	e := setup(t, func(o *options) { o.scanner = scanner })
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	path := "/api/v1/cases/500A00000000000/files"
	res := ada.upload(path, "eicar.txt", "text/plain", []byte(clamdtest.EICAR))
	require.Equal(t, http.StatusUnprocessableEntity, res.code, string(res.body))
	msg, field := errorCode(t, res)
	require.Contains(t, msg, "infected")
	require.Contains(t, msg, clamdtest.Signature)
	require.Equal(t, "file", field)
	list := ada.get(path).json(t)["data"].([]any)
	require.Len(t, list, 1, "kept, as quarantined")
	q := list[0].(map[string]any)
	require.Equal(t, "quarantined", q["state"])
	require.Nil(t, q["action_id"], "never sent to the source")
	require.Empty(t, q["url"])
	require.Equal(t, http.StatusNotFound, ada.get("/api/v1/files/"+q["id"].(string)).code)

	res = ada.upload(path, "a.pdf", "application/pdf", pdfBytes)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	require.Equal(t, "clean", res.json(t)["file"].(map[string]any)["state"])
}

// slowBody trickles its bytes: a client on a slow line.
type slowBody struct {
	data  []byte
	every time.Duration
}

func (s *slowBody) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.every) // the line's pace, not a wait for a condition
	n := copy(p[:min(len(p), 64)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// TestSlowUploadOutlivesServerTimeouts: the server's read and write
// timeouts are sized for JSON; an upload slower than them still arrives.
func TestSlowUploadOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	srv := httptest.NewUnstartedServer(e.srv.Config.Handler)
	srv.Config.ReadTimeout, srv.Config.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	// 6 pieces, 100ms apart: 600ms, three times the timeouts.
	body := &slowBody{data: bytes.Repeat([]byte("slow line\n"), 38), every: 100 * time.Millisecond}
	req, err := http.NewRequest("POST", srv.URL+"/api/v1/cases/500A00000000000/files?filename=slow.txt", body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("X-CSRF-Token", ada.csrf)
	res, err := ada.http.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	require.Equal(t, http.StatusAccepted, res.StatusCode, string(got))
}
