package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	xslog "golang.org/x/exp/slog"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
)

// UploadsPath is where resumable uploads (the tus protocol, 1.0.0 with
// the creation and termination extensions) are served.
const UploadsPath = "/api/v1/uploads/"

// Metadata keys of a resumable upload (the tus Upload-Metadata header):
// the record it is for and the file's name and declared type.
const (
	tusObject   = "object"
	tusRecord   = "record"
	tusFileName = "filename"
	tusFileType = "filetype"
)

// resumable serves /uploads: tusd behind the API's own authentication,
// CSRF check and scope (the router's middleware), with these checks of
// its own:
//   - creating an upload (POST): the record named in the metadata is one
//     the principal may attach files to (as a plain upload: 404, 403), the
//     announced length is within the cap (413), the name is a plain file
//     name (422), the file is not empty (422);
//   - continuing one (HEAD, PATCH, DELETE): only its creator may; anyone
//     else is told it does not exist (404);
//   - completing one (the last PATCH): the content goes through the same
//     checks and scan as a plain upload (files.Service.Complete) and
//     becomes a file with its write-back, or is refused with the reason as
//     JSON; either way the upload is deleted.
type resumable struct {
	a     *API
	store files.TusStore
	h     http.Handler
}

type tusRequestKey struct{}

func newResumable(a *API) (*resumable, error) {
	rs := &resumable{a: a, store: files.TusStore{Pool: a.d.Pool}}
	composer := tusd.NewStoreComposer()
	rs.store.UseIn(composer)
	h, err := tusd.NewHandler(tusd.Config{
		StoreComposer:             composer,
		BasePath:                  UploadsPath,
		MaxSize:                   0, // refused by the create hook, in the API's words
		DisableDownload:           true,
		DisableConcatenation:      true,
		Cors:                      &tusd.CorsConfig{Disable: true}, // the API's CORS applies
		Logger:                    xslog.New(xslog.NewTextHandler(io.Discard, nil)),
		PreUploadCreateCallback:   rs.create,
		PreFinishResponseCallback: rs.finish,
	})
	if err != nil {
		return nil, err
	}
	rs.h = http.StripPrefix(strings.TrimSuffix(UploadsPath, "/"), h)
	return rs, nil
}

// ServeHTTP checks that an existing upload is the principal's, then hands
// the request to tusd with the request kept for the hooks.
func (rs *resumable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if rs.a.d.Files == nil || rs.a.d.Actions == nil {
		rs.a.rp.Error(w, r, http.StatusServiceUnavailable, "files_unavailable", "this server does not accept files")
		return
	}
	if r.Method == http.MethodPost && r.Header.Get("Upload-Defer-Length") != "" {
		rs.a.rp.Invalid(w, r, errDeferred)
		return
	}
	if id := chi.URLParam(r, "upload"); id != "" {
		tenant, user, err := rs.store.Owner(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound), err == nil && (tenant != scopeFrom(ctx).TenantID || user != auth.PrincipalFrom(ctx).UserID):
			rs.a.notFound(w, r) // the same answer as for any foreign id
			return
		case err != nil:
			rs.a.rp.Internal(w, r, err)
			return
		}
		if r.Method == http.MethodPatch {
			rs.a.AllowTransfer(w, rs.a.d.Files.MaxBytes())
		}
	}
	rs.h.ServeHTTP(w, r.WithContext(context.WithValue(ctx, tusRequestKey{}, r)))
}

// errDeferred refuses an upload of unknown length (tus's
// creation-defer-length, which the store does not offer).
var errDeferred = reply.Field{Path: "header.Upload-Length", Message: "is required: the length must be known when the upload begins"}

// request is the HTTP request a hook runs for, with the hook's context.
func request(hook tusd.HookEvent) *http.Request {
	r, _ := hook.Context.Value(tusRequestKey{}).(*http.Request)
	return r.WithContext(hook.Context)
}

// create is tusd's pre-create hook.
func (rs *resumable) create(hook tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	r := request(hook)
	info := hook.Upload
	meta := info.MetaData
	if meta[tusObject] == "" || meta[tusRecord] == "" {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusError(reply.Invalid(
			reply.Field{Path: "header.Upload-Metadata", Message: "must name the record: object and record"}))
	}
	t, e := rs.a.uploadTarget(r, meta[tusObject], meta[tusRecord])
	if e != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusError(e)
	}
	if info.SizeIsDeferred {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusError(reply.Invalid(errDeferred))
	}
	if rf := rs.a.d.Files.Precheck(info.Size, meta[tusFileName]); rf != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusError(uploadRefusal(r, rf))
	}
	storage := map[string]string{
		files.TusTenant:     strconv.FormatInt(scopeFrom(r.Context()).TenantID, 10),
		files.TusUser:       strconv.FormatInt(auth.PrincipalFrom(r.Context()).UserID, 10),
		files.TusConnection: t.parent.Connection(),
		files.TusObject:     t.object,
		files.TusRecord:     t.rec.ID,
		files.TusOwner:      t.rec.AccountID,
	}
	return tusd.HTTPResponse{}, tusd.FileInfoChanges{Storage: storage}, nil
}

// finish is tusd's pre-finish hook: the complete upload becomes a file in
// place (its content is not written again) and its write-back, or is
// refused; the upload is gone either way.
func (rs *resumable) finish(hook tusd.HookEvent) (tusd.HTTPResponse, error) {
	r := request(hook)
	ctx := r.Context()
	up, err := rs.store.GetUpload(ctx, hook.Upload.ID)
	if err != nil {
		return tusd.HTTPResponse{}, err
	}
	defer func() {
		if err := rs.store.AsTerminatableUpload(up).Terminate(context.WithoutCancel(ctx)); err != nil {
			rs.a.d.Logger.ErrorContext(ctx, "api: deleting a finished resumable upload", "upload", hook.Upload.ID, "error", err.Error())
		}
	}()
	meta := hook.Upload.MetaData
	t, e := rs.a.uploadTarget(r, meta[tusObject], meta[tusRecord])
	if e != nil {
		return tusd.HTTPResponse{}, tusError(e)
	}
	f, err := rs.a.d.Files.Complete(ctx, hook.Upload.ID, meta[tusFileType])
	res, e := rs.a.attached(r, t, f, err)
	if e != nil {
		rs.a.rp.Log(r, e)
		return tusd.HTTPResponse{}, tusError(e)
	}
	b, err := json.Marshal(res)
	if err != nil {
		return tusd.HTTPResponse{}, err
	}
	return tusd.HTTPResponse{StatusCode: http.StatusOK, Body: string(b), Header: tusd.HTTPHeader{
		"Content-Type": "application/json", "Cache-Control": "no-store", "Content-Location": "/api/v1/files/" + res.File.ID,
	}}, nil
}

// tusError is e as tusd answers it: the API's JSON error shape.
func tusError(e *reply.Error) tusd.Error {
	return tusd.Error{ErrorCode: e.Code, Message: e.Message, HTTPResponse: tusd.HTTPResponse{
		StatusCode: e.Status, Body: string(reply.Body(e)) + "\n",
		Header: tusd.HTTPHeader{"Content-Type": "application/json", "Cache-Control": "no-store"},
	}}
}
