package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/porticohq/portico/internal/store/dbsqlc"
)

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrDuplicate is returned when a unique constraint rejects a row.
var ErrDuplicate = errors.New("store: already exists")

// Queries is the generated query set; it holds no state.
var Queries = dbsqlc.New()

// Tenant is one operator company.
type Tenant = dbsqlc.Tenant

// TenantBySlug finds a tenant.
func TenantBySlug(ctx context.Context, db dbsqlc.DBTX, slug string) (Tenant, error) {
	t, err := Queries.TenantBySlug(ctx, db, slug)
	return t, interpret(err, "tenant "+slug)
}

// TenantCreate adds a tenant.
func TenantCreate(ctx context.Context, db dbsqlc.DBTX, slug, name string) (Tenant, error) {
	t, err := Queries.TenantCreate(ctx, db, dbsqlc.TenantCreateParams{Slug: slug, Name: name})
	return t, interpret(err, "tenant "+slug)
}

// interpret translates driver errors at the storage boundary.
func interpret(err error, what string) error {
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		return fmt.Errorf("%s: %w", what, ErrDuplicate)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}
