package api

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/mapping"
)

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

// maxRelated bounds the related records one answer embeds (a case's
// comments, an invoice's payments).
const maxRelated = 200

// query is a read over the record table that the records reader does not
// offer: related records and search. The scope's owner filter comes from
// the policy (Scope.OwnerFilter) and row-level security applies under it.
type query struct {
	obj   *mapping.Object
	scope access.Scope
	where string // extra predicate over r
	order string // ORDER BY clause
	limit int
	args  []any
}

func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	return "$" + strconv.Itoa(len(q.args))
}

// related reads the records of obj under scope matching q.where.
func (a *API) related(ctx context.Context, q *query) ([]Record, error) {
	sql := `SELECT r.source_id, r.owner_account, r.data, r.source_version, r.source_modified,
		greatest(r.synced_at, c.synced_through), c.failing_since
		FROM record r LEFT JOIN sync_cursor c
		  ON c.tenant_id = r.tenant_id AND c.connection = r.connection AND c.object = r.source_object
		WHERE r.tenant_id = ` + q.arg(q.scope.TenantID) + ` AND r.object = ` + q.arg(q.obj.Name()) + `
		  AND r.deleted_at IS NULL AND NOT r.hidden
		  AND ` + q.scope.OwnerFilter("r", q.obj.Public(), q.arg) + `
		  AND ` + q.where + `
		ORDER BY ` + q.order + ` LIMIT ` + strconv.Itoa(q.limit)
	out := []Record{}
	roles := q.scope.Roles
	if q.scope.Staff {
		roles = []string{mapping.RoleOperatorAdmin}
	}
	now := a.d.Now()
	err := access.Read(ctx, a.d.Pool, q.scope, sql, q.args, func(rows pgx.Rows) error {
		for rows.Next() {
			var (
				rec                       Record
				account                   pgtype.Text
				data                      []byte
				modified, synced, failing pgtype.Timestamptz
			)
			if err := rows.Scan(&rec.ID, &account, &data, &rec.Version, &modified, &synced, &failing); err != nil {
				return err
			}
			shown := q.obj.Show(roles, data)
			rec.Object, rec.AccountID = q.obj.Name(), account.String
			rec.Status, rec.StatusLabel, rec.NextStep, rec.Fields = shown.Status, shown.StatusLabel, shown.NextStep, shown.Fields
			if modified.Valid {
				t := modified.Time
				rec.UpdatedAt = &t
			}
			rec.Freshness.SyncedAt = synced.Time
			rec.Freshness.Stale = now.Sub(synced.Time) > q.obj.Freshness()
			if failing.Valid {
				t := failing.Time
				rec.Freshness.SourceUnavailableSince = &t
			}
			out = append(out, rec)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("api: reading %s: %w", q.obj.Name(), err)
	}
	return out, nil
}
