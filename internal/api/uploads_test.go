package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/files/clamdtest"
	"github.com/porticohq/portico/internal/store"
)

// rows counts what uploads leave: files (finished: clean, unscanned or
// quarantined), pending files (a resumable upload's, state scanning), all
// chunks, attach_file actions and resumable uploads.
type rows struct{ files, pending, chunks, actions, uploads int }

func (e *env) rows(t *testing.T) rows {
	t.Helper()
	var n rows
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM file WHERE state <> 'scanning'), (SELECT count(*) FROM file WHERE state = 'scanning'),
		(SELECT count(*) FROM file_chunk), (SELECT count(*) FROM action WHERE kind = 'attach_file'),
		(SELECT count(*) FROM file_upload)`).
		Scan(&n.files, &n.pending, &n.chunks, &n.actions, &n.uploads))
	return n
}

// chunkVersions are the transactions that wrote a file's chunks, in
// order.
func (e *env) chunkVersions(t *testing.T, fileID int64) []store.FileChunkVersionsRow {
	t.Helper()
	v, err := store.FileChunkVersions(context.Background(), e.pool, fileID)
	require.NoError(t, err)
	return v
}

func tusMeta(kv ...string) string {
	var parts []string
	for i := 0; i < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

// tusCreate begins a resumable upload; it returns the reply and the
// upload's path.
func (c *client) tusCreate(size int, meta string) (reply, string) {
	c.e.t.Helper()
	res := c.do("POST", "/api/v1/uploads", nil, http.Header{
		"Tus-Resumable": {"1.0.0"}, "Upload-Length": {strconv.Itoa(size)}, "Upload-Metadata": {meta},
	})
	loc := res.header.Get("Location")
	if i := strings.Index(loc, "/api/v1/uploads/"); i >= 0 {
		loc = loc[i:]
	}
	return res, loc
}

func (c *client) tusPatch(path string, offset int, data []byte) reply {
	c.e.t.Helper()
	return c.do("PATCH", path, string(data), http.Header{
		"Tus-Resumable": {"1.0.0"}, "Upload-Offset": {strconv.Itoa(offset)}, "Content-Type": {"application/offset+octet-stream"},
	})
}

func (c *client) tusOffset(path string) (int, int) {
	c.e.t.Helper()
	res := c.do("HEAD", path, nil, http.Header{"Tus-Resumable": {"1.0.0"}})
	n, _ := strconv.Atoi(res.header.Get("Upload-Offset"))
	return res.code, n
}

// TestResumableUpload: a file sent with tus in three PATCHes, the second
// cut off mid-way by a dropped connection, resumes from the offset the
// server kept and becomes the same file and write-back as a plain upload;
// its parts are gone afterwards. Another user cannot see or continue the
// upload (404).
func TestResumableUpload(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	bob := e.user("bob@beta.example", Beta, []string{"account_admin"}, false, false)
	cara := e.user("cara@alpha.example", Alpha, []string{"member"}, false, false)
	content := append(append([]byte{}, pdfBytes...), bytes.Repeat([]byte("0123456789abcdef"), 200_000)...) // ~3.2 MB
	meta := tusMeta("object", "case", "record", "500A00000000000", "filename", "big log.pdf", "filetype", "application/pdf")

	res, path := ada.tusCreate(len(content), meta)
	require.Equal(t, http.StatusCreated, res.code, string(res.body))
	require.True(t, strings.HasPrefix(path, "/api/v1/uploads/"), path)

	// Others: the same 404 as a missing upload.
	for _, other := range []*client{bob, cara} {
		code, _ := other.tusOffset(path)
		require.Equal(t, http.StatusNotFound, code)
		require.Equal(t, http.StatusNotFound, other.tusPatch(path, 0, content[:10]).code)
	}

	first := 1 << 20
	require.Equal(t, http.StatusNoContent, ada.tusPatch(path, 0, content[:first]).code)

	// The second PATCH announces the rest but the connection drops after
	// 1.5 MB: the server keeps all that arrived.
	ada.dropAfter(path, first, content[first:], 3<<19)
	deadline := time.Now().Add(10 * time.Second)
	var offset int
	for {
		var code int
		code, offset = ada.tusOffset(path)
		require.Equal(t, http.StatusOK, code)
		if offset == first+3<<19 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond) // polling the server's offset until the cut PATCH is stored
	}
	require.Equal(t, first+3<<19, offset, "the interrupted PATCH kept what arrived")
	require.Zero(t, e.rows(t).files, "nothing is a file before the upload is complete")
	require.Empty(t, ada.get("/api/v1/cases/500A00000000000/files").json(t)["data"], "nor listed")
	pending, err := store.FileUploadGet(context.Background(), e.pool, path[strings.LastIndex(path, "/")+1:])
	require.NoError(t, err)
	before := e.chunkVersions(t, pending.FileID)
	require.Len(t, before, (offset+files.ChunkSize-1)/files.ChunkSize, "what arrived is stored as the file's chunks")
	before = before[:offset/files.ChunkSize] // not the chunk the next PATCH fills up

	// Resume from the server's offset.
	done := ada.tusPatch(path, offset, content[offset:])
	require.Equal(t, http.StatusOK, done.code, string(done.body))
	up := done.json(t)
	file := up["file"].(map[string]any)
	require.Equal(t, "big log.pdf", file["name"])
	require.Equal(t, "application/pdf", file["content_type"])
	require.Equal(t, "attach_file", up["action"].(map[string]any)["kind"])
	dl := ada.get("/api/v1/files/" + file["id"].(string))
	require.Equal(t, http.StatusOK, dl.code)
	require.True(t, bytes.Equal(content, dl.body), "the file is the bytes sent, in order")
	n := e.rows(t)
	require.Equal(t, rows{files: 1, chunks: (len(content) + files.ChunkSize - 1) / files.ChunkSize, actions: 1}, n, "the upload is gone, the file and its action stay")
	require.Equal(t, strconv.FormatInt(pending.FileID, 10), file["id"], "the pending file became the file")
	require.Equal(t, before, e.chunkVersions(t, pending.FileID)[:len(before)], "the content that arrived before is the file's, not written again")
	code, _ := ada.tusOffset(path)
	require.Equal(t, http.StatusNotFound, code, "a finished upload is gone")
}

// dropAfter sends a PATCH announcing all of data but closes the connection
// after n bytes of it.
func (c *client) dropAfter(path string, offset int, data []byte, n int) {
	c.e.t.Helper()
	u := strings.TrimPrefix(c.e.srv.URL, "http://")
	conn, err := net.Dial("tcp", u)
	require.NoError(c.e.t, err)
	defer conn.Close()
	var cookies []string
	req, _ := http.NewRequest("GET", c.e.srv.URL+"/", nil)
	for _, ck := range c.http.Jar.Cookies(req.URL) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	head := fmt.Sprintf("PATCH %s HTTP/1.1\r\nHost: %s\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: %d\r\n"+
		"Content-Type: application/offset+octet-stream\r\nContent-Length: %d\r\nX-CSRF-Token: %s\r\nCookie: %s\r\n\r\n",
		path, u, offset, len(data), c.csrf, strings.Join(cookies, "; "))
	_, err = conn.Write([]byte(head))
	require.NoError(c.e.t, err)
	_, err = conn.Write(data[:n])
	require.NoError(c.e.t, err)
}

// TestResumableRefusals: what a plain upload refuses, a resumable one
// refuses too, at creation when the announcement tells (size, name, empty,
// a foreign record) and at completion when the content does (type,
// malware through the real clamd), with the API's JSON error naming the
// field; nothing is left in file, file_chunk, action or the upload tables,
// but the quarantined file.
func TestResumableRefusals(t *testing.T) {
	t.Parallel()
	scanner := clamdtest.Start(t)
	e := setup(t, func(o *options) { o.fileMax = 64 << 10; o.scanner = scanner })
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	meta := func(name, ctype string) string {
		return tusMeta("object", "case", "record", "500A00000000000", "filename", name, "filetype", ctype)
	}
	for _, c := range []struct {
		name   string
		size   int
		meta   string
		status int
		field  string
		words  string
	}{
		{"too large", 64<<10 + 1, meta("a.pdf", "application/pdf"), 413, "file", "too_large"},
		{"empty", 0, meta("a.pdf", "application/pdf"), 422, "file", "empty"},
		{"path separator", 10, meta("../a.pdf", "application/pdf"), 422, "file_name", "separator"},
		{"control character", 10, meta("a\x07.pdf", "application/pdf"), 422, "file_name", "control"},
		{"no record", 10, tusMeta("filename", "a.pdf"), 422, "header.Upload-Metadata", "invalid"},
		{"foreign record", 10, tusMeta("object", "case", "record", "500B00000000000", "filename", "a.pdf"), 404, "", "not_found"},
	} {
		res, _ := ada.tusCreate(c.size, c.meta)
		require.Equal(t, c.status, res.code, c.name+": "+string(res.body))
		msg, field := errorCode(t, res)
		require.Contains(t, msg, c.words, c.name)
		require.Equal(t, c.field, field, c.name)
	}
	deferred := ada.do("POST", "/api/v1/uploads", nil, http.Header{"Tus-Resumable": {"1.0.0"}, "Upload-Defer-Length": {"1"}, "Upload-Metadata": {meta("a.pdf", "")}})
	require.Equal(t, http.StatusUnprocessableEntity, deferred.code, string(deferred.body))
	require.Equal(t, rows{}, e.rows(t), "refused at creation: nothing kept")

	// Refused on completion: the content's type, and malware.
	for _, c := range []struct {
		name, ctype string
		content     []byte
		status      int
		code        string
	}{
		{"declared pdf, content text", "application/pdf", []byte("plain words"), 415, "type_mismatch"},
		{"not allowed", "", []byte("<html><body>x</body></html>"), 415, "type_not_allowed"},
		{"eicar", "text/plain", []byte(clamdtest.EICAR), 422, "infected"},
	} {
		res, path := ada.tusCreate(len(c.content), meta("a.txt", c.ctype))
		require.Equal(t, http.StatusCreated, res.code, string(res.body))
		done := ada.tusPatch(path, 0, c.content)
		require.Equal(t, c.status, done.code, c.name+": "+string(done.body))
		body := done.json(t)["error"].(map[string]any)
		require.Equal(t, c.code, body["code"], c.name)
		if c.code == "infected" {
			require.Equal(t, clamdtest.Signature, body["details"].(map[string]any)["signature"])
		}
	}
	n := e.rows(t)
	require.Equal(t, rows{files: 1, chunks: 1}, n, "only the quarantined file is kept; no action, no upload")
}

// TestResumableAbandoned: an upload left half-way is deleted by the sweep
// once it has not moved for the expiry, and nothing of it is a file.
func TestResumableAbandoned(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	content := append(append([]byte{}, pdfBytes...), bytes.Repeat([]byte("x"), 2<<20)...)
	res, path := ada.tusCreate(len(content), tusMeta("object", "case", "record", "500A00000000000", "filename", "a.pdf"))
	require.Equal(t, http.StatusCreated, res.code, string(res.body))
	require.Equal(t, http.StatusNoContent, ada.tusPatch(path, 0, content[:1<<20]).code)
	require.Equal(t, rows{pending: 1, chunks: (1<<20 + files.ChunkSize - 1) / files.ChunkSize, uploads: 1}, e.rows(t))

	ts := files.TusStore{Pool: e.pool}
	n, err := ts.Expire(context.Background(), time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "an upload that moved within the expiry stays")
	n, err = ts.Expire(context.Background(), time.Now().Add(time.Second))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.Equal(t, rows{}, e.rows(t), "the abandoned upload left nothing")
	code, _ := ada.tusOffset(path)
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, http.StatusNotFound, ada.tusPatch(path, 1<<20, content[1<<20:]).code)
	_ = io.Discard
}

// TestApprovalAndAccountUploads: a buyer attaches a file to a quote they
// may decide, and a user to their own account (the profile's files), both
// as the case's; a member, whose roles do not reach quotes, gets the 404 of
// a missing quote; another account's user sees neither file.
func TestApprovalAndAccountUploads(t *testing.T) {
	t.Parallel()
	e := setup(t)
	buyer := e.user("bea@alpha.example", Alpha, []string{"purchasing"}, false, false)
	member := e.user("max@alpha.example", Alpha, []string{"member"}, false, false)
	bob := e.user("bob@beta.example", Beta, []string{"account_admin", "purchasing"}, false, false)

	res := buyer.upload("/api/v1/approvals/0Q0A00000000001/files", "signed order.pdf", "application/pdf", pdfBytes)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	act := res.json(t)["action"].(map[string]any)
	require.Equal(t, "0Q0A00000000001", act["input"].(map[string]any)["related_id"])
	require.Len(t, buyer.get("/api/v1/approvals/0Q0A00000000001/files").json(t)["data"], 1)
	require.Equal(t, http.StatusNotFound, member.upload("/api/v1/approvals/0Q0A00000000001/files", "a.pdf", "application/pdf", pdfBytes).code)
	require.Equal(t, http.StatusNotFound, bob.get("/api/v1/approvals/0Q0A00000000001/files").code)

	res = member.upload("/api/v1/me/files", "tax certificate.pdf", "application/pdf", pdfBytes)
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	input := res.json(t)["action"].(map[string]any)["input"].(map[string]any)
	require.Equal(t, Alpha, input["related_id"], "a profile's file goes to the user's account")
	mine := member.get("/api/v1/me/files").json(t)["data"].([]any)
	require.Len(t, mine, 1)
	require.Len(t, buyer.get("/api/v1/me/files").json(t)["data"], 1, "the account's files, for everyone at the account")
	require.Empty(t, bob.get("/api/v1/me/files").json(t)["data"])
	require.Equal(t, http.StatusNotFound, bob.get("/api/v1/files/"+mine[0].(map[string]any)["id"].(string)).code)

	// A resumable upload to the account as well.
	content := append(append([]byte{}, pdfBytes...), []byte("% more\n")...)
	created, path := member.tusCreate(len(content), tusMeta("object", "account", "record", Alpha, "filename", "contract.pdf"))
	require.Equal(t, http.StatusCreated, created.code, string(created.body))
	require.Equal(t, http.StatusOK, member.tusPatch(path, 0, content).code)
	require.Len(t, member.get("/api/v1/me/files").json(t)["data"], 2)
}
