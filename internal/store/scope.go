package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Scope is what row-level security lets a transaction see: the settings
// internal/access derives from a request's scope. Staff scopes run as the
// connecting role, which RLS does not narrow.
type Scope struct {
	TenantID int64
	// Accounts are the owner accounts whose records are visible.
	Accounts []string
	// PublicObjects are ownerless portal objects the transaction may read.
	PublicObjects []string
	Staff         bool
}

// scopeSQL switches a transaction to portico_api with the scope's
// settings. It is written here rather than in a .sql file because
// readScoped queues it in the same pipeline as a dynamic read, and sqlc
// keeps its query texts private to dbsqlc.
const scopeSQL = `SELECT set_config('role', 'portico_api', true),
		set_config('portico.tenant_id', $1, true),
		set_config('portico.account_ids', $2, true),
		set_config('portico.public_objects', $3, true)`

func (s Scope) settings() ([]any, error) {
	for _, a := range s.Accounts {
		if strings.Contains(a, ",") {
			return nil, fmt.Errorf("store: account id %q contains a comma", a)
		}
	}
	return []any{strconv.FormatInt(s.TenantID, 10), strings.Join(s.Accounts, ","), strings.Join(s.PublicObjects, ",")}, nil
}

// ApplyScope sets the scope on a transaction that is already open; the
// settings end with it.
func ApplyScope(ctx context.Context, tx DBTX, s Scope) error {
	if s.Staff {
		return nil
	}
	args, err := s.settings()
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, scopeSQL, args...); err != nil {
		return fmt.Errorf("store: applying scope: %w", interpretError(err))
	}
	return nil
}

// readScoped runs one read-only query under the scope in a single round
// trip: the settings and the query go in one pipeline, which PostgreSQL
// runs as one implicit transaction, so the settings hold for the query and
// end with it, exactly as in a transaction with ApplyScope. scan reads the
// rows.
func readScoped(ctx context.Context, pool *pgxpool.Pool, s Scope, sql string, args []any, scan func(pgx.Rows) error) error {
	b := &pgx.Batch{}
	if !s.Staff {
		settings, err := s.settings()
		if err != nil {
			return err
		}
		b.Queue(scopeSQL, settings...)
	}
	b.Queue(sql, args...)
	br := pool.SendBatch(ctx, b)
	if !s.Staff {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return fmt.Errorf("store: applying scope: %w", interpretError(err))
		}
	}
	rows, err := br.Query()
	if err == nil {
		err = scan(rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return interpretError(err)
}

// args collects a dynamic query's parameters.
type args []any

// add binds v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// ownerFilter limits rows of the record table (aliased by alias) to the
// scope. Public objects have no owner; their predicate is owner_account IS
// NULL. It returns "" when nothing narrows (staff).
func (s Scope) ownerFilter(alias string, public bool, a *args) string {
	switch {
	case public:
		return alias + ".owner_account IS NULL"
	case s.Staff:
		return ""
	case len(s.Accounts) == 1:
		// Equality, not ANY: PostgreSQL 15 reads the owner index in list
		// order only for an equality on the account (ANY sorts every row
		// of the account).
		return alias + ".owner_account = " + a.add(s.Accounts[0])
	default:
		return alias + ".owner_account = ANY (" + a.add(s.Accounts) + ")"
	}
}
