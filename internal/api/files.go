package api

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// FileInfo is a stored file as the API shows it: its name, type and size,
// the scan's outcome, the record it belongs to, and once the source has
// confirmed it, the source's id and when that was (its freshness).
type FileInfo struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	ContentType string     `json:"content_type"`
	Size        int64      `json:"size"`
	State       string     `json:"state"` // clean, unscanned, quarantined
	ScanResult  *string    `json:"scan_result"`
	Object      string     `json:"object"`    // the record's object
	RecordID    string     `json:"record_id"` // the record's id
	SourceID    *string    `json:"source_id"`
	SyncedAt    *time.Time `json:"synced_at"`
	ActionID    *string    `json:"action_id"`
	CreatedAt   time.Time  `json:"created_at"`
	URL         string     `json:"url"` // the download, when it may be downloaded
	// Origin says where the content is: "portal" (uploaded here, kept
	// by Portico) or "source" (synced from the source, read through on
	// download).
	Origin string `json:"origin"`
}

// FileUpload is the answer to an upload: the stored file and the action
// that sends it to the source.
type FileUpload struct {
	File   FileInfo `json:"file"`
	Action *Action  `json:"action"`
}

func fileInfo(f files.File) FileInfo {
	out := FileInfo{ID: strconvI(f.ID), Name: f.Name, ContentType: f.ContentType, Size: f.Size, State: f.State,
		Object: f.Object, RecordID: f.RecordID, SyncedAt: f.SyncedAt, CreatedAt: f.CreatedAt, Origin: "portal"}
	if f.ScanResult != "" {
		out.ScanResult = &f.ScanResult
	}
	if f.SourceID != "" {
		out.SourceID = &f.SourceID
	}
	if f.ActionID != 0 {
		id := strconvI(f.ActionID)
		out.ActionID = &id
	}
	if f.Servable() {
		out.URL = "/api/v1/files/" + out.ID
	}
	return out
}

// documents is the document mapping that takes files for records of
// parent: the one of parent's connection, if it accepts creates.
func (a *API) documents(parent *mapping.Object) (*mapping.Object, bool) {
	doc, ok := a.d.Mappings.For(parent.Connection(), "document")
	return doc, ok && doc.Writable(mapping.OpCreate)
}

// CanAttach reports whether the request's principal (WithScope) may attach
// files to records of object: the installation stores files and takes
// them on such records, and the principal's roles reach both the object
// and its documents. The pages show the upload form only then.
func (a *API) CanAttach(ctx context.Context, object string) bool {
	if a.d.Files == nil || a.d.Actions == nil {
		return false
	}
	parent, _, ok := a.object(ctx, object)
	if !ok {
		return false
	}
	doc, ok := a.documents(parent)
	if !ok {
		return false
	}
	_, ok = scopeFrom(ctx).For(doc)
	return ok
}

// MaxUploadBytes is the most an upload's request body may carry: the file
// cap and the multipart form around it; 0 when files are off.
func (a *API) MaxUploadBytes() int64 {
	if a.d.Files == nil {
		return 0
	}
	return a.d.Files.MaxBytes() + MultipartSlack
}

// MaxFileBytes is the upload cap of one file; 0 when files are off.
func (a *API) MaxFileBytes() int64 {
	if a.d.Files == nil {
		return 0
	}
	return a.d.Files.MaxBytes()
}

// MultipartSlack is what a multipart body may carry beyond the file: the
// boundaries, the part headers and small fields (the CSRF token).
const MultipartSlack = 64 << 10

// maxFilesListed bounds a record's file list.
const maxFilesListed = 200

// uploadTo answers POST /{object}/{id}/files (and /me/files): 202 with
// the file and its action, or the refusal.
func (a *API) uploadTo(object string, id recordOf) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a.AllowTransfer(w, a.MaxUploadBytes())
		up, e := a.Upload(r, object, id(r))
		if e != nil {
			a.fail(w, r, e)
			return
		}
		w.Header().Set("Location", "/api/v1/files/"+up.File.ID)
		a.rp.JSON(w, r, http.StatusAccepted, up)
	}
}

