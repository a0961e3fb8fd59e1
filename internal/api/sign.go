package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/tidwall/gjson"
	"golang.org/x/text/language"

	"github.com/porticohq/portico/internal/approval"
	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/documents"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/seal"
	"github.com/porticohq/portico/internal/textcheck"
)

// ApprovalDocument is a request's PDF as a signer is shown it.
type ApprovalDocument struct {
	Record   *Record
	PDF      []byte
	SHA256   string    // hex
	Name     string    // the file name offered for download
	SyncedAt time.Time // the time it prints its data as of (Document)
}

// SignInput is the body of POST /approvals/{id}/sign: the name the signer
// types, their consent to the statement of ConsentVersion, and the hash
// of the PDF they were shown with the time it says its data is as of.
type SignInput struct {
	SignerName     string `json:"signer_name"`
	Consent        bool   `json:"consent"`
	ConsentVersion string `json:"consent_version"`
	DocumentSHA256 string `json:"document_sha256"`
	// DocumentSyncedAt is the X-Document-Synced-At of the PDF shown (RFC
	// 3339). Without it the hash must match the PDF as of the record's
	// last read, which a poll in between moves on.
	DocumentSyncedAt string `json:"document_synced_at"`
	Locale           string `json:"locale"` // the consent's language: en or de (default en)
}

// Signed is the answer to a signature: the sealed PDF as stored, the
// decision's action and the signature's id.
type Signed struct {
	File        FileInfo `json:"file"`
	Action      *Action  `json:"action"`
	FileAction  *Action  `json:"file_action"`
	SignatureID string   `json:"signature_id"`
}

// maxSignerName bounds the typed name.
const maxSignerName = 200

// Signs reports whether approving requests of object is signing them:
// the mapping says sign: true and this installation can render and seal.
func (a *API) Signs(object string) bool {
	obj, ok := a.d.Mappings.Object(object)
	return ok && obj.Sign() && a.d.Sealer != nil && a.d.Approvals != nil && a.d.Files != nil
}

// MayDecide reports whether the request's principal may decide requests
// of object (the mapping's decide roles).
func (a *API) MayDecide(ctx context.Context, object string) bool {
	obj, scope, ok := a.object(ctx, object)
	return ok && (scope.Staff || obj.MayDecide(scope.Roles))
}

// ApprovalPDF renders a request the principal sees (WithScope) in lang,
// as the signer is shown it (Document: the same request, brand and
// language give the same bytes); ErrNotFound as Approval.
func (a *API) ApprovalPDF(ctx context.Context, id string, lang language.Tag) (*ApprovalDocument, error) {
	return a.approvalPDF(ctx, id, lang, time.Time{})
}

// approvalPDF renders the request as ApprovalPDF does, as of asOf when
// that is set and the content has not changed since (documentAsOf).
func (a *API) approvalPDF(ctx context.Context, id string, lang language.Tag, asOf time.Time) (*ApprovalDocument, error) {
	doc, err := a.documentAsOf(ctx, documents.Quote, id, lang, asOf)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(doc.Body)
	return &ApprovalDocument{Record: &doc.Record, PDF: doc.Body, SHA256: hex.EncodeToString(sum[:]), Name: doc.Name, SyncedAt: doc.SyncedAt}, nil
}

// approvalRequest names a request for the approval service.
func (a *API) approvalRequest(ctx context.Context, rec *Record) approval.Request {
	obj, _, _ := a.object(ctx, "approval_request")
	conn := ""
	if obj != nil {
		conn = obj.Connection()
	}
	return approval.Request{TenantID: scopeFrom(ctx).TenantID, Connection: conn, Object: rec.Object, RecordID: rec.ID, AccountID: rec.AccountID}
}

func approvalSource(rec *Record) approval.Source {
	src := approval.Source{Status: rec.Status, Visible: true}
	if t, ok := dateOf(*rec, "expires_on"); ok {
		src.ExpiresOn = t
	}
	return src
}

// ApprovalStatus is where a request stands for the customer. State is
// awaiting (a decision is theirs to take), sent (their decision is on its
// way to the source), approved, rejected, signed (approved by their
// signature: SignedDocument is the sealed PDF), expired or withdrawn (by
// staff at the source). Step is the approval state machine's own state
// (requested, viewed, approved, rejected, expired, withdrawn).
type ApprovalStatus struct {
	State string `json:"state"`
	Step  string `json:"step"`
	// Pending: the decision is not confirmed by the source yet.
	Pending        bool            `json:"pending"`
	ViewedAt       *time.Time      `json:"viewed_at"`
	DecidedAt      *time.Time      `json:"decided_at"`
	SignedDocument *SignedDocument `json:"signed_document"`
}

