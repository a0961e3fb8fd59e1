package audit

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/reply"
	"github.com/porticohq/portico/internal/store"
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

// eqParams maps query parameters to the filter fields they match exactly.
var eqParams = map[string]func(*store.AuditFilter) *string{
	"actor":      func(f *store.AuditFilter) *string { return &f.Actor },
	"actor_kind": func(f *store.AuditFilter) *string { return &f.ActorKind },
	"account":    func(f *store.AuditFilter) *string { return &f.Account },
	"object":     func(f *store.AuditFilter) *string { return &f.Object },
	"object_id":  func(f *store.AuditFilter) *string { return &f.ObjectID },
	"tenant":     func(f *store.AuditFilter) *string { return &f.Tenant },
}

func parseListQuery(v map[string][]string) (store.AuditFilter, []reply.Field) {
	q := store.AuditFilter{Limit: DefaultLimit}
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
		if field, ok := eqParams[name]; ok {
			if val == "" {
				bad(name, "must not be empty")
			}
			*field(&q) = val
			continue
		}
		switch name {
		case "action":
			q.Action, q.ActionPrefix = strings.CutSuffix(val, ".*")
			if !actionRE.MatchString(q.Action) && !(q.ActionPrefix && isActionPrefix(q.Action)) {
				bad(name, "must be an action such as case.create, or a prefix such as auth.*")
			}
		case "since", "until":
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				bad(name, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
			} else if name == "since" {
				q.Since = t
			} else {
				q.Until = t
			}
		case "cursor":
			id, ok := decodeCursor(val)
			if !ok {
				bad(name, "is not a cursor returned by this listing")
			}
			q.BeforeID = id
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > MaxLimit {
				bad(name, "must be a whole number from 1 to %d", MaxLimit)
			}
			q.Limit = n
		default:
			bad(name, "unknown parameter")
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		bad("until", "must be later than since")
	}
	slices.SortFunc(errs, func(a, b reply.Field) int { return strings.Compare(a.Path, b.Path) })
	return q, errs
}

// isActionPrefix accepts a first segment alone as a prefix: "auth.*".
func isActionPrefix(s string) bool { return actionRE.MatchString(s + ".x") }

func (l *Log) list(w http.ResponseWriter, r *http.Request) {
	rp := reply.New(l.logger)
	page, errs, err := l.Search(r.Context(), r.URL.Query())
	switch {
	case len(errs) > 0:
		rp.Error(w, r, http.StatusBadRequest, "invalid", "bad query parameters: "+errs[0].Path+" "+errs[0].Message, errs...)
	case err != nil:
		rp.Internal(w, r, err)
	default:
		rp.JSON(w, r, http.StatusOK, page)
	}
}

// Search answers the staff listing's query (the parameters of GET
// /admin/audit, documented at AdminRoutes): the page of events, or the
// bad parameters, each named, sorted by name. The console's audit page
// searches through it too.
func (l *Log) Search(ctx context.Context, v url.Values) (Page, []reply.Field, error) {
	q, errs := parseListQuery(v)
	if len(errs) > 0 {
		return Page{}, errs, nil
	}
	limit := q.Limit
	q.Limit++ // one more tells whether a next page exists
	found, err := store.AuditList(ctx, l.pool, q)
	if err != nil {
		return Page{}, nil, fmt.Errorf("audit: %w", err)
	}
	page := Page{Events: make([]EventView, len(found))}
	openers := map[int64]*Opener{}
	for i, row := range found {
		o := openers[row.TenantID]
		if o == nil {
			o = NewOpener(l.pool, row.TenantID)
			openers[row.TenantID] = o
		}
		if page.Events[i], err = openView(ctx, o, eventView(row)); err != nil {
			return Page{}, nil, err
		}
	}
	if len(page.Events) > limit {
		page.Events = page.Events[:limit]
		page.NextCursor = encodeCursor(page.Events[limit-1].ID)
	}
	return page, nil, nil
}

func eventView(row store.AuditListRow) EventView {
	v := EventView{ID: row.ID, Tenant: row.Tenant, OccurredAt: row.OccurredAt.Time, Actor: row.Actor,
		ActorKind: row.ActorKind, AccountID: text(row.AccountID), UserAgent: text(row.UserAgent), Action: row.Action,
		Object: text(row.Object), ObjectID: text(row.ObjectID), RequestID: text(row.RequestID)}
	if row.Seq.Valid {
		v.Seq = &row.Seq.Int64
	}
	if row.Ip != nil {
		s := row.Ip.String()
		v.IP = &s
	}
	if row.Before != nil {
		v.Before = row.Before
	}
	if row.After != nil {
		v.After = row.After
	}
	v.PrevHash, v.Hash = hexOrNil(row.PrevHash), hexOrNil(row.Hash)
	return v
}

// openView shows staff the sealed personal fields in clear, or as erased
// (audit.Erased) once the subject's key is gone. The hash covers what is
// stored, not this.
func openView(ctx context.Context, o *Opener, v EventView) (EventView, error) {
	var err error
	if v.Before, err = o.JSON(ctx, "before", v.Before); err != nil {
		return v, err
	}
	if v.After, err = o.JSON(ctx, "after", v.After); err != nil {
		return v, err
	}
	if v.UserAgent != nil {
		ua, err := o.UserAgent(ctx, *v.UserAgent)
		if err != nil {
			return v, err
		}
		v.UserAgent = &ua
	}
	return v, nil
}

// text is a nullable text column as a JSON string or null.
func text(t pgtype.Text) *string {
	if !t.Valid {
		return nil
	}
	return &t.String
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
