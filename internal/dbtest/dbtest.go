// Package dbtest gives each test its own migrated PostgreSQL database,
// cloned from a template migrated once per test binary. It uses the server
// at TEST_DATABASE_URL when set, and otherwise starts one private cluster
// (internal/pgcluster) per test binary. Tests never share a database, so
// they run in parallel.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/porticohq/portico/internal/migrate"
	"github.com/porticohq/portico/internal/pgcluster"
	"github.com/porticohq/portico/internal/store"
)

// EnvURL names the variable that points tests at an existing server.
const EnvURL = "TEST_DATABASE_URL"

var (
	once     sync.Once
	setupErr error
	server   *url.URL // the server, with the path of its maintenance database
	cluster  *pgcluster.Cluster
	tmpDir   string
	template string
)

// Main runs the tests of a package, then drops the template and stops the
// private cluster if one was started. Use it as the package's TestMain:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
//
// m is a *testing.M, or another harness's wrapper of one (webtest.Wrap).
func Main(m interface{ Run() int }) {
	code := m.Run()
	teardown()
	os.Exit(code)
}

// Pool returns a pool on a new, fully migrated database of the test's own,
// dropped when the test ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, _ := PoolURL(t)
	return pool
}

// PoolURL is Pool and the database's connection string, for a test that
// reads through the pool what code opening its own connections (CLI
// commands) wrote.
func PoolURL(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	url := URL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool, url
}

// URL creates a new migrated database and returns its connection string,
// for code under test that opens its own connections (CLI commands).
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("dbtest: %v", setupErr)
	}
	name := "portico_test_" + randomHex(6)
	ctx := context.Background()
	if err := admin(ctx, func(conn *pgx.Conn) error {
		return createFromTemplate(ctx, conn, name)
	}); err != nil {
		t.Fatalf("dbtest: creating %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = admin(context.Background(), func(conn *pgx.Conn) error {
			return store.DatabaseDrop(context.Background(), conn, name)
		})
	})
	return withDatabase(name)
}

// ServerURL returns the maintenance URL of the test server (for tests that
// create databases themselves, such as migration tests).
func ServerURL(t testing.TB) string {
	t.Helper()
	once.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("dbtest: %v", setupErr)
	}
	return server.String()
}

// EmptyURL creates an empty database (no migrations) for tests of the
// migration code itself.
func EmptyURL(t testing.TB) string {
	t.Helper()
	ServerURL(t)
	name := "portico_empty_" + randomHex(6)
	ctx := context.Background()
	if err := admin(ctx, func(conn *pgx.Conn) error {
		return store.DatabaseCreate(ctx, conn, name, "")
	}); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	t.Cleanup(func() {
		_ = admin(context.Background(), func(conn *pgx.Conn) error {
			return store.DatabaseDrop(context.Background(), conn, name)
		})
	})
	return withDatabase(name)
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if raw := os.Getenv(EnvURL); raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("%s: %w", EnvURL, err)
		}
		server = u
	} else {
		var err error
		// The server runs as the postgres user when we are root, so the
		// directory must be reachable by it: not under t.TempDir (0700).
		if tmpDir, err = os.MkdirTemp("", "portico-dbtest-"); err != nil {
			return err
		}
		if err := os.Chmod(tmpDir, 0o755); err != nil {
			return err
		}
		if cluster, err = pgcluster.Start(ctx, tmpDir+"/pg"); err != nil {
			return err
		}
		server, _ = url.Parse(cluster.URL("postgres"))
	}

	template = "portico_tmpl_" + randomHex(6)
	if err := admin(ctx, func(conn *pgx.Conn) error {
		return store.DatabaseCreate(ctx, conn, template, "")
	}); err != nil {
		return fmt.Errorf("creating template: %w", err)
	}
	pool, err := pgxpool.New(ctx, withDatabase(template))
	if err != nil {
		return err
	}
	_, err = migrate.Up(ctx, pool, slog.New(slog.DiscardHandler))
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrating template: %w", err)
	}
	return nil
}

func teardown() {
	if server == nil {
		return
	}
	if template != "" {
		_ = admin(context.Background(), func(conn *pgx.Conn) error {
			return store.DatabaseDrop(context.Background(), conn, template)
		})
	}
	if cluster != nil {
		_ = cluster.Stop()
	}
	if tmpDir != "" {
		_ = os.RemoveAll(tmpDir)
	}
}

// createFromTemplate clones the template. PostgreSQL refuses while another
// session is connected to the template, which a concurrent clone can be
// for a moment, so it retries briefly.
func createFromTemplate(ctx context.Context, conn *pgx.Conn, name string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := store.DatabaseCreate(ctx, conn, name, template)
		if err == nil || store.SQLState(err) != "55006" || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func admin(ctx context.Context, f func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, server.String())
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return f(conn)
}

func withDatabase(name string) string {
	u := *server
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
