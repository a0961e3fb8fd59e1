// Package connectors defines the contract every source-system connector
// implements, the classified errors callers branch on, and the registry
// that cmd/portico wires explicitly. It knows no vendor: those live in one
// sub-package each (salesforce, accounting, inventory). The shared HTTP
// client with retries, breaker and quota lives in connectors/httpclient.
package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// Connector knows one external API.
type Connector interface {
	// Objects describes what the connector can sync.
	Objects(ctx context.Context) ([]ObjectInfo, error)
	// Pull returns one page of changes to object since cursor. An empty
	// Cursor means from the beginning. Page.Next is empty when the caller
	// has caught up; otherwise the caller passes it back as PullRequest.Page.
	//
	// The pull contract, which every connector keeps and the conformance
	// suite checks: a pull never misses a change, and may repeat one.
	// Sources stamp records with a modification time that is neither
	// unique (many records share a second) nor monotonic in visibility (a
	// record can become visible to queries after later-stamped ones). So
	// Page.Cursor is the largest stamp seen, and the next pull asks from
	// Cursor minus an overlap window (per connector, configurable). Records
	// inside the window arrive again; callers dedupe by (ID, Version) and
	// must treat a repeat as a no-op. Cursor only ever moves forward, and
	// only once the caller has stored every page of the pull.
	Pull(ctx context.Context, req PullRequest) (*Page, error)
	// Get fetches one record by its source id.
	Get(ctx context.Context, object, id string) (*Record, error)
	// Write applies one create, update or delete.
	Write(ctx context.Context, w Write) (*WriteResult, error)
}

// ObjectInfo describes one syncable object.
type ObjectInfo struct {
	Name        string `json:"name"`         // vendor name: "Case", "Invoice", "order"
	Key         string `json:"key"`          // id field: "Id"
	CursorField string `json:"cursor_field"` // "SystemModstamp", "MetaData.LastUpdatedTime", "updated_at"
	Deletes     bool   `json:"deletes"`      // the source reports deletions
	Webhooks    bool   `json:"webhooks"`     // the source can push change notices
	Writable    bool   `json:"writable"`
}

// PullRequest asks for one page of changes.
type PullRequest struct {
	Object string
	// Cursor is the high-water mark from the previous run (opaque to the
	// caller, usually an RFC 3339 time); empty means a full pull.
	Cursor string
	// Page continues a pull in progress; empty for the first page.
	Page string
	// Limit is a hint for the page size; 0 means the connector's default.
	Limit int
}

// Page is one page of changes.
type Page struct {
	Records []Record `json:"records"`
	// Deleted lists the ids deleted since the cursor, where the source
	// reports them.
	Deleted []Deletion `json:"deleted,omitempty"`
	// Next continues this pull; empty on the last page.
	Next string `json:"next,omitempty"`
	// Cursor is the new high-water mark once every page up to here is
	// stored: the largest modification stamp seen.
	Cursor string `json:"cursor"`
}

// Record is one source record with the fields the sync needs pulled out.
type Record struct {
	Object   string    `json:"object"`
	ID       string    `json:"id"`
	Version  string    `json:"version"` // SystemModstamp, SyncToken, version
	Modified time.Time `json:"modified"`
	// Raw is the vendor's JSON, as received. It may share memory with
	// the rest of its page: read it, copy it to keep it, never modify it.
	Raw json.RawMessage `json:"raw"`
}

// Deletion is one deleted source id.
type Deletion struct {
	ID        string    `json:"id"`
	DeletedAt time.Time `json:"deleted_at"`
}

// Op is a write operation.
type Op string

const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
)

// Write is one change to apply to the source.
type Write struct {
	Op     Op
	Object string
	// ID is the source id for update and delete.
	ID string
	// Fields are vendor field names and values.
	Fields map[string]any
	// IdempotencyKey makes a retried write apply once: Salesforce
	// external-id upsert, QuickBooks requestid, Square idempotency_key.
	IdempotencyKey string
	// ExpectedVersion, where the source supports it, makes a write against
	// a changed record fail with a ConflictError.
	ExpectedVersion string
	// File, on a create of a file object (ContentVersion, Attachable), is
	// the content to upload: streamed, never held whole in memory.
	File *File
}

// File is content a write uploads. Open returns it from its start; a
// retried request opens (or seeks) it again. A reader that is also an
// io.Closer (the file store's, which reads ahead on a connection of its
// own) is closed by the connector when the write is done with it.
type File struct {
	Name        string
	ContentType string
	Size        int64
	Open        func(ctx context.Context) (io.ReadSeeker, error)
}

