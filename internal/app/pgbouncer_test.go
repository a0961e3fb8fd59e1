package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/logtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// requirePgBouncer finds Debian's pgbouncer; without it the test skips,
// unless PORTICO_REQUIRE_PGBOUNCER is set (CI), when it fails.
func requirePgBouncer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr == nil {
			return "/usr/sbin/pgbouncer"
		}
		if os.Getenv("PORTICO_REQUIRE_PGBOUNCER") != "" {
			t.Fatalf("pgbouncer is not installed (apt-get install pgbouncer) and PORTICO_REQUIRE_PGBOUNCER is set")
		}
		t.Skip("pgbouncer is not installed (apt-get install pgbouncer); set PORTICO_REQUIRE_PGBOUNCER=1 to fail instead")
	}
	return bin
}

// startPgBouncer runs pgbouncer in transaction pooling mode in front of
// dbURL's database and returns the URL that reaches it through the pooler.
// As root it runs as the postgres user: pgbouncer refuses root.
func startPgBouncer(t *testing.T, dbURL string) string {
	t.Helper()
	bin := requirePgBouncer(t)
	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	dir, err := os.MkdirTemp("", "portico-pgbouncer-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	db := strings.TrimPrefix(u.Path, "/")
	ini := fmt.Sprintf(`[databases]
%s = host=%s port=%s dbname=%s user=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
max_client_conn = 200
default_pool_size = 20
ignore_startup_parameters = extra_float_digits
logfile = %s
`, db, u.Hostname(), u.Port(), db, u.User.Username(), port, filepath.Join(dir, "users.txt"), filepath.Join(dir, "pgbouncer.log"))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "users.txt"), fmt.Appendf(nil, "%q \"\"\n", u.User.Username()), 0o644))
	cmd := exec.Command(bin, filepath.Join(dir, "pgbouncer.ini"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		require.NoError(t, err, "running as root, pgbouncer needs the postgres user to run as")
		uid, _ := strconv.Atoi(pg.Uid)
		gid, _ := strconv.Atoi(pg.Gid)
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		require.NoError(t, os.Chown(dir, uid, gid))
	}
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
		_ = out.Close()
	})
	pooled := *u
	pooled.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	q := pooled.Query()
	// PgBouncer before 1.21 keeps no prepared statements across
	// transactions: pgx's statement cache cannot be used through it.
	q.Set("default_query_exec_mode", "exec")
	pooled.RawQuery = q.Encode()
	require.Eventually(t, func() bool {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
			log2, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer exited:\n%s%s", log, log2)
		default:
		}
		c, err := net.Dial("tcp", pooled.Host)
		if err != nil {
			return false
		}
		_ = c.Close()
		return true
	}, 10*time.Second, 10*time.Millisecond, "pgbouncer listens")
	return pooled.String()
}

// Through PgBouncer in transaction pooling mode LISTEN is accepted but
// its notifications never arrive: serve notices at start, keeps its caches
// (sessions, API tokens, list pages, unread counts) off with a warning and
// serves every read from the database; worker refuses to start, naming
// database_url.
func TestServeTurnsItsCachesOffBehindATransactionPooler(t *testing.T) {
	t.Parallel()
	direct := dbtest.URL(t)
	pooled := startPgBouncer(t, direct)

	var logs logtest.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	p := openPortal(t, pooled, app.Mode{Serve: true}, logger, app.Deps{}, nil)
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), `"level":"WARN","msg":"cannot LISTEN through this database connection`)
	}, 15*time.Second, 20*time.Millisecond)
	for _, cache := range []string{"sessions", "pages"} {
		require.Equal(t, 0.0, metric(t, p.URL, `portico_cache_live{cache="`+cache+`"}`), cache)
	}
	// It serves all the same, from the database: a staff login and a read.
	s := loginStaff(t, p.App.Pool(), p.URL)
	resp, err := s.client.Get(p.URL + "/api/v1/cases")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, 0.0, metric(t, p.URL, `portico_cache_live{cache="sessions"}`), "still off")

	// A worker refuses the pooler.
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	cfg := config.Default()
	cfg.DatabaseURL = pooled
	_, err = app.Open(context.Background(), &cfg, logger, app.Mode{Work: true}, app.Deps{Mappings: set})
	require.Error(t, err)
	require.True(t, config.IsConfigError(err), "exit 2, naming the key: %v", err)
	require.Contains(t, err.Error(), "database_url")
	require.Contains(t, err.Error(), "direct or session-pooled connection")
}
