package files

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/store"
)

// States of a file.
const (
	StateClean       = "clean"
	StateUnscanned   = "unscanned" // no scanner configured
	StateQuarantined = "quarantined"
)

// DefaultMaxBytes is the upload cap when none is configured: 25 MB.
const DefaultMaxBytes = 25 << 20

// DefaultTypes are the content types an object accepts when the
// configuration names none for it: documents, images and plain text.
var DefaultTypes = []string{
	"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp", "text/plain", "text/csv",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

// DB is where files are written: a pool.
type DB interface {
	store.DBTX
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Options are the service's dependencies and limits.
type Options struct {
	Pool  DB
	Blobs Blobs // nil: PGBlobs on Pool
	// Scanner scans every upload; nil turns scanning off (files are kept
	// as unscanned).
	Scanner  Scanner
	MaxBytes int64 // 0: DefaultMaxBytes
	// Types are the content types accepted per portal object (case,
	// invoice); an object not listed accepts DefaultTypes.
	Types  map[string][]string
	Logger *slog.Logger
}

// Service stores, scans and reads files.
type Service struct{ opts Options }

// New builds a Service.
func New(opts Options) *Service {
	if opts.Blobs == nil {
		opts.Blobs = PGBlobs{DB: opts.Pool}
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{opts: opts}
}

// MaxBytes is the upload cap.
func (s *Service) MaxBytes() int64 { return s.opts.MaxBytes }

// Scanning reports whether uploads are scanned.
func (s *Service) Scanning() bool { return s.opts.Scanner != nil }

// File is a stored file's metadata.
type File struct {
	ID           int64
	TenantID     int64
	Key          string
	Connection   string
	Object       string // the parent record's portal object
	RecordID     string // the parent record's source id
	OwnerAccount string
	UploadedBy   string
	Name         string
	ContentType  string
	Size         int64
	SHA256       []byte
	State        string
	ScanResult   string
	ActionID     int64
	SourceID     string
	SyncedAt     *time.Time
	CreatedAt    time.Time
}

func toFile(r store.File) File {
	f := File{
		ID: r.ID, TenantID: r.TenantID, Key: r.StorageKey, Connection: r.Connection, Object: r.Object,
		RecordID: r.RecordID, OwnerAccount: r.OwnerAccount, UploadedBy: r.UploadedBy, Name: r.FileName,
		ContentType: r.ContentType, Size: r.Size, SHA256: r.Sha256, State: r.State, ScanResult: r.ScanResult.String,
		ActionID: r.ActionID.Int64, SourceID: r.SourceID.String, CreatedAt: r.CreatedAt.Time,
	}
	if r.SyncedAt.Valid {
		t := r.SyncedAt.Time
		f.SyncedAt = &t
	}
	return f
}

// Servable reports whether the file may be downloaded: never a
// quarantined one.
func (f File) Servable() bool { return f.State == StateClean || f.State == StateUnscanned }

// Upload is one file as it arrives.
type Upload struct {
	TenantID     int64
	Connection   string
	Object       string // the parent record's portal object
	RecordID     string
	OwnerAccount string
	UploadedBy   string
	Name         string
	// DeclaredType is the type the client declared (the part's or the
	// request's Content-Type); empty or application/octet-stream declares
	// nothing.
	DeclaredType string
	// DeclaredSize is the length the client announced, -1 when unknown.
	DeclaredSize int64
	Body         io.Reader
	// Signed marks the sealed PDF of a signature (its notice is
	// file_signed, not file_ready).
	Signed bool
}

// Refusal is an upload refused by a check: the HTTP status it answers,
// the field it names and the reason in words. Code tells the reasons apart
// (too_large, type_mismatch, type_not_allowed, bad_name, empty, infected,
// incomplete).
type Refusal struct {
	Status  int
	Code    string
	Field   string
	Message string
	// Limit, Declared, Sniffed, Signature: the values the message names.
	Limit     int64
	Declared  string
	Sniffed   string
	Signature string
	// File is the quarantined file of an infected upload.
	File *File
}

func (r *Refusal) Error() string { return "files: " + r.Field + ": " + r.Message }

// Store checks an upload and stores it with its scan, in this order: the
// size cap, the declared type against the sniffed content and then the
// object's allow-list, the file name, zero bytes, then the content under a
// generated key while the scanner reads it. A refused upload is a
// *Refusal and stores nothing, except an infected one, which is kept as
// quarantined (the Refusal's File). ErrScanUnavailable stores nothing.
func (s *Service) Store(ctx context.Context, u Upload) (*File, error) {
	if u.DeclaredSize > s.opts.MaxBytes {
		return nil, s.tooLarge()
	}
	head := make([]byte, 3072) // mimetype's read limit
	n, err := io.ReadFull(u.Body, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, incomplete(err)
	}
	head = head[:n]
	sniffed := baseType(mimetype.Detect(head).String())
	if n > 0 {
		if r := s.checkType(u.Object, u.DeclaredType, head, sniffed); r != nil {
			return nil, r
		}
	}
	if msg := checkName(u.Name); msg != "" {
		return nil, &Refusal{Status: 422, Code: "bad_name", Field: "file_name", Message: msg}
	}
	if n == 0 {
		return nil, &Refusal{Status: 422, Code: "empty", Field: "file", Message: "the file is empty (0 bytes)"}
	}
	var out, begun *File
	err = pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		var err error
		out, err = s.store(ctx, tx, u, sniffed, io.MultiReader(bytes.NewReader(head), u.Body), &begun)
		return err
	})
	return out, s.outcome(ctx, err, nil, begun)
}

// Complete finishes a resumable upload whose last byte arrived (TusStore):
// its pending file's chunks, already stored, get Store's checks in Store's
// order (the size cap, the declared type against the sniffed content and
// the object's allow-list, the file name, zero bytes) and the scan, read
// back from PostgreSQL; the SHA-256 was taken as the parts arrived. The
// content is not written again: the pending file becomes clean,
// unscanned or quarantined in place, in one transaction with the upload's
// removal, or a refused one is deleted with its content (a *Refusal, as
// from Store). With another blob store (S3) the chunks are copied there
// while they are scanned, and then deleted. ErrScanUnavailable and other
// errors change nothing: the upload stays until it is terminated.
func (s *Service) Complete(ctx context.Context, uploadID, declaredType string) (*File, error) {
	var out, begun *File
	var refused *Refusal
	err := pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		up, err := store.FileUploadLock(ctx, tx, uploadID)
		if err != nil {
			return fmt.Errorf("files: completing upload %s: %w", uploadID, err)
		}
		row, err := store.FileByID(ctx, tx, up.FileID)
		if err != nil {
			return fmt.Errorf("files: completing upload %s: %w", uploadID, err)
		}
		f := toFile(row)
		sniffed, r, err := s.checkStored(ctx, tx, f, up, declaredType)
		switch {
		case err != nil:
			return err
		case r != nil:
			refused = r
			return store.FileDelete(ctx, tx, f.ID) // the upload and the chunks go with it
		}
		f.Size = up.Offset
		content := &chunkReader{ctx: ctx, db: s.opts.Pool, id: f.ID, size: f.Size, cur: -1}
		defer content.Close()
		var sig string
		if _, inPlace := s.opts.Blobs.(PGBlobs); inPlace {
			sig, err = s.scan(ctx, content)
		} else {
			begun = &f
			_, sig, err = s.write(ctx, tx, f, content)
			if err == nil {
				err = store.FileChunkDeleteAll(ctx, tx, f.ID)
			}
		}
		if err != nil {
			return err
		}
		h, err := resumeHash(up.HashState)
		if err != nil {
			return fmt.Errorf("files: completing upload %s: %w", uploadID, err)
		}
		done, err := s.stored(ctx, tx, f, f.Size, h.Sum(nil), sniffed, sig)
		if err != nil {
			return err
		}
		if err := store.FileUploadDelete(ctx, tx, uploadID); err != nil {
			return fmt.Errorf("files: %w", err)
		}
		if done.State == StateQuarantined {
			return s.quarantined(ctx, tx, done)
		}
		out = done
		return nil
	})
	return out, s.outcome(ctx, err, refused, begun)
}

