// Package migrate applies Portico's embedded SQL migrations and River's own
// (through rivermigrate), reports their status, and tells the server
// commands whether the database is current. It owns the portico_migration
// table and nothing else in the schema.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/migrations"
)

// ErrBehind means the database lacks migrations this binary has.
var ErrBehind = errors.New("database migrations are behind this binary: run `portico migrate up`")

// lockID serialises concurrent `migrate up` runs (two instances starting).
const lockID = 0x706f727469636f // "portico"

// Migration is one numbered SQL file pair.
type Migration struct {
	Version int
	Name    string
	Up      string
}

// Status is one migration's state in a database.
type Status struct {
	Line      string // "portico" or "river"
	Version   int
	Name      string
	AppliedAt *time.Time
}

var fileRE = regexp.MustCompile(`^(\d{3,})_([a-z0-9_]+)\.up\.sql$`)

// Load reads the embedded migrations, ordered by version.
func Load() ([]Migration, error) { return load(migrations.FS) }

func load(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		m := fileRE.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrate: version %d used by both %s and %s", v, prev, e.Name())
		}
		seen[v] = e.Name()
		sql, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: m[2], Up: string(sql)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Up applies River's migrations, then every pending Portico migration, each
// in its own transaction, under an advisory lock. It is a no-op on a current
// database and returns what it applied.
func Up(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) ([]Status, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if err := store.AdvisoryLock(ctx, conn, lockID); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() { _ = store.AdvisoryUnlock(context.WithoutCancel(ctx), conn, lockID) }()

	var applied []Status
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("migrate: river: %w", err)
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate: river: %w", err)
	}
	for _, v := range res.Versions {
		applied = append(applied, Status{Line: "river", Version: v.Version, Name: v.Name})
	}

	if err := store.MigrationTableEnsure(ctx, conn); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	all, err := Load()
	if err != nil {
		return nil, err
	}
	done, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, m := range all {
		if _, ok := done[m.Version]; ok {
			continue
		}
		err := pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
			return store.MigrationApply(ctx, tx, m.Version, m.Name, m.Up)
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: %03d_%s: %w", m.Version, m.Name, err)
		}
		logger.InfoContext(ctx, "applied migration", slog.Int("version", m.Version), slog.String("name", m.Name))
		applied = append(applied, Status{Line: "portico", Version: m.Version, Name: m.Name})
	}
	return applied, nil
}

// List reports every known migration, applied or not, River's first.
func List(ctx context.Context, pool *pgxpool.Pool) ([]Status, error) {
	var out []Status
	rm, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	existing := map[int]bool{}
	if ex, err := rm.ExistingVersions(ctx); err == nil {
		for _, m := range ex {
			existing[m.Version] = true
		}
	}
	for _, m := range rm.AllVersions() {
		s := Status{Line: "river", Version: m.Version, Name: m.Name}
		if existing[m.Version] {
			t := time.Time{}
			s.AppliedAt = &t
		}
		out = append(out, s)
	}
	all, err := Load()
	if err != nil {
		return nil, err
	}
	done, err := appliedVersions(ctx, pool)
	if err != nil {
		return nil, err
	}
	for _, m := range all {
		s := Status{Line: "portico", Version: m.Version, Name: m.Name}
		if at, ok := done[m.Version]; ok {
			s.AppliedAt = &at
		}
		out = append(out, s)
	}
	return out, nil
}

// Check returns ErrBehind (wrapped, naming what is missing) unless every
// migration this binary knows has been applied.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	all, err := List(ctx, pool)
	if err != nil {
		return fmt.Errorf("migrate: checking status: %w", err)
	}
	var missing []string
	for _, s := range all {
		if s.AppliedAt == nil {
			missing = append(missing, fmt.Sprintf("%s %03d_%s", s.Line, s.Version, s.Name))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w (pending: %s)", ErrBehind, strings.Join(missing, ", "))
	}
	return nil
}

func appliedVersions(ctx context.Context, db store.DBTX) (map[int]time.Time, error) {
	done, err := store.MigrationVersions(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return done, nil
}
