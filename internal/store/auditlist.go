package store

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditFilter selects a page of the audit trail, newest first. Empty
// fields do not filter.
type AuditFilter struct {
	Tenant    string // tenant slug
	Actor     string
	ActorKind string
	Account   string
	Object    string
	ObjectID  string
	// Action is an action, or with ActionPrefix the first segments of one
	// ("auth" for auth.*).
	Action       string
	ActionPrefix bool
	Since        time.Time // inclusive
	Until        time.Time // exclusive
	BeforeID     int64     // a page continues below this event id
	Limit        int
}

// AuditListRow is one event of the audit trail with its tenant's slug,
// as the staff listing shows it.
type AuditListRow struct {
	AuditEvent
	Tenant string
}

// AuditList reads a page of the audit trail. It is built by hand, not by
// sqlc: a query with every filter as an optional parameter ("$1 IS NULL OR
// ...") would plan one generic scan for all of them; this one names only
// the filters given, so each shape gets the plan its predicates allow.
func AuditList(ctx context.Context, db DBTX, f AuditFilter) ([]AuditListRow, error) {
	q, a := f.sql()
	rows, err := db.Query(ctx, q, a...)
	if err != nil {
		return nil, interpret(err, "listing the audit trail")
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AuditListRow])
	return out, interpret(err, "listing the audit trail")
}

func (f AuditFilter) sql() (string, args) {
	var where []string
	var a args
	// A fixed order, so that equal filters give equal SQL (pgx caches
	// statements by text).
	for _, eq := range []struct{ col, val string }{
		{"e.account_id", f.Account}, {"e.actor", f.Actor}, {"e.actor_kind", f.ActorKind},
		{"e.object", f.Object}, {"e.object_id", f.ObjectID}, {"t.slug", f.Tenant},
	} {
		if eq.val != "" {
			where = append(where, eq.col+" = "+a.add(eq.val))
		}
	}
	switch {
	case f.Action != "" && f.ActionPrefix:
		where = append(where, "starts_with(e.action, "+a.add(f.Action+".")+")")
	case f.Action != "":
		where = append(where, "e.action = "+a.add(f.Action))
	}
	if !f.Since.IsZero() {
		where = append(where, "e.occurred_at >= "+a.add(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "e.occurred_at < "+a.add(f.Until))
	}
	if f.BeforeID > 0 {
		where = append(where, "e.id < "+a.add(f.BeforeID))
	}
	// The columns in the order of AuditEvent's fields, then the slug.
	q := `SELECT e.id, e.tenant_id, e.seq, e.occurred_at, e.actor, e.actor_kind, e.account_id,
		e.ip, e.user_agent, e.action, e.object, e.object_id, e.before, e.after, e.request_id,
		e.hash_version, e.prev_hash, e.hash, e.recorded_at, t.slug
		FROM audit_event e JOIN tenant t ON t.id = e.tenant_id`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY e.id DESC LIMIT " + a.add(f.Limit)
	return q, a
}