// checkStored runs Store's checks on a complete upload's stored content:
// the sniffed type, or a refusal.
func (s *Service) checkStored(ctx context.Context, tx pgx.Tx, f File, up store.FileUpload, declared string) (string, *Refusal, error) {
	if up.Offset != up.Size {
		return "", incomplete(fmt.Errorf("%d of %d bytes arrived", up.Offset, up.Size)), nil
	}
	if up.Offset > s.opts.MaxBytes {
		return "", s.tooLarge(), nil
	}
	var head []byte
	if up.Offset > 0 {
		first, err := store.FileChunkGet(ctx, tx, store.FileChunkGetParams{FileID: f.ID, N: 0})
		if err != nil {
			return "", nil, fmt.Errorf("files: reading upload of file %d: %w", f.ID, err)
		}
		head = first[:min(len(first), 3072)] // mimetype's read limit
	}
	sniffed := baseType(mimetype.Detect(head).String())
	if len(head) > 0 {
		if r := s.checkType(f.Object, declared, head, sniffed); r != nil {
			return "", r, nil
		}
	}
	if msg := checkName(f.Name); msg != "" {
		return "", &Refusal{Status: 422, Code: "bad_name", Field: "file_name", Message: msg}, nil
	}
	if len(head) == 0 {
		return "", &Refusal{Status: 422, Code: "empty", Field: "file", Message: "the file is empty (0 bytes)"}, nil
	}
	return sniffed, nil, nil
}

