package audit

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/porticohq/portico/internal/reply"
)

// Listing limits of GET /admin/audit.
const (
	DefaultLimit = 100
	MaxLimit     = 500
)

// AdminRoutes serves the staff listing of the audit trail. Mount it behind
// staff authentication, e.g. r.Mount("/audit", audit.AdminRoutes(log))
// inside /admin:
//
//	GET /?actor=&actor_kind=&account=&object=&object_id=&action=&tenant=&since=&until=&cursor=&limit=
//
// Filters are exact matches, except action, which also takes a prefix
// ending in ".*" (auth.*). since and until are RFC 3339 (since inclusive,
// until exclusive). Events come newest first, limit of them (default 100,
// at most 500), with next_cursor to pass as cursor for the next page.
// Unknown or malformed parameters are refused with 400 naming them.
func AdminRoutes(l *Log) chi.Router {
	r := chi.NewRouter()
	r.Get("/", l.list)
	return r
}

// EventView is one event as the admin listing shows it. Seq, PrevHash and
// Hash are null until the event is sealed.
type EventView struct {
	ID         int64           `json:"id"`
	Tenant     string          `json:"tenant"`
	Seq        *int64          `json:"seq"`
	OccurredAt time.Time       `json:"occurred_at"`
	Actor      string          `json:"actor"`
	ActorKind  string          `json:"actor_kind"`
	AccountID  *string         `json:"account_id"`
	IP         *string         `json:"ip"`
	UserAgent  *string         `json:"user_agent"`
	Action     string          `json:"action"`
	Object     *string         `json:"object"`
	ObjectID   *string         `json:"object_id"`
	Before     json.RawMessage `json:"before"`
	After      json.RawMessage `json:"after"`
	RequestID  *string         `json:"request_id"`
	PrevHash   *string         `json:"prev_hash"`
	Hash       *string         `json:"hash"`
}

// Page is the body of GET /admin/audit.
type Page struct {
	Events     []EventView `json:"events"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// listQuery is a parsed, validated listing request.
type listQuery struct {
	eq       map[string]string // column -> value
	action   string
	prefix   bool
	since    time.Time
	until    time.Time
	beforeID int64
	limit    int
}

// eqParams maps query parameters to the columns they match exactly.
var eqParams = map[string]string{
	"actor":      "e.actor",
	"actor_kind": "e.actor_kind",
	"account":    "e.account_id",
	"object":     "e.object",
	"object_id":  "e.object_id",
	"tenant":     "t.slug",
}

func parseListQuery(v map[string][]string) (listQuery, []reply.Field) {
	q := listQuery{eq: map[string]string{}, limit: DefaultLimit}
	var errs []reply.Field
	bad := func(path, format string, args ...any) {
		errs = append(errs, reply.Field{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	for name, values := range v {
		if len(values) != 1 {
			bad(name, "give %s once", name)
			continue
		}
		val := values[0]
		if col, ok := eqParams[name]; ok {
			if val == "" {
				bad(name, "must not be empty")
			}
			q.eq[col] = val
			continue
		}
		switch name {
		case "action":
			q.action, q.prefix = strings.CutSuffix(val, ".*")
			if !actionRE.MatchString(q.action) && !(q.prefix && isActionPrefix(q.action)) {
				bad(name, "must be an action such as case.create, or a prefix such as auth.*")
			}
		case "since", "until":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				bad(name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
			} else if name == "since" {
				q.since = t
			} else {
				q.until = t
			}
		case "cursor":
			id, ok := decodeCursor(val)
			if !ok {
				bad(name, "is not a cursor returned by this listing")
			}
			q.beforeID = id
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > MaxLimit {
				bad(name, "must be a whole number from 1 to %d", MaxLimit)
			}
			q.limit = n
		default:
			bad(name, "unknown parameter")
		}
	}
	if !q.since.IsZero() && !q.until.IsZero() && !q.until.After(q.since) {
		bad("until", "must be later than since")
	}
	slices.SortFunc(errs, func(a, b reply.Field) int { return strings.Compare(a.Path, b.Path) })
	return q, errs
}

// isActionPrefix accepts a first segment alone as a prefix: "auth.*".
func isActionPrefix(s string) bool { return actionRE.MatchString(s + ".x") }

// sql builds the listing query; every value is a parameter.
func (q listQuery) sql() (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// Sorted so that equal filters give equal SQL (pgx caches statements).
	for _, col := range slices.Sorted(maps.Keys(q.eq)) {
		where = append(where, col+" = "+arg(q.eq[col]))
	}
	if q.action != "" {
		if q.prefix {
			where = append(where, "starts_with(e.action, "+arg(q.action+".")+")")
		} else {
			where = append(where, "e.action = "+arg(q.action))
		}
	}
	if !q.since.IsZero() {
		where = append(where, "e.occurred_at >= "+arg(q.since))
	}
	if !q.until.IsZero() {
		where = append(where, "e.occurred_at < "+arg(q.until))
	}
	if q.beforeID > 0 {
		where = append(where, "e.id < "+arg(q.beforeID))
	}
	sql := `SELECT e.id, t.slug, e.seq, e.occurred_at, e.actor, e.actor_kind, e.account_id,
		e.ip, e.user_agent, e.action, e.object, e.object_id, e.before, e.after, e.request_id,
		e.prev_hash, e.hash
		FROM audit_event e JOIN tenant t ON t.id = e.tenant_id`
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	sql += " ORDER BY e.id DESC LIMIT " + arg(q.limit+1)
	return sql, args
}

func (l *Log) list(w http.ResponseWriter, r *http.Request) {
	rp := reply.New(l.logger)
	q, errs := parseListQuery(r.URL.Query())
	if len(errs) > 0 {
		rp.Error(w, r, http.StatusBadRequest, "invalid", "bad query parameters: "+errs[0].Path+" "+errs[0].Message, errs...)
		return
	}
	sql, args := q.sql()
	rows, err := l.pool.Query(r.Context(), sql, args...)
	if err != nil {
		rp.Internal(w, r, fmt.Errorf("audit: listing: %w", err))
		return
	}
	events, err := pgx.CollectRows(rows, scanView)
	if err != nil {
		rp.Internal(w, r, fmt.Errorf("audit: listing: %w", err))
		return
	}
	page := Page{Events: events}
	if len(events) > q.limit {
		page.Events = events[:q.limit]
		page.NextCursor = encodeCursor(page.Events[q.limit-1].ID)
	}
	if page.Events == nil {
		page.Events = []EventView{}
	}
	rp.JSON(w, r, http.StatusOK, page)
}

func scanView(row pgx.CollectableRow) (EventView, error) {
	var v EventView
	var ip *netip.Addr
	var before, after []byte
	var prev, hash []byte
	err := row.Scan(&v.ID, &v.Tenant, &v.Seq, &v.OccurredAt, &v.Actor, &v.ActorKind, &v.AccountID,
		&ip, &v.UserAgent, &v.Action, &v.Object, &v.ObjectID, &before, &after, &v.RequestID, &prev, &hash)
	if ip != nil {
		s := ip.String()
		v.IP = &s
	}
	if before != nil {
		v.Before = before
	}
	if after != nil {
		v.After = after
	}
	v.PrevHash, v.Hash = hexOrNil(prev), hexOrNil(hash)
	return v, err
}

func hexOrNil(b []byte) *string {
	if b == nil {
		return nil
	}
	s := hex.EncodeToString(b)
	return &s
}

// Cursors are opaque to clients: the id of the last event shown.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("v1:" + strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), "v1:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0
}
