package connectors_test

// This file follows connectors/README.md ("Writing a connector") from start
// to finish for a made-up notes service: the connector, a tiny simulator of
// its API, its registration and the conformance suite. It edits no other
// file, which is the point: a new connector is one package, one mapping
// file and one registration line.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/builtin"
	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/connectors/wire"
)

// --- Step 1: the connector (vendor-specific code only). ---

// notes is the connector for the notes service.
type notes struct {
	conn connectors.Connection
	wire *wire.Caller
	now  func() time.Time

	mu    sync.Mutex
	token string
}

func newNotes(deps connectors.Deps) (connectors.Connector, error) {
	return newNotesAt(deps, time.Now)
}

func newNotesAt(deps connectors.Deps, now func() time.Time) (connectors.Connector, error) {
	if deps.HTTP == nil || deps.Connection.BaseURL == "" {
		return nil, errors.New("notes: an HTTP client and base_url are required")
	}
	c := &notes{conn: deps.Connection, now: now}
	c.wire = &wire.Caller{Name: "notes", HTTP: deps.HTTP, Token: c.bearer, Renew: c.renew,
		URL: func(path string) (string, error) { return strings.TrimRight(c.conn.BaseURL, "/") + path, nil }}
	return c, nil
}

func (c *notes) bearer(ctx context.Context) (string, error) {
	c.mu.Lock()
	tok := c.token
	c.mu.Unlock()
	if tok != "" {
		return tok, nil
	}
	return c.renew(ctx, "")
}

// renew exchanges the refresh token for an access token, unless another
// call already replaced stale.
func (c *notes) renew(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.token != stale {
		return c.token, nil
	}
	form := url.Values{"refresh_token": {c.conn.RefreshToken}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.conn.BaseURL+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", connectors.Classify(connectors.ErrPermanent, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Refresh tokens do not rotate here, so asking twice is harmless; and
	// authentication may spend the share of the quota kept for writes.
	resp, err := c.wire.HTTP.Do(httpclient.Write(httpclient.Idempotent(req)))
	if err != nil {
		return "", fmt.Errorf("notes: token: %w", err)
	}
	body, _ := httpclient.ReadAll(resp)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("notes: token: %w", connectors.Classify(connectors.ErrAuthExpired, fmt.Errorf("HTTP %d", resp.StatusCode)))
	}
	c.token = tr.AccessToken
	return c.token, nil
}

// call sends k and classifies the answer.
func (c *notes) call(ctx context.Context, k wire.Call) ([]byte, error) {
	resp, body, err := c.wire.Do(ctx, k)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 300 {
		return body, nil
	}
	wait, _ := httpclient.RetryAfter(resp.Header)
	err = connectors.FromStatus(resp.StatusCode, wait, strings.TrimSpace(string(body)))
	var ce *connectors.ConflictError
	if errors.As(err, &ce) {
		var cur struct {
			Version string `json:"current_version"`
		}
		_ = json.Unmarshal(body, &cur)
		ce.CurrentVersion = cur.Version
	}
	return nil, c.wire.Errorf(k, err)
}

type note struct {
	ID       string    `json:"id"`
	Version  string    `json:"version"`
	Modified time.Time `json:"modified"`
}

func toRecord(raw json.RawMessage) (connectors.Record, error) {
	var n note
	if err := json.Unmarshal(raw, &n); err != nil || n.ID == "" {
		return connectors.Record{}, connectors.Classify(connectors.ErrUnavailable, errors.New("notes: bad note"))
	}
	return connectors.Record{Object: "note", ID: n.ID, Version: n.Version, Modified: n.Modified, Raw: raw}, nil
}

func (c *notes) Objects(context.Context) ([]connectors.ObjectInfo, error) {
	return []connectors.ObjectInfo{{Name: "note", Key: "id", CursorField: "modified", Deletes: true, Webhooks: true, Writable: true}}, nil
}

// pageToken keysets the pull by (modified, id): records sharing a stamp
// never straddle pages, and an edit moves a record ahead, never behind.
type pageToken struct {
	Since   time.Time `json:"s,omitzero"`
	AfterAt time.Time `json:"a,omitzero"`
	AfterID string    `json:"i,omitempty"`
	Max     time.Time `json:"m,omitzero"`
}

// overlap catches records that become visible after later-stamped ones.
const overlap = 5 * time.Minute