// Upload stores the file a request carries for a record of object the
// request's principal sees (WithScope), scans it, and submits the action
// that sends it to the source; the JSON API and the pages upload through
// it. The body is multipart/form-data with the file in the part named
// "file", or the raw file with its name in the query parameter
// "filename" and its type as the Content-Type. A refusal is a
// *reply.Error: 404 for a missing or foreign record, 403 for roles that may
// not attach files, 413, 415, 422 naming the field, 400 for an interrupted
// upload, 503 when files or the scanner are unavailable.
func (a *API) Upload(r *http.Request, object, id string) (*FileUpload, *reply.Error) {
	return a.UploadParts(r, nil, object, id)
}

// UploadParts is Upload for a multipart body whose reader the caller has
// already begun (the pages check the form's CSRF token in its first part):
// the file is found among the parts mr has left. A nil mr reads the
// request as Upload does.
func (a *API) UploadParts(r *http.Request, mr *multipart.Reader, object, id string) (*FileUpload, *reply.Error) {
	t, e := a.uploadTarget(r, object, id)
	if e != nil {
		return nil, e
	}
	body, e := a.uploadBody(r, mr)
	if e != nil {
		return nil, e
	}
	return a.attach(r, t, body)
}

// target is a record that the request's principal may attach files to.
type target struct {
	object      string
	parent, doc *mapping.Object
	rec         *Record
}

// uploadTarget checks that the request's principal may attach a file to
// the record: 503 when files are off, 404 for a missing or foreign
// record, 501 when the installation takes no files on the object, 403 for
// roles that may not attach.
func (a *API) uploadTarget(r *http.Request, object, id string) (*target, *reply.Error) {
	ctx := r.Context()
	if a.d.Files == nil || a.d.Actions == nil {
		return nil, &reply.Error{Status: http.StatusServiceUnavailable, Code: "files_unavailable", Message: "this server does not accept files"}
	}
	parent, _, ok := a.object(ctx, object)
	if !ok {
		return nil, notFoundError()
	}
	doc, ok := a.documents(parent)
	if !ok {
		return nil, &reply.Error{Status: http.StatusNotImplemented, Code: "not_offered", Message: "this installation does not accept files on a " + object}
	}
	rec, err := a.Record(ctx, object, id, false)
	if errors.Is(err, ErrNotFound) {
		return nil, notFoundError()
	}
	if err != nil {
		return nil, reply.InternalError(r, err)
	}
	if !a.CanAttach(ctx, object) {
		return nil, errForbidden("your role cannot attach files here")
	}
	return &target{object: object, parent: parent, doc: doc, rec: rec}, nil
}

// attach stores body for t, scans it, and submits the action that sends
// it to the source; the file goes with a refused action.
func (a *API) attach(r *http.Request, t *target, body *uploadBody) (*FileUpload, *reply.Error) {
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	f, err := a.d.Files.Store(ctx, files.Upload{
		TenantID: scopeFrom(ctx).TenantID, Connection: t.parent.Connection(), Object: t.object, RecordID: t.rec.ID,
		OwnerAccount: t.rec.AccountID, UploadedBy: strconvI(p.UserID), Name: body.name, DeclaredType: body.declared,
		DeclaredSize: body.size, Body: body.r,
	})
	return a.attached(r, t, f, err)
}

// attached submits the write-back of a file stored for t (Store's or
// Complete's outcome), or answers the refusal.
func (a *API) attached(r *http.Request, t *target, f *files.File, err error) (*FileUpload, *reply.Error) {
	ctx := r.Context()
	if err != nil {
		return nil, uploadRefusal(r, err)
	}
	act, e := a.attachFile(r, t.parent, t.rec, f)
	if e != nil {
		// The file goes with the refused action: nothing is left behind.
		if derr := a.d.Files.Delete(context.WithoutCancel(ctx), f.ID); derr != nil {
			a.d.Logger.ErrorContext(ctx, "api: deleting the file of a refused upload", "file", f.ID, "error", derr.Error())
		}
		return nil, e
	}
	f.ActionID, _ = strconv.ParseInt(act.ID, 10, 64)
	return &FileUpload{File: fileInfo(*f), Action: act}, nil
}