// SignedDocument is the sealed PDF of a signed request, a file of the
// request that everyone who sees it may download.
type SignedDocument struct {
	FileID   string    `json:"file_id"`
	URL      string    `json:"url"`
	SignedAt time.Time `json:"signed_at"`
}

// approvalStatus reads where a request stands: the stored state brought
// in line with the cached record (as Observe would, without recording
// it), the decision on its way, and the latest signature.
func (a *API) approvalStatus(ctx context.Context, rec *Record) (ApprovalStatus, error) {
	// Without the state machine nothing enforces an expiry (decidable),
	// so none is reported: the source's status alone says where it is.
	src := approvalSource(rec)
	src.ExpiresOn = time.Time{}
	st := approval.Status{State: src.Settle("", a.d.Now())}
	var sig *approval.SignedFile
	if a.d.Approvals != nil {
		req := a.approvalRequest(ctx, rec)
		var err error
		if st, err = a.d.Approvals.Current(ctx, req, approvalSource(rec)); err != nil {
			return ApprovalStatus{}, err
		}
		if sig, err = a.d.Approvals.LastSignature(ctx, req); err != nil {
			return ApprovalStatus{}, err
		}
	}
	step := st.State
	out := ApprovalStatus{Step: string(step), Pending: rec.Freshness.PendingAction != nil, ViewedAt: st.ViewedAt, DecidedAt: st.DecidedAt}
	switch {
	case step == approval.Expired || step == approval.Withdrawn:
		out.State, out.Pending = string(step), false
	case sig != nil && (step == approval.Approved || out.Pending):
		out.State = "signed"
		out.SignedDocument = &SignedDocument{FileID: strconvI(sig.FileID), URL: "/api/v1/files/" + strconvI(sig.FileID), SignedAt: sig.SignedAt.UTC()}
	case out.Pending:
		out.State = "sent"
	case step == approval.Approved || step == approval.Rejected:
		out.State = string(step)
	default:
		out.State = "awaiting"
	}
	return out, nil
}

// ViewApproval records that the request's principal opened a request
// (the viewed state), after bringing its state in line with the source;
// staff opening it changes nothing of the customer's. It returns the state.
func (a *API) ViewApproval(r *http.Request, rec *Record) (approval.State, error) {
	if a.d.Approvals == nil {
		return "", nil
	}
	p := auth.PrincipalFrom(r.Context())
	ev := approval.EventView
	if p == nil || p.Staff {
		ev = ""
	}
	st, err := a.d.Approvals.Observe(r.Context(), a.approvalRequest(r.Context(), rec), approvalSource(rec), actorOrSystem(p), r, ev)
	return st.State, err
}

// decided records a customer's decision in the request's state machine
// once its write-back is accepted.
func (a *API) decided(r *http.Request, rec *Record, status string) {
	if a.d.Approvals == nil {
		return
	}
	ev := approval.EventApprove
	if status == "rejected" {
		ev = approval.EventReject
	}
	p := auth.PrincipalFrom(r.Context())
	// The decision was taken on a pending request: the record read after
	// it already shows the decision on its way.
	src := approvalSource(rec)
	src.Status = "pending"
	if _, err := a.d.Approvals.Observe(r.Context(), a.approvalRequest(r.Context(), rec), src, actorOrSystem(p), r, ev); err != nil {
		a.d.Logger.ErrorContext(r.Context(), "api: recording a decision's state", "record", rec.ID, "error", err.Error())
	}
}

// decidable refuses a decision the state machine does not take now
// (expired, withdrawn, decided): 409 naming the state.
func (a *API) decidable(r *http.Request, rec *Record) *reply.Error {
	if a.d.Approvals == nil {
		return nil
	}
	st, err := a.d.Approvals.Observe(r.Context(), a.approvalRequest(r.Context(), rec), approvalSource(rec), audit.SystemActor(), nil, "")
	if err != nil {
		return reply.InternalError(r, err)
	}
	if !approval.Decidable(st.State) {
		return &reply.Error{Status: http.StatusConflict, Code: "not_pending", Message: "this request is " + string(st.State) + " and cannot be decided"}
	}
	return nil
}

// actorOrSystem is the audit actor of p, the system when there is none.
func actorOrSystem(p *auth.Principal) audit.Actor {
	if p == nil {
		return audit.SystemActor()
	}
	return actorOf(p)
}

