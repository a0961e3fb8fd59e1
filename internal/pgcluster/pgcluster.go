// Package pgcluster starts and stops a private PostgreSQL cluster from the
// locally installed server binaries. `portico dev` and the test harness use
// it when no database URL is configured. It owns the cluster's process and
// data directory and nothing else: it does not create Portico's schema.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries means no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries found (looked on PATH and in /usr/lib/postgresql/*/bin): " +
	"install them (Debian/Ubuntu: apt-get install postgresql) or set PORTICO_DATABASE_URL to an existing server")

// Cluster is one private PostgreSQL server.
type Cluster struct {
	dir    string
	binDir string
	port   int
	cmd    *exec.Cmd
	cred   *syscall.Credential
	done   chan struct{}
	log    *os.File

	mu      sync.Mutex
	exitErr error
}

// FindBinaries returns the directory holding initdb and postgres: PATH
// first, then the newest /usr/lib/postgresql/N/bin.
func FindBinaries() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start initialises dir if it holds no cluster yet, then starts postgres on
// a free loopback port and waits until it accepts connections. Run as root,
// the server runs as the "postgres" user, since PostgreSQL refuses root.
func Start(ctx context.Context, dir string) (*Cluster, error) {
	binDir, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, binDir: binDir, done: make(chan struct{})}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	if err := c.initdb(ctx); err != nil {
		return nil, err
	}
	if err := c.clearStalePID(); err != nil {
		return nil, err
	}
	if c.port, err = freePort(); err != nil {
		return nil, err
	}
	if err := c.start(); err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx, 30*time.Second); err != nil {
		_ = c.Stop()
		return nil, err
	}
	return c, nil
}

// StartReplica copies primary into dir with pg_basebackup (dir must not
// hold a cluster yet) and starts it as a hot standby streaming from
// primary, for tests of reads from a replica.
func StartReplica(ctx context.Context, primary *Cluster, dir string) (*Cluster, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, binDir: primary.binDir, cred: primary.cred}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	if err := c.chown(); err != nil {
		return nil, err
	}
	bin, err := c.tool("pg_basebackup")
	if err != nil {
		return nil, err
	}
	// -R writes standby.signal and the primary's connection string.
	cmd := exec.CommandContext(ctx, bin, "-D", dir, "-h", "127.0.0.1",
		"-p", strconv.Itoa(primary.port), "-U", "postgres", "-R", "-X", "stream", "-c", "fast", "--no-sync")
	c.asServerUser(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("pgcluster: pg_basebackup into %s failed: %w\n%s", dir, err, out.String())
	}
	return Start(ctx, dir)
}

// tool finds another of the server package's programs: beside postgres,
// beside what a postgres on PATH links to, or on PATH.
func (c *Cluster) tool(name string) (string, error) {
	dirs := []string{c.binDir}
	if real, err := filepath.EvalSymlinks(filepath.Join(c.binDir, "postgres")); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, d := range dirs {
		if p := filepath.Join(d, name); fileExists(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("pgcluster: %s not found beside %s: install the PostgreSQL server package's client programs", name, c.binDir)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// URL is the connection string for database name as the superuser.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// Port is the port the server listens on.
func (c *Cluster) Port() int { return c.port }

// Dir is the cluster's data directory.
func (c *Cluster) Dir() string { return c.dir }

// Done is closed when the server process has exited.
func (c *Cluster) Done() <-chan struct{} { return c.done }

// Stop shuts the server down (fast mode: active sessions are disconnected)
// and waits for it to exit.
func (c *Cluster) Stop() error {
	if c.cmd == nil || c.cmd.Process == nil {
		return nil
	}
	select {
	case <-c.done:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	return nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(c.dir, "PG_VERSION")); err == nil {
		return c.chown()
	}
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	if err := c.chown(); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, "initdb"),
		"-D", c.dir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	c.asServerUser(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pgcluster: initdb in %s failed: %w\n%s", c.dir, err, out.String())
	}
	return nil
}

// chown hands the data directory to the server user when running as root.
func (c *Cluster) chown() error {
	if c.cred == nil {
		return nil
	}
	return filepath.Walk(c.dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(c.cred.Uid), int(c.cred.Gid))
	})
}

// clearStalePID removes postmaster.pid left by a server that was killed,
// so a second start reuses the data directory. A live server keeps it.
func (c *Cluster) clearStalePID() error {
	pidFile := filepath.Join(c.dir, "postmaster.pid")
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return nil
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0]))
	if pid > 0 && syscall.Kill(pid, 0) == nil {
		return fmt.Errorf("pgcluster: a server (pid %d) is already running on %s; stop it first", pid, c.dir)
	}
	return os.Remove(pidFile)
}

func (c *Cluster) start() error {
	logPath := filepath.Join(c.dir, "server.log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	c.log = f
	// The server's own (pg_basebackup reads the whole data directory).
	if c.cred != nil {
		if err := f.Chown(int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
	}
	c.cmd = exec.Command(filepath.Join(c.binDir, "postgres"),
		"-D", c.dir,
		"-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=256MB",
	)
	c.cmd.Stdout, c.cmd.Stderr = f, f
	c.asServerUser(c.cmd)
	// A direct child, so that if this process dies the server is told to
	// shut down (fast) rather than being left behind.
	c.cmd.SysProcAttr.Pdeathsig = syscall.SIGINT
	if err := c.cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: starting postgres: %w", err)
	}
	go func() {
		err := c.cmd.Wait()
		c.mu.Lock()
		c.exitErr = err
		c.mu.Unlock()
		_ = f.Close()
		close(c.done)
	}()
	return nil
}

func (c *Cluster) asServerUser(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.cred != nil {
		cmd.SysProcAttr.Credential = c.cred
		cmd.Env = append(os.Environ(), "HOME="+c.dir)
		cmd.Dir = c.dir
	}
}

func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		select {
		case <-c.done:
			log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
			return fmt.Errorf("pgcluster: postgres exited during start-up:\n%s", tail(string(log), 20))
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: postgres did not accept connections within %s: %w", timeout, err)
		case <-tick.C:
		}
	}
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("pgcluster: running as root, but there is no \"postgres\" user to run the server as " +
			"(PostgreSQL refuses to run as root); install the postgresql package or run as another user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