func (c *notes) Pull(ctx context.Context, req connectors.PullRequest) (*connectors.Page, error) {
	if req.Object != "note" {
		return nil, &connectors.InvalidError{Field: "object", Msg: "unknown object " + req.Object}
	}
	var tok pageToken
	if req.Cursor != "" {
		cur, err := time.Parse(time.RFC3339Nano, req.Cursor)
		if err != nil {
			return nil, &connectors.InvalidError{Field: "cursor", Msg: err.Error()}
		}
		tok = pageToken{Since: cur.Add(-overlap), Max: cur}
	}
	if req.Page != "" {
		var err error
		if tok, err = wire.DecodeToken[pageToken](req.Page); err != nil {
			return nil, err
		}
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 100
	}
	q := url.Values{"limit": {fmt.Sprint(limit)}}
	if !tok.Since.IsZero() {
		q.Set("since", tok.Since.Format(time.RFC3339Nano))
	}
	if tok.AfterID != "" {
		q.Set("after_at", tok.AfterAt.Format(time.RFC3339Nano))
		q.Set("after_id", tok.AfterID)
	}
	body, err := c.call(ctx, wire.Call{Method: http.MethodGet, Path: "/notes", Query: q})
	if err != nil {
		return nil, err
	}
	var ans struct {
		Notes []json.RawMessage `json:"notes"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, connectors.Classify(connectors.ErrUnavailable, err)
	}
	page := &connectors.Page{}
	for _, raw := range ans.Notes {
		rec, err := toRecord(raw)
		if err != nil {
			return nil, err
		}
		page.Records = append(page.Records, rec)
		tok.AfterAt, tok.AfterID = rec.Modified, rec.ID
		if rec.Modified.After(tok.Max) {
			tok.Max = rec.Modified
		}
	}
	if req.Page == "" && req.Cursor != "" {
		if page.Deleted, err = c.deleted(ctx, tok.Since); err != nil {
			return nil, err
		}
	}
	if len(ans.Notes) == limit {
		page.Next = wire.EncodeToken(tok)
	}
	page.Cursor = req.Cursor
	if !tok.Max.IsZero() {
		page.Cursor = tok.Max.Format(time.RFC3339Nano)
	}
	return page, nil
}

func (c *notes) deleted(ctx context.Context, since time.Time) ([]connectors.Deletion, error) {
	body, err := c.call(ctx, wire.Call{Method: http.MethodGet, Path: "/deleted", Query: url.Values{"since": {since.Format(time.RFC3339Nano)}}})
	if err != nil {
		return nil, err
	}
	var ans struct {
		Deleted []connectors.Deletion `json:"deleted"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, connectors.Classify(connectors.ErrUnavailable, err)
	}
	return ans.Deleted, nil
}

func (c *notes) Get(ctx context.Context, object, id string) (*connectors.Record, error) {
	body, err := c.call(ctx, wire.Call{Method: http.MethodGet, Path: "/notes/" + url.PathEscape(id)})
	if err != nil {
		return nil, err
	}
	rec, err := toRecord(body)
	return &rec, err
}

func (c *notes) Write(ctx context.Context, w connectors.Write) (*connectors.WriteResult, error) {
	k := wire.Call{Method: http.MethodPost, Path: "/notes", Body: w.Fields, Write: true,
		Header: http.Header{"Idempotency-Key": {w.IdempotencyKey}}, Idempotent: w.IdempotencyKey != ""}
	switch w.Op {
	case connectors.OpCreate:
	case connectors.OpUpdate:
		k.Method, k.Path = http.MethodPatch, "/notes/"+url.PathEscape(w.ID)
		k.Header.Set("If-Match", w.ExpectedVersion)
	case connectors.OpDelete:
		k.Method, k.Path, k.Body = http.MethodDelete, "/notes/"+url.PathEscape(w.ID), nil
	default:
		return nil, &connectors.InvalidError{Field: "op", Msg: "unknown operation"}
	}
	body, err := c.call(ctx, k)
	if err != nil || w.Op == connectors.OpDelete {
		return &connectors.WriteResult{ID: w.ID}, err
	}
	rec, err := toRecord(body)
	if err != nil {
		return nil, err
	}
	return &connectors.WriteResult{ID: rec.ID, Version: rec.Version, Created: w.Op == connectors.OpCreate, Record: &rec}, nil
}

// VerifyWebhook checks X-Signature = base64(HMAC-SHA256(secret, body)).
func (c *notes) VerifyWebhook(_ context.Context, req connectors.WebhookRequest) ([]connectors.Change, error) {
	if c.conn.WebhookSecret == "" || !wire.ValidHMAC(c.conn.WebhookSecret, "", req.Body, http.Header(req.Header).Get("X-Signature")) {
		return nil, connectors.ErrInvalidSignature
	}
	var n struct{ ID, Event string }
	if err := json.Unmarshal(req.Body, &n); err != nil {
		return nil, fmt.Errorf("notes: webhook body: %w", err)
	}
	return []connectors.Change{{Object: "note", ID: n.ID, Event: n.Event}}, nil
}