// Sign approves a request by signing it: the request's principal, in a
// signed-in browser session and with a role the mapping lets decide,
// typed their name, consented to the current statement and saw the PDF
// whose hash they send. The evidence is recorded, the completion
// certificate appended and the whole sealed; the sealed PDF is stored as
// a file of the request and sent to the source as a document on it, and
// the approval is written back. Bad input is a 422 naming the field and
// stores nothing; a changed document or consent statement is a 409.
func (a *API) Sign(r *http.Request, id string, in SignInput) (*Signed, *reply.Error) {
	ctx := r.Context()
	// A foreign or missing request is 404 whatever else holds.
	if _, err := a.Record(ctx, "approval_request", id, false); errors.Is(err, ErrNotFound) {
		return nil, notFoundError()
	} else if err != nil {
		return nil, reply.InternalError(r, err)
	}
	if !a.Signs("approval_request") {
		return nil, &reply.Error{Status: http.StatusNotImplemented, Code: "not_offered", Message: "this installation does not sign approvals"}
	}
	p := auth.PrincipalFrom(ctx)
	method, authAt, ok := a.d.Auth.SignIn(ctx)
	if !ok || p.Staff {
		return nil, errForbidden("signing needs a customer signed in with a browser session")
	}
	if in.Locale != "" && in.Locale != "en" && in.Locale != "de" {
		return nil, reply.Invalid(reply.Field{Path: "locale", Message: "must be en or de"})
	}
	locale := in.Locale
	if locale == "" {
		locale = "en"
	}
	var asOf time.Time
	var bad []reply.Field
	if in.DocumentSyncedAt != "" {
		t, err := time.Parse(time.RFC3339Nano, in.DocumentSyncedAt)
		if err != nil {
			bad = append(bad, reply.Field{Path: "document_synced_at", Message: "must be the X-Document-Synced-At of the document you were shown (RFC 3339)"})
		}
		asOf = t
	}
	doc, err := a.approvalPDF(ctx, id, documents.Language(locale), asOf)
	if errors.Is(err, ErrNotFound) {
		return nil, notFoundError()
	}
	if err != nil {
		return nil, reply.InternalError(r, err)
	}
	rec := doc.Record
	if !a.MayDecide(ctx, "approval_request") {
		return nil, errForbidden("your role cannot decide this request")
	}
	name := strings.Join(strings.Fields(in.SignerName), " ")
	consent := approval.CurrentConsent()
	switch {
	case name == "":
		bad = append(bad, reply.Field{Path: "signer_name", Message: "is required: type your full name"})
	case utf8.RuneCountInString(name) > maxSignerName || !textcheck.Valid(name):
		bad = append(bad, reply.Field{Path: "signer_name", Message: "must be text of at most " + strconv.Itoa(maxSignerName) + " characters"})
	}
	if !in.Consent {
		bad = append(bad, reply.Field{Path: "consent", Message: "is required: tick the statement to sign"})
	}
	if in.ConsentVersion == "" {
		bad = append(bad, reply.Field{Path: "consent_version", Message: "is required"})
	}
	if len(in.DocumentSHA256) != 64 {
		bad = append(bad, reply.Field{Path: "document_sha256", Message: "must be the 64 hex digits of the SHA-256 of the document you were shown"})
	}
	if len(bad) > 0 {
		return nil, reply.Invalid(bad...)
	}
	switch {
	case in.ConsentVersion != consent.Version:
		return nil, &reply.Error{Status: http.StatusConflict, Code: "consent_changed", Message: "the consent statement has changed since you read it (now version " + consent.Version + "); read it again"}
	case !strings.EqualFold(in.DocumentSHA256, doc.SHA256):
		return nil, &reply.Error{Status: http.StatusConflict, Code: "document_changed", Message: "the document has changed since you opened it; review it again"}
	case rec.Status != "pending" || rec.Freshness.PendingAction != nil:
		return nil, &reply.Error{Status: http.StatusConflict, Code: "not_pending", Message: "this request is not awaiting a decision"}
	}
	if e := a.decidable(r, rec); e != nil {
		return nil, e
	}
	text, locale, _ := approval.ConsentText(consent.Version, locale)
	now := a.d.Now().UTC()
	ev := seal.Evidence{Object: rec.Object, RecordID: rec.ID, DocumentName: str(*rec, "name"),
		DocumentSHA256: doc.SHA256, DocumentLength: int64(len(doc.PDF)),
		SignerUserID: strconvI(p.UserID), SignerEmail: p.Email, SignerName: name,
		AuthMethod: method, AuthenticatedAt: authAt, SignedAt: now,
		IP: hostOf(r.RemoteAddr), UserAgent: truncateRunes(r.UserAgent(), 512),
		ConsentVersion: consent.Version, ConsentLocale: locale, ConsentText: text, Decision: "approved"}
	sealed, err := seal.Seal(doc.PDF, ev, approval.CertificatePage(ev), a.d.Sealer)
	if err != nil {
		return nil, reply.InternalError(r, err)
	}
	return a.keepSigned(r, rec, doc, ev, sealed)
}