// outcome is what Store and Complete return for their transaction's
// error: a refusal decided inside it (committed), the content of a file
// not kept removed from a blob store outside PostgreSQL, and a quarantine
// logged.
func (s *Service) outcome(ctx context.Context, err error, refused *Refusal, begun *File) error {
	if err == nil && refused != nil {
		return refused
	}
	var refusal *Refusal
	if err != nil && begun != nil && !(errors.As(err, &refusal) && refusal.File != nil) {
		s.removeBlob(ctx, *begun) // the row is gone with the transaction; its content goes too
	}
	if errors.As(err, &refusal) && refusal.File != nil {
		s.opts.Logger.WarnContext(ctx, "upload quarantined", slog.Int64("tenant_id", refusal.File.TenantID), slog.Int64("file", refusal.File.ID),
			slog.String("object", refusal.File.Object), slog.String("signature", refusal.Signature))
	}
	return err
}

// Precheck refuses, before any content arrives, what an announced upload
// already fails: a size over the cap, a zero-byte file, and a name that is
// not a plain file name. A resumable upload is checked so at its creation
// and again, in full, by Store when it is complete.
func (s *Service) Precheck(size int64, name string) *Refusal {
	if size > s.opts.MaxBytes {
		return s.tooLarge()
	}
	if msg := checkName(name); msg != "" {
		return &Refusal{Status: 422, Code: "bad_name", Field: "file_name", Message: msg}
	}
	if size == 0 {
		return &Refusal{Status: 422, Code: "empty", Field: "file", Message: "the file is empty (0 bytes)"}
	}
	return nil
}

func (s *Service) tooLarge() *Refusal {
	return &Refusal{Status: 413, Code: "too_large", Field: "file", Limit: s.opts.MaxBytes,
		Message: "the file is larger than the limit of " + formatBytes(s.opts.MaxBytes)}
}

// checkType compares the declared type with the sniffed one, then the
// sniffed one with the object's allow-list.
func (s *Service) checkType(object, declared string, head []byte, sniffed string) *Refusal {
	declared = baseType(declared)
	if declared != "" && declared != "application/octet-stream" && !related(mimetype.Detect(head), declared) {
		return &Refusal{Status: 415, Code: "type_mismatch", Field: "file", Declared: declared, Sniffed: sniffed,
			Message: "the file was declared as " + declared + " but its content is " + sniffed}
	}
	allowed := s.opts.Types[object]
	if allowed == nil {
		allowed = DefaultTypes
	}
	if !slices.Contains(allowed, sniffed) {
		if declared == "" {
			declared = "application/octet-stream"
		}
		return &Refusal{Status: 415, Code: "type_not_allowed", Field: "file", Declared: declared, Sniffed: sniffed,
			Message: "files of type " + sniffed + " (declared as " + declared + ") cannot be attached to a " + object}
	}
	return nil
}

// related reports whether a declared type names the sniffed one, one of
// its aliases or a type it refines or is refined by (text/plain for
// text/csv, application/zip for a .docx), but not an unrelated one.
func related(m *mimetype.MIME, declared string) bool {
	for p := m; p != nil; p = p.Parent() {
		if p.Is(declared) {
			return true
		}
	}
	if d := mimetype.Lookup(declared); d != nil {
		for p := d.Parent(); p != nil; p = p.Parent() {
			if m.Is(p.String()) && baseType(p.String()) != "application/octet-stream" {
				return true
			}
		}
	}
	return false
}

func baseType(t string) string {
	t, _, _ = strings.Cut(t, ";")
	return strings.ToLower(strings.TrimSpace(t))
}