// --- Step 2: a tiny simulator of the notes API, as a conntest.Source. ---

type simNote struct {
	note
	Text    string    `json:"text"`
	visible time.Time // when queries start to see it
	deleted time.Time
}

type notesSource struct {
	o conntest.SourceOptions

	mu       sync.Mutex
	notes    map[string]*simNote
	seeds    []string
	keys     map[string]string // idempotency key -> note id
	keyUses  map[string]int
	calls    []call
	tokens   map[string]time.Time // access token -> expiry
	throttle time.Duration
	outage   bool
	seq      int
}

type call struct {
	path   string
	status int
}

const notesRefresh, notesSecret = "refresh-notes", "notes-webhook-secret"

func startNotes(_ *testing.T, o conntest.SourceOptions) conntest.Source {
	s := &notesSource{o: o, notes: map[string]*simNote{}, keys: map[string]string{}, keyUses: map[string]int{}, tokens: map[string]time.Time{}}
	for i := range 60 {
		id := s.add(conntest.Start.Add(-time.Duration(60-i)*time.Minute), time.Time{})
		s.seeds = append(s.seeds, id)
	}
	return s
}

func (s *notesSource) add(stamp, visible time.Time) string {
	s.seq++
	n := &simNote{note: note{ID: fmt.Sprintf("N%04d", s.seq), Version: "1", Modified: stamp.UTC()}, visible: visible}
	s.notes[n.ID] = n
	return n.ID
}

func (s *notesSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	status, body, hdr := s.serve(r)
	s.calls = append(s.calls, call{r.URL.Path, status})
	s.mu.Unlock()
	for k, v := range hdr {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// serve answers one request; the caller holds s.mu.
func (s *notesSource) serve(r *http.Request) (int, any, http.Header) {
	now := s.o.Now()
	switch {
	case s.outage:
		return http.StatusServiceUnavailable, "down", nil
	case s.throttle > 0:
		return http.StatusTooManyRequests, "slow down", http.Header{"Retry-After": {fmt.Sprint(int(s.throttle.Seconds()))}}
	case r.URL.Path == "/token":
		if r.PostFormValue("refresh_token") != notesRefresh {
			return http.StatusBadRequest, "invalid_grant", nil
		}
		s.seq++
		tok := fmt.Sprintf("access-%d", s.seq)
		s.tokens[tok] = now.Add(s.o.TokenTTL)
		return http.StatusOK, map[string]any{"access_token": tok}, nil
	}
	if exp, ok := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]; !ok || !now.Before(exp) {
		return http.StatusUnauthorized, "expired", nil
	}
	id := strings.TrimPrefix(r.URL.Path, "/notes/")
	n, found := s.notes[id]
	found = found && n.deleted.IsZero()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/notes":
		return http.StatusOK, map[string]any{"notes": s.query(r.URL.Query(), now)}, nil
	case r.Method == http.MethodGet && r.URL.Path == "/deleted":
		since, _ := time.Parse(time.RFC3339Nano, r.URL.Query().Get("since"))
		var out []connectors.Deletion
		for _, n := range s.notes {
			if !n.deleted.IsZero() && !n.deleted.Before(since) {
				out = append(out, connectors.Deletion{ID: n.ID, DeletedAt: n.deleted})
			}
		}
		return http.StatusOK, map[string]any{"deleted": out}, nil
	case r.Method == http.MethodPost && r.URL.Path == "/notes":
		key := r.Header.Get("Idempotency-Key")
		s.keyUses[key]++
		if prior, ok := s.keys[key]; ok && key != "" {
			return http.StatusOK, s.notes[prior], nil
		}
		n := s.notes[s.add(now, now.Add(s.o.VisibilityLag))]
		_ = json.NewDecoder(r.Body).Decode(n)
		s.keys[key] = n.ID
		return http.StatusCreated, n, nil
	case !found:
		return http.StatusNotFound, "no such note", nil
	case r.Method == http.MethodGet:
		return http.StatusOK, n, nil
	case r.Method == http.MethodPatch:
		s.keyUses[r.Header.Get("Idempotency-Key")]++
		if v := r.Header.Get("If-Match"); v != "" && v != n.Version {
			return http.StatusConflict, map[string]any{"current_version": n.Version}, nil
		}
		var f struct{ Text string }
		_ = json.NewDecoder(r.Body).Decode(&f)
		s.edit(n, f.Text, now)
		return http.StatusOK, n, nil
	case r.Method == http.MethodDelete:
		n.deleted = now
		return http.StatusNoContent, nil, nil
	}
	return http.StatusMethodNotAllowed, "no", nil
}

