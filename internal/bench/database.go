package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/migrate"
	"github.com/porticohq/portico/internal/pgcluster"
	"github.com/porticohq/portico/internal/store"
)

// Server is where a bench makes its databases.
type Server struct {
	// URL reaches the server as a user that may create databases; empty
	// starts a private PostgreSQL cluster for the run.
	URL string
	// Logger logs the migrations of the bench's database.
	Logger *slog.Logger
}

// withDatabase validates cfg, makes the bench's database on srv and runs f
// on it; the database is dropped after.
func withDatabase(ctx context.Context, cfg interface{ Validate() error }, srv Server, out Output, f func(*database) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	db, err := openDatabase(ctx, srv, out.Stderr)
	if err != nil {
		return err
	}
	defer db.close()
	return f(db)
}

// database is a bench's migrated database of its own.
type database struct {
	pool     *pgxpool.Pool
	url      string
	adminURL string
	cleanups []func()
}

// openDatabase makes a fresh migrated database on the server, or on a
// private cluster when none is configured. close drops or stops what it
// made.
func openDatabase(ctx context.Context, srv Server, stderr io.Writer) (*database, error) {
	db := &database{adminURL: srv.URL}
	if db.adminURL == "" {
		if err := db.startCluster(ctx, stderr); err != nil {
			db.close()
			return nil, err
		}
	}
	url, drop, err := db.create(ctx, "")
	if err != nil {
		db.close()
		return nil, err
	}
	db.url = url
	db.cleanups = append(db.cleanups, drop)
	if db.pool, err = app.OpenPool(ctx, url); err != nil {
		db.close()
		return nil, err
	}
	db.cleanups = append(db.cleanups, db.pool.Close)
	logger := srv.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if _, err := migrate.Up(ctx, db.pool, logger); err != nil {
		db.close()
		return nil, err
	}
	return db, nil
}

func (db *database) startCluster(ctx context.Context, stderr io.Writer) error {
	dir, err := os.MkdirTemp("", "portico-bench-")
	if err != nil {
		return err
	}
	_ = os.Chmod(dir, 0o755)
	db.cleanups = append(db.cleanups, func() { _ = os.RemoveAll(dir) })
	fmt.Fprintln(stderr, "no database configured: starting a private PostgreSQL for the benchmark")
	cluster, err := pgcluster.Start(ctx, filepath.Join(dir, "pg"))
	if err != nil {
		return err
	}
	db.cleanups = append(db.cleanups, func() { _ = cluster.Stop() })
	db.adminURL = cluster.URL("postgres")
	return nil
}

// close drops or stops what openDatabase made, last first.
func (db *database) close() {
	for i := len(db.cleanups) - 1; i >= 0; i-- {
		db.cleanups[i]()
	}
}

// create makes an empty database on the bench's server and returns its URL
// and what drops it.
func (db *database) create(ctx context.Context, suffix string) (string, func(), error) {
	name := fmt.Sprintf("portico_bench_%d_%d", os.Getpid(), rand.Uint32())
	if suffix != "" {
		name += "_" + suffix
	}
	admin, err := pgx.Connect(ctx, db.adminURL)
	if err != nil {
		return "", nil, err
	}
	defer admin.Close(ctx)
	if err := store.DatabaseCreate(ctx, admin, name, ""); err != nil {
		return "", nil, fmt.Errorf("bench: %w", err)
	}
	adminURL := db.adminURL
	drop := func() {
		conn, err := pgx.Connect(context.Background(), adminURL)
		if err == nil {
			_ = store.DatabaseDrop(context.Background(), conn, name)
			_ = conn.Close(context.Background())
		}
	}
	u, err := pgx.ParseConfig(db.adminURL)
	if err != nil {
		drop()
		return "", nil, err
	}
	url := fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable", u.User, u.Host, u.Port, name)
	if u.Password != "" {
		url = fmt.Sprintf("postgres://%s:%s@%s:%d/%s?sslmode=disable", u.User, u.Password, u.Host, u.Port, name)
	}
	return url, drop, nil
}

// extra makes another migrated database on the bench's server, for a stack
// that must not share state with the first.
func (db *database) extra(ctx context.Context, suffix string) (string, func(), error) {
	url, drop, err := db.create(ctx, suffix)
	if err != nil {
		return "", nil, err
	}
	pool, err := app.OpenPool(ctx, url)
	if err != nil {
		drop()
		return "", nil, err
	}
	defer pool.Close()
	if _, err := migrate.Up(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		drop()
		return "", nil, err
	}
	return url, drop, nil
}