// attachFile submits the action that sends a stored file to the source as
// a document on rec (a record of parent), and names the action on the file.
func (a *API) attachFile(r *http.Request, parent *mapping.Object, rec *Record, f *files.File) (*Action, *reply.Error) {
	doc, ok := a.documents(parent)
	if !ok {
		return nil, &reply.Error{Status: http.StatusNotImplemented, Code: "not_offered", Message: "this installation does not accept files on a " + parent.Name()}
	}
	input := map[string]any{"file_name": f.Name, "related_id": rec.ID, "title": f.Name}
	if !doc.FieldWritable(mapping.OpCreate, "title") {
		delete(input, "title")
	}
	input["file_id"] = f.ID
	act, _, e := a.Submit(r, Submission{Object: "document", Op: mapping.OpCreate, Connection: parent.Connection(), ParentObject: parent.Name(), Input: input})
	if e != nil {
		return nil, e
	}
	actionID, _ := strconv.ParseInt(act.ID, 10, 64)
	if err := a.d.Files.SetAction(r.Context(), f.ID, actionID); err != nil {
		return nil, reply.InternalError(r, err)
	}
	return act, nil
}

// uploadBody is the file a request carries.
type uploadBody struct {
	r        io.Reader
	name     string
	declared string
	size     int64 // -1: unknown
}

// uploadBody finds the file in a request: the "file" part of a multipart
// form (small fields before it are skipped), or the raw body.
func (a *API) uploadBody(r *http.Request, mr *multipart.Reader) (*uploadBody, *reply.Error) {
	limit := a.d.Files.MaxBytes()
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mr != nil {
		return a.filePart(r, mr)
	}
	if ct != "multipart/form-data" {
		name := r.URL.Query().Get("filename")
		if r.ContentLength > limit {
			return nil, uploadRefusal(r, tooLarge(limit))
		}
		return &uploadBody{r: r.Body, name: name, declared: r.Header.Get("Content-Type"), size: r.ContentLength}, nil
	}
	if r.ContentLength > limit+MultipartSlack {
		return nil, uploadRefusal(r, tooLarge(limit))
	}
	if params["boundary"] == "" {
		return nil, reply.Invalid(reply.Field{Path: "header.Content-Type", Message: "multipart/form-data needs a boundary"})
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, reply.Invalid(reply.Field{Path: "header.Content-Type", Message: err.Error()})
	}
	return a.filePart(r, mr)
}

// filePart finds the part named "file" among mr's parts.
func (a *API) filePart(r *http.Request, mr *multipart.Reader) (*uploadBody, *reply.Error) {
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return nil, reply.Invalid(reply.Field{Path: "file", Message: "is required: send the file in a part named \"file\""})
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, uploadRefusal(r, &files.Refusal{Status: 400, Code: "incomplete", Field: "file", Message: "the upload was interrupted before the file was complete"})
		}
		if err != nil {
			return nil, &reply.Error{Status: http.StatusBadRequest, Code: "bad_multipart", Message: "the multipart body cannot be read: " + err.Error()}
		}
		if part.FormName() != "file" {
			continue // a form's other fields (its CSRF token), read past
		}
		// The name as sent: Part.FileName would strip a path and hide it.
		_, cd, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		return &uploadBody{r: part, name: cd["filename"], declared: part.Header.Get("Content-Type"), size: -1}, nil
	}
}

// refusalDetails are the values a refusal's message names.
func refusalDetails(rf *files.Refusal) map[string]string {
	d := map[string]string{}
	if rf.Limit > 0 {
		d["limit"] = strconv.FormatInt(rf.Limit, 10)
	}
	for k, v := range map[string]string{"declared": rf.Declared, "sniffed": rf.Sniffed, "signature": rf.Signature} {
		if v != "" {
			d[k] = v
		}
	}
	if len(d) == 0 {
		return nil
	}
	return d
}