// query is the keyset page: visible notes with modified >= since and
// (modified, id) > (after_at, after_id), in that order.
func (s *notesSource) query(q url.Values, now time.Time) []*simNote {
	since, _ := time.Parse(time.RFC3339Nano, q.Get("since"))
	afterAt, _ := time.Parse(time.RFC3339Nano, q.Get("after_at"))
	afterID := q.Get("after_id")
	var out []*simNote
	for _, n := range s.notes {
		after := n.Modified.After(afterAt) || n.Modified.Equal(afterAt) && n.ID > afterID
		if n.deleted.IsZero() && !now.Before(n.visible) && !n.Modified.Before(since) && (afterID == "" || after) {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b *simNote) int {
		if c := a.Modified.Compare(b.Modified); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	var limit int
	_, _ = fmt.Sscan(q.Get("limit"), &limit)
	return out[:min(len(out), limit)]
}

// edit changes a note as staff or a write would, and sends the webhook.
func (s *notesSource) edit(n *simNote, text string, now time.Time) {
	v := 0
	_, _ = fmt.Sscan(n.Version, &v)
	n.Text, n.Version, n.Modified, n.visible = text, fmt.Sprint(v+1), now.UTC(), now.Add(s.o.VisibilityLag)
	if s.o.WebhookURL == "" {
		return
	}
	body, _ := json.Marshal(map[string]string{"id": n.ID, "event": n.ID + "/" + n.Version})
	m := hmac.New(sha256.New, []byte(notesSecret))
	m.Write(body)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, s.o.WebhookURL, strings.NewReader(string(body)))
		req.Header.Set("X-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}

func (s *notesSource) SeedIDs(string) []string { return s.seeds }

func (s *notesSource) Live(string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, x := range s.notes {
		if x.deleted.IsZero() {
			n++
		}
	}
	return n
}

func (s *notesSource) Create(_ string, fields map[string]any, stamp time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	if stamp.IsZero() {
		stamp = now
	}
	id := s.add(stamp, now.Add(s.o.VisibilityLag))
	s.notes[id].Text, _ = fields["text"].(string)
	return id, nil
}

func (s *notesSource) Edit(_, id string, fields map[string]any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	text, _ := fields["text"].(string)
	s.edit(s.notes[id], text, s.o.Now())
	return nil
}

func (s *notesSource) Delete(_, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes[id].deleted = s.o.Now()
	return nil
}

func (s *notesSource) Calls(endpoint string, status int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if strings.Contains(c.path, endpoint) && (status == 0 || c.status == status) {
			n++
		}
	}
	return n
}

func (s *notesSource) Throttled() int { return s.Calls("", http.StatusTooManyRequests) }

func (s *notesSource) KeyUses(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.keyUses {
		if strings.Contains(k, key) {
			n += c
		}
	}
	return n
}

func (s *notesSource) Throttle(d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = d
	return nil
}

func (s *notesSource) Outage(on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = on
	return nil
}

// --- Step 3: register it (one line in connectors/builtin for a real one). ---

func TestGuideConnectorRegisters(t *testing.T) {
	t.Parallel()
	reg := builtin.Registry()
	reg.MustRegister("notes", newNotes)
	require.Contains(t, reg.Types(), "notes", "config validation is given reg.Types()")
	c, err := reg.New("notes", connectors.Deps{Connection: connectors.Connection{Name: "n", BaseURL: "http://127.0.0.1:1"}, HTTP: http.DefaultClient})
	require.NoError(t, err)
	require.Implements(t, (*connectors.WebhookVerifier)(nil), c)
}

// --- Step 4: pass the conformance suite. ---

func TestGuideConnectorConformance(t *testing.T) {
	t.Parallel()
	conntest.Run(t, conntest.Harness{
		Type:   "notes",
		Source: startNotes,
		Connection: func(_ conntest.Source, baseURL string) connectors.Connection {
			return connectors.Connection{BaseURL: baseURL, RefreshToken: notesRefresh, WebhookSecret: notesSecret}
		},
		New: func(deps connectors.Deps, now func() time.Time) (connectors.Connector, error) {
			return newNotesAt(deps, now)
		},
		Pull:        conntest.Object{Name: "note", Sim: "note"},
		CreateSim:   func(_ conntest.Source, i int) map[string]any { return map[string]any{"text": fmt.Sprint("new ", i)} },
		EditSim:     func(i int) map[string]any { return map[string]any{"text": fmt.Sprint("edited ", i)} },
		Delete:      conntest.Object{Name: "note", Sim: "note"},
		Write:       conntest.Object{Name: "note", Sim: "note"},
		WriteCreate: func(conntest.Source) map[string]any { return map[string]any{"text": "from the portal"} },
		WriteUpdate: map[string]any{"text": "updated"},
		Renews:      true,
	})
}
