package proctest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/porticohq/portico/internal/config"
)

var (
	buildOnce sync.Once
	buildDir  string
	binary    string
	buildErr  error
)

// Binary is the path of the portico binary, built from this checkout
// once per test binary (without -race: the processes are the system under
// test, not the code under the race detector).
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "portico-proctest-")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(buildDir, "portico")
		out, err := exec.Command("go", "build", "-o", binary, "github.com/porticohq/portico/cmd/portico").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/portico: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("proctest: %v", buildErr)
	}
	return binary
}

type runner interface{ Run() int }

type mainRunner struct{ m runner }

func (r mainRunner) Run() int {
	code := r.m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	return code
}

// Main wraps a test binary's m so that the built binary is removed when
// the tests end: dbtest.Main(proctest.Main(m)).
func Main(m runner) runner { return mainRunner{m} }

// FreeAddr is a loopback address nothing listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// Process is one running `portico <mode>` process.
type Process struct {
	name string
	mode string
	file string
	url  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StopTimeout bounds how long Stop waits for a process to exit after
// SIGTERM: river.soft_stop_timeout plus River's own hard stop, or
// http.shutdown_timeout, fit within it.
const StopTimeout = 30 * time.Second

// Start runs `portico --config <cfg as YAML> <mode>` (serve, worker or
// run) named name in the logs, and for a serving mode waits until its
// /readyz answers 200. A serving process with no http.addr gets a free
// loopback port, kept across Restart. The process is stopped at the end of
// the test.
func Start(t testing.TB, name, mode string, cfg config.Config) *Process {
	t.Helper()
	bin := Binary(t)
	p := &Process{name: name, mode: mode}
	if mode != "worker" {
		if cfg.HTTP.Addr == "" || cfg.HTTP.Addr == config.Default().HTTP.Addr {
			cfg.HTTP.Addr = FreeAddr(t)
		}
		p.url = "http://" + cfg.HTTP.Addr
		if cfg.HTTP.PublicURL == "" || cfg.HTTP.PublicURL == config.Default().HTTP.PublicURL {
			cfg.HTTP.PublicURL = p.url
		}
	}
	raw, err := cfg.YAML()
	if err != nil {
		t.Fatalf("proctest: %s config: %v", name, err)
	}
	p.file = filepath.Join(t.TempDir(), name+".yaml")
	if err := os.WriteFile(p.file, raw, 0o600); err != nil {
		t.Fatalf("proctest: %v", err)
	}
	p.start(t, bin)
	t.Cleanup(func() {
		if p.Running() {
			if err := p.Stop(); err != nil {
				t.Logf("proctest: %s at the end of the test: %v", name, err)
			}
		}
	})
	return p
}

func (p *Process) start(t testing.TB, bin string) {
	t.Helper()
	cmd := exec.Command(bin, "--config", p.file, p.mode)
	logs := prefixed(p.name)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("proctest: starting %s: %v", p.name, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.err = cmd, done, nil
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		_ = logs.Close()
		close(done)
	}()
	if p.url != "" {
		p.waitReady(t)
	}
}

// waitReady waits until /readyz answers 200, failing the test if the
// process exits first or 60 s pass.
func (p *Process) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if !p.Running() {
			t.Fatalf("proctest: %s exited before it was ready: %v", p.name, p.exitErr())
		}
		resp, err := client.Get(p.url + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("proctest: %s not ready within 60 s", p.name)
}

// Name is the process's name in the logs.
func (p *Process) Name() string { return p.name }

// URL is a serving process's base URL ("" for a worker).
func (p *Process) URL() string { return p.url }

// Pid is the operating system's id of the current process.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Running says whether the process has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		return false
	default:
		return true
	}
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Stop sends SIGTERM and waits for the process to exit; it returns the
// exit's error (nil: exit 0), or an error if it was still running after
// StopTimeout, when it is killed.
func (p *Process) Stop() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-done:
		return p.exitErr()
	case <-time.After(StopTimeout):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("proctest: %s still running %s after SIGTERM: killed", p.name, StopTimeout)
	}
}

// Restart stops the process (SIGTERM, waiting for its exit, which must be
// clean) and starts it anew with the same configuration and address; t is
// the (sub)test that restarts it.
func (p *Process) Restart(t testing.TB) {
	t.Helper()
	if err := p.Stop(); err != nil {
		t.Fatalf("proctest: stopping %s: %v", p.name, err)
	}
	p.start(t, Binary(t))
}

// prefixed writes a process's output to the test binary's stderr, each
// line prefixed with the process's name.
func prefixed(name string) io.WriteCloser {
	r, w := io.Pipe()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			fmt.Fprintf(os.Stderr, "[%s] %s\n", name, sc.Text())
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	return w
}
