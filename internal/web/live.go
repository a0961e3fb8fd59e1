package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/porticohq/portico/internal/api"
	"github.com/porticohq/portico/internal/pgnotify"
)

// LiveChannel is where migration 086's triggers announce, at commit, that
// an action's state changed ("a:<tenant>:<action id>:<user id>") or a
// cached record's content did ("r:<tenant>:<object>:<source id>"; since
// 088 also for the parent of a child that arrived, a case's comment), and
// 088's that records of an object and account arrived or changed
// ("h:<tenant>:<object>:<owner account>", once per statement for inserts).
const LiveChannel = "portico_live"

// Defaults of the live updates.
const (
	defaultHeartbeat  = 15 * time.Second
	defaultMaxPerUser = 8
	// liveBuffer is how many events wait for a slow browser; beyond it
	// they are dropped: each only asks the page to read again, and one
	// read is still to come.
	liveBuffer = 8
)

// userKey is one user of one tenant, as the action table names them.
type userKey struct {
	tenant int64
	user   string
}

// recordKey is one cached record.
type recordKey struct {
	tenant     int64
	object, id string
}

// accountKey is one account of one tenant; account "*" stands for every
// account (a staff user's hub).
type accountKey struct {
	tenant  int64
	account string
}

// liveEvent is what a stream is told: an action of its user, the record
// it watches, or records of one object and account its hub shows changed
// ("resync": anything may have).
type liveEvent struct {
	kind string // action, record, hub, resync
	id   string // the action's or record's id; for hub, the block
	// object and account name the records a hub event is about.
	object, account string
}

// hubWatch is what a status hub's stream listens for: the accounts whose
// records it may show, and the block of each object it shows.
type hubWatch struct {
	accounts []string
	blocks   map[string]string // object -> block id
}

// stream is one open event stream.
type stream struct {
	user   userKey
	record *recordKey
	hub    *hubWatch
	tenant int64
	events chan liveEvent
}

// hub fans the one listener's notifications out to the open streams of
// this process: by user for actions, by record for records. It holds no
// data, only whom to tell; each stream checks visibility itself before it
// sends anything.
type hub struct {
	mu         sync.Mutex
	byUser     map[userKey]map[*stream]struct{}
	byRecord   map[recordKey]map[*stream]struct{}
	byAccount  map[accountKey]map[*stream]struct{}
	live       bool
	closed     chan struct{}
	closeOnce  sync.Once
	maxPerUser int
}

func newHub(maxPerUser int) *hub {
	return &hub{byUser: map[userKey]map[*stream]struct{}{}, byRecord: map[recordKey]map[*stream]struct{}{},
		byAccount: map[accountKey]map[*stream]struct{}{}, closed: make(chan struct{}), maxPerUser: maxPerUser}
}

// errTooMany is a user over the cap of open streams.
var errTooMany = errors.New("web: too many live streams for this user")

// subscribe opens a stream for user, watching record or a hub's records
// when not nil.
func (h *hub) subscribe(user userKey, record *recordKey, hw *hubWatch) (*stream, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.closed:
		return nil, http.ErrServerClosed
	default:
	}
	if len(h.byUser[user]) >= h.maxPerUser {
		return nil, errTooMany
	}
	s := &stream{user: user, record: record, hub: hw, tenant: user.tenant, events: make(chan liveEvent, liveBuffer)}
	add(h.byUser, user, s)
	if record != nil {
		add(h.byRecord, *record, s)
	}
	if hw != nil {
		for _, a := range hw.accounts {
			add(h.byAccount, accountKey{user.tenant, a}, s)
		}
	}
	return s, nil
}

func (h *hub) unsubscribe(s *stream) {
	h.mu.Lock()
	defer h.mu.Unlock()
	remove(h.byUser, s.user, s)
	if s.record != nil {
		remove(h.byRecord, *s.record, s)
	}
	if s.hub != nil {
		for _, a := range s.hub.accounts {
			remove(h.byAccount, accountKey{s.tenant, a}, s)
		}
	}
}