// WriteResult is the source's answer to a write.
type WriteResult struct {
	ID      string  `json:"id"`
	Version string  `json:"version"`
	Created bool    `json:"created"`
	Record  *Record `json:"record,omitempty"` // the authoritative record, when returned
}

// FileReader is implemented by connectors that read a synced file's
// content from the source on demand, for downloads the cache has only
// the metadata of.
type FileReader interface {
	// ReadFile opens the content of the file record id of the source
	// object (a ContentVersion's VersionData, an Attachable's download);
	// the caller closes it. Errors are classified as every call's.
	ReadFile(ctx context.Context, object, id string) (io.ReadCloser, error)
}

// Content is what a FileReader may return: the content as it streams
// from the source, with the length the source announced (-1: unknown),
// which a download then trusts over the synced metadata's.
type Content struct {
	io.ReadCloser
	Length int64
}

// WebhookVerifier is implemented by connectors whose source pushes change
// notices. It checks the request's signature against the connection's
// webhook secret and returns the changed records' objects and ids. A bad
// or missing signature is ErrAuthExpired-free: it returns ErrInvalidSignature.
type WebhookVerifier interface {
	VerifyWebhook(ctx context.Context, req WebhookRequest) ([]Change, error)
}

// WebhookRequest is one inbound notice. URL is the public URL the source
// posted to: Square-style signatures cover it. Secret is the secret segment
// of the endpoint path (/hooks/{connection}/{secret}), for sources that
// cannot sign their notices (Salesforce outbound messages); empty when the
// path had none.
type WebhookRequest struct {
	URL    string
	Header map[string][]string
	Body   []byte
	Secret string
}

// WebhookAcker is implemented by connectors whose source expects a
// particular answer to a notice it delivered (Salesforce retries an
// outbound message for a day unless it gets its SOAP acknowledgement). It
// answers accepted notices and dropped replays alike, with status 200.
type WebhookAcker interface {
	WebhookAck() (contentType string, body []byte)
}

// ErrInvalidSignature means a webhook's signature did not verify.
var ErrInvalidSignature = errors.New("webhook signature does not verify")

// Change is one record named by a webhook. Event identifies the source's
// event that named it (Square event_id; for QuickBooks, which gives none,
// the realm, entity, operation and modification time): a notice whose
// events were all seen within the replay window is dropped. Empty means
// the source gives nothing to tell a replay by.
type Change struct {
	Object string `json:"object"`
	ID     string `json:"id"`
	Event  string `json:"event,omitempty"`
}

// SetupChecker is implemented by connectors that can check a connection's
// setup beyond what a pull shows, against the source's own schema: the
// mapped fields the source lacks, and what idempotent writes rely on.
// `portico connectors check` prints every note; a SetupFail note fails the
// check.
type SetupChecker interface {
	CheckSetup(ctx context.Context) ([]SetupNote, error)
}

// SetupNote is one finding of CheckSetup.
type SetupNote struct {
	Object string     `json:"object"`
	Level  SetupLevel `json:"level"`
	Msg    string     `json:"msg"`
}

// SetupLevel grades a SetupNote.
type SetupLevel string

const (
	SetupOK   SetupLevel = "ok"   // as it should be
	SetupWarn SetupLevel = "warn" // works, in a weaker way the note explains
	SetupFail SetupLevel = "fail" // does not work until fixed
)

// ChangeProber is implemented by connectors whose source can say in one
// call whether several objects changed since their cursors (Salesforce
// Composite counts up to 25 sub-requests as one call). The syncer asks it
// while objects are idle, and pulls only those that changed.
type ChangeProber interface {
	// ProbeChanges answers each probe in order. A sub-request the source
	// refused is an Err of its own, classified like a Pull's error, and
	// never reads as "unchanged"; an error of the whole call is returned.
	ProbeChanges(ctx context.Context, probes []Probe) ([]ProbeResult, error)
}

// Probe asks whether an object changed since its last pull: a record
// modified after Cursor (a Pull cursor), or one deleted since Since (when
// the last successful pull started).
type Probe struct {
	Object string
	Cursor string
	Since  time.Time
}

// ProbeResult is one probe's answer.
type ProbeResult struct {
	Object  string
	Changed bool
	Err     error
}

// ErasureRequester is implemented by connectors whose source accepts a
// request to erase a person's record (GDPR Art. 17): the source owns the
// record, so Portico asks rather than deletes. RequestErasure names the
// record by its vendor object and id and returns the source's reference
// for the request. Without it, an erasure leaves staff a task instead
// (internal/privacy).
type ErasureRequester interface {
	RequestErasure(ctx context.Context, object, id string) (string, error)
}
