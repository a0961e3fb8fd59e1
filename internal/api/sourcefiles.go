package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// filesPaths are where each object's file list lives in the API; a synced
// document's download is beneath it.
var filesPaths = map[string]string{
	"case": "/api/v1/cases/%s/files/%s", "invoice": "/api/v1/invoices/%s/files/%s",
	"approval_request": "/api/v1/approvals/%s/files/%s", "account": "/api/v1/me/files/%[2]s",
}

// sourceRetryAfter is what a download the source cannot serve now asks
// the client to wait.
const sourceRetryAfter = 30 * time.Second

// sourceReadTimeout bounds a read-through beyond the file's transfer time.
const sourceReadTimeout = 20 * time.Second

// syncedDocuments lists the documents the cache holds for a record the
// principal sees (Files checked it and the document roles): files synced
// from the source, whose content only the source has.
func (a *API) syncedDocuments(ctx context.Context, connection, object, id string) ([]FileInfo, error) {
	docs, err := a.documentsOf(ctx, connection, id)
	if err != nil {
		return nil, err
	}
	out := make([]FileInfo, 0, len(docs))
	for i := range docs {
		d := &docs[i]
		if d.PendingAction != nil || strings.HasPrefix(d.ID, "pending:") {
			continue // an upload on its way: listed as the upload
		}
		name, _ := d.Field("file_name").(string)
		title, _ := d.Field("title").(string)
		if name == "" {
			name = title
		}
		ct, _ := d.Field("content_type").(string)
		size, _ := d.Field("size").(float64)
		synced := d.Freshness.SyncedAt
		sid := d.ID
		info := FileInfo{ID: d.ID, Name: name, ContentType: ct, Size: int64(size), State: "source", Object: object,
			RecordID: id, SourceID: &sid, SyncedAt: &synced, CreatedAt: d.Modified, Origin: "source"}
		if p, ok := filesPaths[object]; ok {
			info.URL = fmt.Sprintf(p, id, d.ID)
		}
		out = append(out, info)
	}
	return out, nil
}

// documentsOf reads the documents of connection published to the record
// id, as the principal's scope sees them.
func (a *API) documentsOf(ctx context.Context, connection, id string) ([]records.Record, error) {
	return a.d.Records.RelatedIn(ctx, scopeFrom(ctx), connection, "document", store.RecordFilter{RelatedID: id, Limit: maxFilesListed})
}

// sourceFile answers GET /{object}/{id}/files/{doc} (and /me/files/{doc}):
// a synced document of a record the principal sees, its content read
// through from the source. A foreign or missing document is the same 404;
// a source that cannot answer now (down, its breaker open, its quota
// spent) a 503 with Retry-After.
func (a *API) sourceFile(object string, id recordOf) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		docID := chi.URLParam(r, "doc")
		list, err := a.Files(ctx, object, id(r))
		if errors.Is(err, ErrNotFound) {
			a.notFound(w, r)
			return
		}
		if err != nil {
			a.rp.Internal(w, r, err)
			return
		}
		doc, sourceObject, err := a.syncedDocument(ctx, object, list, docID)
		if err != nil {
			a.rp.Internal(w, r, err)
			return
		}
		if doc == nil {
			a.notFound(w, r)
			return
		}
		parent, _, _ := a.object(ctx, object)
		var reader connectors.FileReader
		ok := false
		if a.d.SourceFiles != nil {
			reader, ok = a.d.SourceFiles(parent.Connection())
		}
		if !ok {
			a.sourceUnavailable(w, r, 0, errors.New("no connector reads files of "+parent.Connection()))
			return
		}
		a.AllowTransfer(w, doc.Size)
		// The source answers within a bound, or the customer hears it
		// cannot now: a download never hangs on a source in trouble.
		rctx, cancel := context.WithTimeout(ctx, sourceReadTimeout+time.Duration(doc.Size/minTransferRate)*time.Second)
		defer cancel()
		body, err := reader.ReadFile(rctx, sourceObject, docID)
		var rl *connectors.RateLimitedError
		switch {
		case errors.Is(err, connectors.ErrNotFound):
			a.notFound(w, r)
			return
		case errors.As(err, &rl):
			a.sourceUnavailable(w, r, rl.RetryAfter, err)
			return
		case err != nil:
			a.sourceUnavailable(w, r, 0, err)
			return
		}
		defer body.Close()
		ct := doc.ContentType
		if !validMediaType(ct) {
			ct = "application/octet-stream"
		}
		downloadHeaders(w.Header(), ct, doc.Name)
		size := doc.Size
		if c, ok := body.(*connectors.Content); ok && c.Length >= 0 {
			size = c.Length // the source's own word over the synced metadata
		}
		if err := serveStream(w, r, size, doc.CreatedAt, body); err != nil {
			a.d.Logger.WarnContext(ctx, "api: streaming a source file", "object", sourceObject, "id", docID, "error", err.Error())
		}
	}
}