func add[K comparable](m map[K]map[*stream]struct{}, k K, s *stream) {
	if m[k] == nil {
		m[k] = map[*stream]struct{}{}
	}
	m[k][s] = struct{}{}
}

func remove[K comparable](m map[K]map[*stream]struct{}, k K, s *stream) {
	delete(m[k], s)
	if len(m[k]) == 0 {
		delete(m, k)
	}
}

// count is the number of open streams.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, ss := range h.byUser {
		n += len(ss)
	}
	return n
}

// SetLive implements pgnotify.Subscriber. Notifications may have been
// missed while the listener was down: every stream reads again once it is
// back.
func (h *hub) SetLive(live bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.live = live
	if !live {
		return
	}
	for _, ss := range h.byUser {
		for s := range ss {
			s.send(liveEvent{kind: "resync"})
		}
	}
}

func (h *hub) isLive() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.live
}

// Notify implements pgnotify.Subscriber.
func (h *hub) Notify(payload string) {
	kind, rest, _ := strings.Cut(payload, ":")
	t, rest, _ := strings.Cut(rest, ":")
	tenant, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return
	}
	a, b, ok := strings.Cut(rest, ":")
	if !ok || a == "" || b == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch kind {
	case "a": // action id, then its user
		for s := range h.byUser[userKey{tenant, b}] {
			s.send(liveEvent{kind: "action", id: a})
		}
	case "r": // object, then source id
		for s := range h.byRecord[recordKey{tenant, a, b}] {
			s.send(liveEvent{kind: "record", id: b})
		}
	case "h": // object, then owner account
		for _, acct := range []string{b, "*"} {
			for s := range h.byAccount[accountKey{tenant, acct}] {
				if block := s.hub.blocks[a]; block != "" {
					s.send(liveEvent{kind: "hub", id: block, object: a, account: b})
				}
			}
		}
	}
}

// send queues ev without waiting; a full queue already holds a reason to
// read again.
func (s *stream) send(ev liveEvent) {
	select {
	case s.events <- ev:
	default:
	}
}

// close ends every stream, and refuses new ones: the server is stopping.
func (h *hub) close() { h.closeOnce.Do(func() { close(h.closed) }) }

// LiveSubscriptions is what the live updates listen to, for the process's
// one listener (internal/pgnotify).
func (wb *Web) LiveSubscriptions() map[string]pgnotify.Subscriber {
	return map[string]pgnotify.Subscriber{LiveChannel: wb.live}
}

// CloseLive ends every open event stream and refuses new ones, so that a
// stopping server is not held open by browsers waiting for news.
func (wb *Web) CloseLive() { wb.live.close() }

// LiveStreams reports whether the live listener is connected, and how
// many event streams are open in this process.
func (wb *Web) LiveStreams() (live bool, open int) { return wb.live.isLive(), wb.live.count() }