func tooLarge(limit int64) *files.Refusal {
	return &files.Refusal{Status: http.StatusRequestEntityTooLarge, Code: "too_large", Field: "file", Limit: limit,
		Message: "the file is larger than the limit of " + strconv.FormatInt(limit>>20, 10) + " MB"}
}

// uploadRefusal turns a files error into the answer.
func uploadRefusal(r *http.Request, err error) *reply.Error {
	var rf *files.Refusal
	switch {
	case errors.As(err, &rf):
		// The refusal is the Cause, for the pages to say it in words, and
		// its values the Details, for a script to.
		return &reply.Error{Status: rf.Status, Code: rf.Code, Message: rf.Message, Fields: []reply.Field{{Path: rf.Field, Message: rf.Message}},
			Details: refusalDetails(rf), Cause: rf}
	case errors.Is(err, files.ErrScanUnavailable):
		return &reply.Error{Status: http.StatusServiceUnavailable, Code: "scan_unavailable", Message: "the malware scan is unavailable; nothing was stored, try again later", Cause: err}
	case r.Context().Err() != nil:
		return &reply.Error{Status: http.StatusBadRequest, Code: "incomplete", Message: "the upload was interrupted", Cause: err}
	}
	return reply.InternalError(r, err)
}

// MyAccount is the account whose files the request's principal keeps on
// their profile: their own account, the CRM record the portal account
// is; empty for staff, who have none.
func MyAccount(ctx context.Context) string {
	if p := auth.PrincipalFrom(ctx); p != nil {
		return p.AccountID
	}
	return ""
}

// recordOf is where a route finds the record: its {id}, or the
// principal's own account (/me/files).
type recordOf func(*http.Request) string

func urlID(r *http.Request) string { return chi.URLParam(r, "id") }

func myAccountOf(r *http.Request) string { return MyAccount(r.Context()) }

// filesOf answers GET /{object}/{id}/files (and /me/files).
func (a *API) filesOf(object string, id recordOf) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		list, err := a.Files(r.Context(), object, id(r))
		if errors.Is(err, ErrNotFound) {
			a.notFound(w, r)
			return
		}
		if err != nil {
			a.rp.Internal(w, r, err)
			return
		}
		a.rp.Get(w, r, map[string]any{"data": list})
	}
}

