package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5/middleware"
)

// Recorder appends audit events. Subsystems (auth, write-back, admin)
// depend on this, not on the Log.
type Recorder interface {
	Record(ctx context.Context, e Event) error
}

// ErrInvalid means an event was refused before reaching the database.
var ErrInvalid = errors.New("audit: invalid event")

// ActorKind says what sort of principal acted.
type ActorKind string

// The actor kinds.
const (
	KindUser   ActorKind = "user"   // a customer portal user
	KindStaff  ActorKind = "staff"  // an operator's staff member
	KindToken  ActorKind = "token"  // an API or admin token
	KindSystem ActorKind = "system" // Portico itself: sync, write-back workers
)

// Actor is who acted. Build it with UserActor, StaffActor, TokenActor or
// SystemActor.
type Actor struct {
	Kind ActorKind
	ID   string // empty for KindSystem
}

// UserActor is a portal user by user id.
func UserActor(id string) Actor { return Actor{Kind: KindUser, ID: id} }

// StaffActor is a staff member by id.
func StaffActor(id string) Actor { return Actor{Kind: KindStaff, ID: id} }

// TokenActor is an API or admin token by its id (never the token itself).
func TokenActor(id string) Actor { return Actor{Kind: KindToken, ID: id} }

// SystemActor is Portico acting on its own.
func SystemActor() Actor { return Actor{Kind: KindSystem} }

type actorKey struct{}

// WithActor returns ctx naming who acts, for handlers that audit a change
// but do not know how the request authenticated (the /admin routes).
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom is the actor WithActor set, or fallback.
func ActorFrom(ctx context.Context, fallback Actor) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return fallback
}

// String is the stored actor column: the user id, "staff:<id>",
// "token:<id>" or "system".
func (a Actor) String() string {
	switch a.Kind {
	case KindUser:
		return a.ID
	case KindSystem:
		return "system"
	}
	return string(a.Kind) + ":" + a.ID
}

func (a Actor) validate() error {
	switch a.Kind {
	case KindSystem:
		if a.ID != "" {
			return errors.New("a system actor has no id")
		}
		return nil
	case KindUser, KindStaff, KindToken:
		if a.ID == "" {
			return fmt.Errorf("a %s actor needs an id", a.Kind)
		}
		return nil
	case "":
		return errors.New("actor is required")
	}
	return fmt.Errorf("unknown actor kind %q", a.Kind)
}

// Event is one audited change.
//
// Before and After are stored as JSON (a NUL character in a string becomes
// U+FFFD, which jsonb can hold): the caller must already have removed
// secrets (passwords, tokens, client secrets, session ids)
// from them, for example with Redact. Nil means "none" (a creation has no
// Before, a deletion no After).
type Event struct {
	TenantID int64
	// OccurredAt defaults to the database clock at the append.
	OccurredAt time.Time
	Actor      Actor
	// AccountID is the customer account the change concerns, if any.
	AccountID string
	// IP, UserAgent and RequestID say where the change came from; WithRequest
	// fills them from an HTTP request.
	IP        netip.Addr
	UserAgent string
	RequestID string
	// Action is a dotted lower-case verb phrase: auth.login,
	// auth.login_failed, case.create, action.applied, admin.action.retry.
	Action string
	// Object and ObjectID name what changed (portal object and its id).
	Object   string
	ObjectID string
	Before   any
	After    any
	// Subject is the data subject the event is about (UserSubject,
	// EmailSubject), whose key seals Before, After and UserAgent. Empty
	// means the user the event changes (Object "user"), else the portal
	// user who acted, else nobody: the event is stored in clear.
	Subject string
}

// maxUserAgent bounds a client-controlled header before it is stored.
const maxUserAgent = 512

var actionRE = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// WithRequest returns e with the client address, user agent and request
// id of r. It trusts r.RemoteAddr, which the server's middleware has set
// to the forwarded client only for a peer in http.trusted_proxies.
func (e Event) WithRequest(r *http.Request) Event {
	e.IP = remoteIP(r.RemoteAddr)
	e.UserAgent = r.UserAgent()
	e.RequestID = middleware.GetReqID(r.Context())
	return e
}

// remoteIP parses "host:port" or a bare address. The zone of a link-local
// address is dropped: inet cannot store it.
func remoteIP(addr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(strings.Trim(addr, "[]")); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

func (e Event) validate() error {
	var problems []string
	if e.TenantID <= 0 {
		problems = append(problems, "tenant_id is required")
	}
	if err := e.Actor.validate(); err != nil {
		problems = append(problems, "actor: "+err.Error())
	}
	if !actionRE.MatchString(e.Action) {
		problems = append(problems, fmt.Sprintf("action %q is not a dotted lower-case name such as case.create", e.Action))
	}
	if e.ObjectID != "" && e.Object == "" {
		problems = append(problems, "object_id without object")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// cleanText makes client-supplied text storable: valid UTF-8 without NUL
// (PostgreSQL text refuses both), at most max bytes.
func cleanText(s string, max int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if max > 0 && len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// marshalState encodes Before or After; nil and JSON null are stored as
// SQL NULL.
func marshalState(name string, v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, name, err)
	}
	if string(b) == "null" {
		return nil, nil
	}
	return replaceNUL(b), nil
}

// replaceNUL turns the escape \u0000, which jsonb refuses, into U+FFFD so
// that a NUL in customer input cannot make the audited change fail. An
// escaped backslash followed by "u0000" is left alone.
func replaceNUL(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\u0000`)) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		if bytes.HasPrefix(b[i:], []byte(`\u0000`)) {
			out = append(out, `\ufffd`...)
			i += len(`\u0000`) - 1
			continue
		}
		out = append(out, b[i], b[i+1]) // any other escape, including \\
		i++
	}
	return out
}

// Redacted replaces the values Redact removes.
const Redacted = "[REDACTED]"

// Redact returns a copy of m in which the value of every key in keys
// (compared case-insensitively, at any depth, inside nested maps and
// lists) is replaced by Redacted. m itself is not changed. Use it on
// Before and After when they may hold secrets.
func Redact(m map[string]any, keys ...string) map[string]any {
	if m == nil {
		return nil
	}
	drop := make(map[string]bool, len(keys))
	for _, k := range keys {
		drop[strings.ToLower(k)] = true
	}
	return redactMap(m, drop)
}

func redactMap(m map[string]any, drop map[string]bool) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if drop[strings.ToLower(k)] {
			out[k] = Redacted
			continue
		}
		out[k] = redactValue(v, drop)
	}
	return out
}

func redactValue(v any, drop map[string]bool) any {
	switch x := v.(type) {
	case map[string]any:
		return redactMap(x, drop)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactValue(e, drop)
		}
		return out
	}
	return v
}