// events is GET /events: a Server-Sent Events stream telling a signed-in
// user's page to read again when one of the user's own actions changes
// state ("action"), when the case named by ?case= changes at the source
// or gains a comment ("record"), when records of a block of the status
// hub (?hub=1) arrive or change ("hub", with the block's id; the user's
// own actions are the "actions" block's), or when news may have been
// missed ("resync"). It sends ids the user already holds and block names,
// never data, and only after reading the action or record again, or
// checking the account, under the user's current scope. A comment line every
// heartbeat keeps proxies from closing it; the stream ends at the first
// heartbeat or event after the session has (signed out, here or
// everywhere).
func (wb *Web) events(w http.ResponseWriter, r *http.Request) {
	p := signedIn(r)
	if p == nil {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	ctx, err := wb.d.API.WithScope(r.Context())
	if err != nil {
		wb.internal(w, r, err)
		return
	}
	r = r.WithContext(ctx)
	user := userKey{p.TenantID, strconv.FormatInt(p.UserID, 10)}
	var watch *recordKey
	if id := r.URL.Query().Get("case"); id != "" {
		rec, err := wb.d.API.Record(r.Context(), "case", id, false)
		if wb.readFailed(w, r, err) {
			return
		}
		watch = &recordKey{p.TenantID, "case", rec.ID}
	}
	var hw *hubWatch
	if r.URL.Query().Get("hub") != "" {
		hw = wb.hubWatch(r.Context())
	}
	s, err := wb.live.subscribe(user, watch, hw)
	switch {
	case errors.Is(err, errTooMany):
		w.Header().Set("Retry-After", "60")
		http.Error(w, "too many open live streams", http.StatusTooManyRequests)
		return
	case err != nil:
		http.Error(w, "the server is stopping", http.StatusServiceUnavailable)
		return
	}
	defer wb.live.unsubscribe(s)
	rc := http.NewResponseController(w)
	// The server's write timeout is for pages, not for a stream.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if !wb.write(w, rc, "retry: 5000\n\n") {
		return
	}
	tick := time.NewTicker(wb.heartbeat)
	defer tick.Stop()
	for {
		var msg string
		select {
		case <-r.Context().Done():
			return
		case <-wb.live.closed:
			return
		case <-tick.C:
			if !wb.d.Auth.SessionActive(r.Context()) {
				return // signed out, here or elsewhere
			}
			msg = ": heartbeat\n\n"
		case ev := <-s.events:
			var ok bool
			if msg, ok = wb.check(r, s, ev); !ok {
				return
			}
		}
		if msg != "" && !wb.write(w, rc, msg) {
			return
		}
	}
}

// check reads what ev names again under the user's current scope and
// returns the message to send ("" for none); false ends the stream: the
// session ended, or the user no longer sees the record it watches.
func (wb *Web) check(r *http.Request, s *stream, ev liveEvent) (string, bool) {
	if !wb.d.Auth.SessionActive(r.Context()) {
		return "", false
	}
	ctx, err := wb.d.API.WithScope(r.Context())
	if err != nil {
		return "", r.Context().Err() == nil
	}
	switch ev.kind {
	case "action":
		if _, err := wb.d.API.Action(ctx, ev.id); err != nil {
			return "", true
		}
		if s.hub != nil {
			// On the hub, the user's changes are a block of their own.
			return "event: hub\ndata: actions\n\n", true
		}
	case "hub":
		if !wb.d.API.SeesAccount(ctx, ev.object, ev.account) {
			return "", true // not this user's: nothing is said of it
		}
		return "event: hub\ndata: " + ev.id + "\n\n", true
	case "record":
		_, err := wb.d.API.Record(ctx, "case", ev.id, false)
		if errors.Is(err, api.ErrNotFound) {
			return "", false
		}
		if err != nil {
			return "", true
		}
	}
	// Ids the user holds already (their own action, the case they asked
	// about), on one line.
	id := ev.id
	if strings.ContainsAny(id, "\r\n") {
		id = ""
	}
	return "event: " + ev.kind + "\ndata: " + id + "\n\n", true
}

// write sends msg now; false when the browser has gone.
func (wb *Web) write(w http.ResponseWriter, rc *http.ResponseController, msg string) bool {
	if _, err := w.Write([]byte(msg)); err != nil {
		return false
	}
	return rc.Flush() == nil
}

// hubWatch is what the user's status hub listens for: the blocks their
// roles reach (home.go's hubBlocks) and the accounts whose records those
// show; nil when they reach none.
func (wb *Web) hubWatch(ctx context.Context) *hubWatch {
	hw := &hubWatch{blocks: map[string]string{}}
	seen := map[string]bool{}
	for _, hb := range hubBlocks {
		accounts, all, ok := wb.d.API.Audience(ctx, hb.object)
		if !ok {
			continue
		}
		hw.blocks[hb.object] = hb.id
		if all {
			accounts = []string{"*"}
		}
		for _, a := range accounts {
			if !seen[a] {
				seen[a] = true
				hw.accounts = append(hw.accounts, a)
			}
		}
	}
	if len(hw.blocks) == 0 {
		return nil
	}
	return hw
}