// checkName refuses what is not a plain file name: path separators,
// control characters, "." and "..", invalid UTF-8, more than 255 bytes.
func checkName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "a file name is required"
	case len(name) > 255:
		return "must be at most 255 bytes"
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case strings.ContainsAny(name, `/\`):
		return "must not contain a path separator (/ or \\)"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "must not contain control characters"
	case name == "." || name == "..":
		return "must be a file name"
	}
	return ""
}

func origin(signed bool) string {
	if signed {
		return "signed"
	}
	return "upload"
}

// store writes the file row and content in tx while the scanner reads the
// same bytes, and records the outcome.
func (s *Service) store(ctx context.Context, tx pgx.Tx, u Upload, sniffed string, body io.Reader, begun **File) (*File, error) {
	row, err := store.FileInsert(ctx, tx, store.FileInsertParams{
		TenantID: u.TenantID, StorageKey: newKey(), Connection: u.Connection, Object: u.Object, RecordID: u.RecordID,
		OwnerAccount: u.OwnerAccount, UploadedBy: u.UploadedBy, FileName: u.Name, ContentType: sniffed, Origin: origin(u.Signed),
	})
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	f := toFile(row)
	*begun = &f
	h := sha256.New()
	capped := &capReader{r: body, left: s.opts.MaxBytes}
	ahead := newHashAhead(capped, h)
	size, sig, err := s.write(ctx, tx, f, ahead)
	ahead.Close() // capped and h are ours again
	switch {
	case capped.over:
		return nil, s.tooLarge()
	case capped.err != nil:
		return nil, incomplete(capped.err)
	case err != nil:
		return nil, err
	}
	done, err := s.stored(ctx, tx, f, size, h.Sum(nil), sniffed, sig)
	if err != nil {
		return nil, err
	}
	if done.State == StateQuarantined {
		// Commit the quarantine (tx commits on a nil error), refuse after.
		return nil, s.quarantined(ctx, tx, done)
	}
	return done, nil
}

// stored records a file's outcome: its size, hash, sniffed type, and the
// scan's verdict (sig, empty for clean) or unscanned without a scanner.
func (s *Service) stored(ctx context.Context, tx pgx.Tx, f File, size int64, sum []byte, sniffed, sig string) (*File, error) {
	state, result := StateClean, pgtype.Text{}
	switch {
	case s.opts.Scanner == nil:
		state = StateUnscanned
	case sig != "":
		state, result = StateQuarantined, pgtype.Text{String: sig, Valid: true}
	}
	row, err := store.FileStored(ctx, tx, store.FileStoredParams{ID: f.ID, Size: size, Sha256: sum, ContentType: sniffed, State: state, ScanResult: result})
	if err != nil {
		return nil, fmt.Errorf("files: %w", err)
	}
	done := toFile(row)
	return &done, nil
}

// scan reads content to its end through the scanner (none: no verdict).
func (s *Service) scan(ctx context.Context, content io.Reader) (string, error) {
	if s.opts.Scanner == nil {
		return "", nil
	}
	return s.opts.Scanner.Scan(ctx, content)
}

// quarantined commits tx and returns the refusal that names the finding.
func (s *Service) quarantined(ctx context.Context, tx pgx.Tx, f *File) error {
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("files: %w", err)
	}
	return &Refusal{Status: 422, Code: "infected", Field: "file", Signature: f.ScanResult, File: f,
		Message: "the file contains malware (" + f.ScanResult + ") and was quarantined; it was not attached"}
}

// write streams body into the blob store and, when scanning is on, into
// the scanner at the same time through a pipe: the upload is read once.
func (s *Service) write(ctx context.Context, tx pgx.Tx, f File, body io.Reader) (int64, string, error) {
	if s.opts.Scanner == nil {
		n, err := s.opts.Blobs.Write(ctx, tx, f, body)
		return n, "", err
	}
	pr, pw := io.Pipe()
	type result struct {
		sig string
		err error
	}
	done := make(chan result, 1)
	go func() {
		sig, err := s.opts.Scanner.Scan(ctx, pr)
		if err == nil {
			_, _ = io.Copy(io.Discard, pr) // a verdict before the end: keep the store going
		}
		pr.CloseWithError(errOr(err, io.ErrClosedPipe))
		done <- result{sig, err}
	}()
	n, werr := s.opts.Blobs.Write(ctx, tx, f, io.TeeReader(body, pw))
	pw.CloseWithError(werr) // nil: the scanner sees the end
	res := <-done
	switch {
	case werr != nil && res.err != nil && errors.Is(res.err, ErrScanUnavailable):
		return n, "", res.err
	case werr != nil:
		return n, "", werr
	case res.err != nil:
		return n, "", res.err
	}
	return n, res.sig, nil
}

func errOr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

func incomplete(err error) *Refusal {
	return &Refusal{Status: 400, Code: "incomplete", Field: "file", Message: "the upload was interrupted before the file was complete: " + err.Error()}
}

// capReader fails once more than left bytes have been read, and keeps
// the upload's own read error (a client gone mid-way) apart from the
// store's and the scanner's.
type capReader struct {
	r    io.Reader
	left int64
	over bool
	err  error
}

var errTooLarge = errors.New("files: over the size limit")

func (c *capReader) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && c.err == nil {
		c.err = err
	}
	c.left -= int64(n)
	if c.left < 0 {
		c.over = true
		return 0, errTooLarge
	}
	return n, err
}

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func formatBytes(n int64) string {
	if n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// Get returns a file the scope may read; store.ErrNotFound when there is
// none. A customer's scope reads as portico_api, whose row-level security
// shows a file only with its record (migration 120): a second wall under
// the caller's own check. A staff scope reads the tenant's files.
func (s *Service) Get(ctx context.Context, scope store.Scope, id int64) (*File, error) {
	var f File
	err := s.read(ctx, scope, func(db store.DBTX) error {
		row, err := store.FileGet(ctx, db, store.FileGetParams{TenantID: scope.TenantID, ID: id})
		f = toFile(row)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// List returns a record's files the scope may read, newest first.
func (s *Service) List(ctx context.Context, scope store.Scope, connection, object, recordID string, limit int) ([]File, error) {
	var out []File
	err := s.read(ctx, scope, func(db store.DBTX) error {
		rows, err := store.FileListByRecord(ctx, db, store.FileListByRecordParams{
			TenantID: scope.TenantID, Connection: connection, Object: object, RecordID: recordID, MaxRows: int32(limit),
		})
		out = make([]File, len(rows))
		for i, r := range rows {
			out[i] = toFile(r)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("files: listing: %w", err)
	}
	return out, nil
}

// read runs fn under the scope: in a transaction as portico_api with the
// scope's settings, or on the pool for staff.
func (s *Service) read(ctx context.Context, scope store.Scope, fn func(store.DBTX) error) error {
	if scope.Staff {
		return fn(s.opts.Pool)
	}
	return pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		if err := store.ApplyScope(ctx, tx, scope); err != nil {
			return err
		}
		return fn(tx)
	})
}

// Open returns a servable file's content for reading and seeking.
func (s *Service) Open(ctx context.Context, f File) (io.ReadSeeker, error) {
	if !f.Servable() {
		return nil, store.ErrNotFound
	}
	return s.opts.Blobs.Open(ctx, f)
}

// SetAction records the write-back that sends the file to its source.
func (s *Service) SetAction(ctx context.Context, fileID, actionID int64) error {
	return store.FileSetAction(ctx, s.opts.Pool, store.FileSetActionParams{ID: fileID, ActionID: pgtype.Int8{Int64: actionID, Valid: true}})
}

// Delete removes a file and its content.
func (s *Service) Delete(ctx context.Context, id int64) error {
	if _, ok := s.opts.Blobs.(Remover); !ok {
		return store.FileDelete(ctx, s.opts.Pool, id)
	}
	row, err := store.FileByID(ctx, s.opts.Pool, id)
	if err != nil {
		return err
	}
	if err := store.FileDelete(ctx, s.opts.Pool, id); err != nil {
		return err
	}
	s.removeBlob(ctx, toFile(row))
	return nil
}

// removeBlob removes a file's content kept outside PostgreSQL (Remover);
// a failure is logged: the object is orphaned, not the row.
func (s *Service) removeBlob(ctx context.Context, f File) {
	r, ok := s.opts.Blobs.(Remover)
	if !ok {
		return
	}
	if err := r.Remove(context.WithoutCancel(ctx), f); err != nil {
		s.opts.Logger.ErrorContext(ctx, "files: removing the content of a file not kept", slog.Int64("file", f.ID), slog.String("error", err.Error()))
	}
}

// ForAction returns a file as a write-back sends it to the source, and
// whether it may be sent (never a quarantined file); store.ErrNotFound for
// none of the tenant's.
func (s *Service) ForAction(ctx context.Context, tenantID, fileID int64) (*connectors.File, bool, error) {
	f, err := s.Get(ctx, store.Scope{TenantID: tenantID, Staff: true}, fileID) // the worker, as the owner
	if err != nil {
		return nil, false, err
	}
	return &connectors.File{Name: f.Name, ContentType: f.ContentType, Size: f.Size, Open: func(ctx context.Context) (io.ReadSeeker, error) {
		return s.Open(ctx, *f)
	}}, f.Servable(), nil
}