// Files lists the files uploaded to a record the request's principal sees
// (WithScope), newest first; ErrNotFound as Record. Roles that do not
// reach the record's documents see an empty list.
func (a *API) Files(ctx context.Context, object, id string) ([]FileInfo, error) {
	rec, err := a.Record(ctx, object, id, false)
	if err != nil {
		return nil, err
	}
	out := []FileInfo{}
	parent, _, _ := a.object(ctx, object)
	doc, ok := a.d.Mappings.For(parent.Connection(), "document")
	if a.d.Files == nil || !ok {
		return out, nil
	}
	if _, ok := scopeFrom(ctx).For(doc); !ok {
		return out, nil
	}
	list, err := a.d.Files.List(ctx, a.fileScope(ctx), parent.Connection(), object, rec.ID, maxFilesListed)
	if err != nil {
		return nil, err
	}
	local := map[string]bool{}
	for _, f := range list {
		out = append(out, fileInfo(f))
		if f.SourceID != "" {
			local[f.SourceID] = true
		}
	}
	synced, err := a.syncedDocuments(ctx, parent.Connection(), object, rec.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range synced {
		if !local[d.ID] { // an upload the source confirmed is listed once, as the upload
			out = append(out, d)
		}
	}
	return out, nil
}

// file reads a file the request's principal may download: its record is
// visible to them and its documents to their roles, and it is not
// quarantined. Anything else is ErrNotFound, a foreign id included.
func (a *API) file(ctx context.Context, id string) (*files.File, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 || a.d.Files == nil || strings.TrimSpace(id) != id {
		return nil, ErrNotFound
	}
	f, err := a.d.Files.Get(ctx, a.fileScope(ctx), n)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if !f.Servable() {
		return nil, ErrNotFound
	}
	doc, ok := a.d.Mappings.For(f.Connection, "document")
	if !ok {
		return nil, ErrNotFound
	}
	if _, ok := scopeFrom(ctx).For(doc); !ok {
		return nil, ErrNotFound
	}
	if _, err := a.Record(ctx, f.Object, f.RecordID, false); err != nil {
		return nil, err
	}
	return f, nil
}

// fileScope is the request's scope for reading file rows, whose
// row-level security shows a file with its record (migration 120): the
// records of ownerless portal objects are among those visible.
func (a *API) fileScope(ctx context.Context) store.Scope {
	s := scopeFrom(ctx).Store()
	s.PublicObjects = slices.Clone(s.PublicObjects) // the request's own stays as it is
	for _, o := range a.d.Mappings.Objects() {
		if o.Public() && !slices.Contains(s.PublicObjects, o.Name()) {
			s.PublicObjects = append(s.PublicObjects, o.Name())
		}
	}
	return s
}

// downloadPolicy is the CSP of a download: a file opened in place anyway
// runs nothing and is framed by nothing.
const downloadPolicy = "sandbox; default-src 'none'; frame-ancestors 'none'"

// download answers GET /files/{id}: the content streamed as an attachment
// with a safe name, Range requests served; a file the principal may not
// see answers as a missing one.
func (a *API) download(w http.ResponseWriter, r *http.Request) {
	f, err := a.file(r.Context(), chi.URLParam(r, "id"))
	if errors.Is(err, ErrNotFound) {
		a.notFound(w, r)
		return
	}
	if err != nil {
		a.rp.Internal(w, r, err)
		return
	}
	a.ServeFile(w, r, f)
}

// OpenFile returns a file the request's principal may download (WithScope),
// as download checks it; ErrNotFound otherwise. The pages serve their
// download links through it and ServeFile.
func (a *API) OpenFile(ctx context.Context, id string) (*files.File, error) { return a.file(ctx, id) }

// minTransferRate is the slowest client an upload or download is given
// time for: the server's read and write timeouts (seconds, made for JSON)
// would cut off a 25 MB file on a slow line.
const minTransferRate = 64 << 10 // bytes per second

// AllowTransfer extends the connection's read and write deadlines so that
// n bytes can move at minTransferRate, plus a minute for the rest.
func (a *API) AllowTransfer(w http.ResponseWriter, n int64) {
	rc := http.NewResponseController(w)
	until := time.Now().Add(time.Minute + time.Duration(n/minTransferRate)*time.Second)
	// Not every writer has deadlines (a recorder in a test): nothing to extend then.
	_ = rc.SetReadDeadline(until)
	_ = rc.SetWriteDeadline(until)
}

// ServeFile streams a file OpenFile returned.
func (a *API) ServeFile(w http.ResponseWriter, r *http.Request, f *files.File) {
	a.AllowTransfer(w, f.Size)
	content, err := a.d.Files.Open(r.Context(), *f)
	if err != nil {
		a.rp.Internal(w, r, err)
		return
	}
	if c, ok := content.(io.Closer); ok {
		defer c.Close() // stops a read-ahead a Range or a gone client left
	}
	h := w.Header()
	downloadHeaders(h, f.ContentType, f.Name)
	if len(f.SHA256) > 0 {
		h.Set("ETag", `"`+hex.EncodeToString(f.SHA256)+`"`)
	}
	http.ServeContent(w, r, "", f.CreatedAt, content)
}

// downloadHeaders are every download's: its type, an attachment with a
// safe name, nothing sniffed, nothing run, nothing cached for others.
func downloadHeaders(h http.Header, contentType, name string) {
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", attachment(name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", downloadPolicy)
	h.Set("Cache-Control", "private, no-cache")
}

// attachment is the Content-Disposition of a download: the stored name
// (checked at upload: no path, no control characters), quoted or, beyond
// ASCII, in RFC 2231's encoding; a name that cannot be said is left out.
func attachment(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	return "attachment"
}