// serveStream sends a stream read once from its start, as it arrives.
// With its size known (the synced metadata) it goes through
// http.ServeContent, so a single Range is served (the bytes before it
// read and dropped) with the conditional headers, modified being the
// document's modification time; several ranges are answered with the
// whole file, which RFC 9110 allows. Without a size the whole stream is
// sent as it is. It returns the stream's read error, if any.
func serveStream(w http.ResponseWriter, r *http.Request, size int64, modified time.Time, body io.Reader) error {
	if size <= 0 {
		w.WriteHeader(http.StatusOK)
		_, err := io.Copy(w, body)
		return err
	}
	if strings.Contains(r.Header.Get("Range"), ",") {
		r.Header.Del("Range")
	}
	fs := &forwardSeeker{r: body, size: size}
	http.ServeContent(w, r, "", modified, fs)
	return fs.err
}

// forwardSeeker is a stream of a known size as http.ServeContent reads
// it: a seek answers at once, and a read after a seek forward first reads
// and drops the bytes up to it; a seek back before what was read fails.
type forwardSeeker struct {
	r        io.Reader
	size     int64
	pos, off int64 // where the next read starts; how far the stream was read
	err      error // the stream's first read error other than io.EOF
}

var errSeekBack = errors.New("api: a streamed file cannot seek back")

func (f *forwardSeeker) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.size
	}
	if offset < f.off || offset < 0 {
		return f.pos, errSeekBack
	}
	f.pos = offset
	return offset, nil
}

func (f *forwardSeeker) Read(p []byte) (int, error) {
	if f.pos > f.off {
		n, err := io.CopyN(io.Discard, f.r, f.pos-f.off)
		f.off += n
		if err != nil {
			return 0, f.fail(err)
		}
	}
	n, err := f.r.Read(p)
	f.off += int64(n)
	f.pos = f.off
	return n, f.fail(err)
}

func (f *forwardSeeker) fail(err error) error {
	if err != nil && !errors.Is(err, io.EOF) && f.err == nil {
		f.err = err
	}
	return err
}

// syncedDocument finds the synced document docID in a record's file list
// (Files, as the principal sees it) and its object at the source; nil
// when the list has no such document.
func (a *API) syncedDocument(ctx context.Context, object string, list []FileInfo, docID string) (*FileInfo, string, error) {
	for i := range list {
		if list[i].Origin != "source" || list[i].ID != docID {
			continue
		}
		parent, _, _ := a.object(ctx, object)
		recs, err := a.documentsOf(ctx, parent.Connection(), list[i].RecordID)
		if err != nil {
			return nil, "", err
		}
		for _, d := range recs {
			if d.ID == docID {
				return &list[i], d.SourceObject(), nil
			}
		}
	}
	return nil, "", nil
}

// sourceUnavailable answers 503 with Retry-After: the source cannot give
// the file now.
func (a *API) sourceUnavailable(w http.ResponseWriter, r *http.Request, after time.Duration, cause error) {
	if after <= 0 {
		after = sourceRetryAfter
	}
	w.Header().Set("Retry-After", strconv.Itoa(int((after+time.Second-1)/time.Second)))
	a.rp.Fail(w, r, &reply.Error{Status: http.StatusServiceUnavailable, Code: "source_unavailable",
		Message: "the file is kept at the source, which cannot be reached now; try again later", Cause: cause})
}

// validMediaType reports whether the source's type can be sent as one.
func validMediaType(t string) bool {
	mt, _, err := mime.ParseMediaType(t)
	return err == nil && strings.Contains(mt, "/")
}