// keepSigned stores the sealed PDF, writes the approval and the document
// back, and records the signature. The file is stored first and deleted
// again when the decision is refused, so a refusal leaves nothing.
func (a *API) keepSigned(r *http.Request, rec *Record, doc *ApprovalDocument, ev seal.Evidence, sealed []byte) (*Signed, *reply.Error) {
	ctx := r.Context()
	p := auth.PrincipalFrom(ctx)
	parent, _, _ := a.object(ctx, "approval_request")
	f, err := a.d.Files.Store(ctx, files.Upload{
		TenantID: scopeFrom(ctx).TenantID, Connection: parent.Connection(), Object: rec.Object, RecordID: rec.ID,
		OwnerAccount: rec.AccountID, UploadedBy: strconvI(p.UserID), Name: strings.TrimSuffix(doc.Name, ".pdf") + " (signed).pdf",
		DeclaredType: "application/pdf", DeclaredSize: int64(len(sealed)), Body: bytes.NewReader(sealed), Signed: true,
	})
	if err != nil {
		return nil, uploadRefusal(r, err)
	}
	drop := func() {
		if derr := a.d.Files.Delete(context.WithoutCancel(ctx), f.ID); derr != nil {
			a.d.Logger.ErrorContext(ctx, "api: deleting the sealed file of a refused signature", "file", f.ID, "error", derr.Error())
		}
	}
	act, _, e := a.Submit(r, Submission{Object: "approval_request", Op: mapping.OpUpdate, RecordID: rec.ID,
		Input: map[string]any{"status": "accepted"}})
	if e != nil {
		drop()
		return nil, e
	}
	out := &Signed{Action: act}
	// The sealed PDF goes to the source as a document on the request,
	// where the mapping and the user's roles allow; it is kept and
	// downloadable here either way.
	if fileAct, e := a.attachFile(r, parent, rec, f); e != nil {
		a.d.Logger.WarnContext(ctx, "api: the signed document is kept but not sent to the source", "record", rec.ID, "error", e.Message)
	} else {
		out.FileAction = fileAct
	}
	sealedSum := sha256.Sum256(sealed)
	docSum, _ := hex.DecodeString(doc.SHA256)
	sid, err := a.d.Approvals.RecordSignature(ctx, approval.Signature{Request: a.approvalRequest(ctx, rec), FileID: f.ID,
		SignerUserID: ev.SignerUserID, DocumentSHA256: docSum, SealedSHA256: sealedSum[:], ConsentVersion: ev.ConsentVersion,
		SignedAt: ev.SignedAt, Evidence: ev}, actorOf(p), r)
	if err != nil {
		return nil, reply.InternalError(r, err)
	}
	out.SignatureID = strconvI(sid)
	if stored, err := a.d.Files.Get(ctx, a.fileScope(ctx), f.ID); err == nil {
		f = stored
	}
	out.File = fileInfo(*f)
	return out, nil
}

// str is a record's text field.
func str(rec Record, field string) string { return gjson.GetBytes(rec.Fields, field).String() }

// dateOf is a record's date field (YYYY-MM-DD, or a timestamp).
func dateOf(rec Record, field string) (time.Time, bool) {
	v := gjson.GetBytes(rec.Fields, field).String()
	if len(v) < 10 {
		return time.Time{}, false
	}
	t, err := time.Parse("2006-01-02", v[:10])
	return t, err == nil
}

func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// signHandler answers POST /approvals/{id}/sign: 202 with the sealed file
// and the decision's action.
func (ap approvals) sign(w http.ResponseWriter, r *http.Request) {
	var in SignInput
	if !ap.a.decode(w, r, &in) {
		return
	}
	out, e := ap.a.Sign(r, chi.URLParam(r, "id"), in)
	if e != nil {
		ap.a.fail(w, r, e)
		return
	}
	w.Header().Set("Location", "/api/v1/files/"+out.File.ID)
	ap.a.rp.JSON(w, r, http.StatusAccepted, out)
}
