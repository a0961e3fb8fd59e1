package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// CommandFunc makes a process of the portico binary with these
// arguments (cmd/portico: os.Executable(); its tests: the test binary
// acting as the CLI).
type CommandFunc func(ctx context.Context, args ...string) (*exec.Cmd, error)

// procs is `portico serve` and `portico worker` processes on one
// database: real OS processes of the binary, each reachable over HTTP
// (a serve on its API address, a worker on river.metrics_addr).
type procs struct {
	procs []*proc
}

// proc is one process of the fleet.
type proc struct {
	name string // serve-1, worker-2
	base string // http://host:port of its API (serve) or metrics (worker)
	cmd  *exec.Cmd
	logs *procLog
	done chan struct{} // closed when it has exited
	err  error         // its exit, once done
}

// procLog counts a process's log lines at warn and error (it logs JSON)
// and keeps its error lines for the report.
type procLog struct {
	mu       sync.Mutex
	warnings int
	errors   []string
	tail     []string // the last lines, for a process that dies
}

// startProcs starts serves and workers with the configuration file and
// waits until each answers over HTTP. serveAddrs are the serves'
// addresses, chosen before (the simulator's webhooks point at the first).
func startProcs(ctx context.Context, command CommandFunc, file string, serveAddrs []string, workers int, out Output) (*procs, error) {
	f := &procs{}
	start := func(name, addr, probe string, env []string, args ...string) error {
		cmd, err := command(ctx, append([]string{"--config", file}, args...)...)
		if err != nil {
			return err
		}
		if cmd.Env == nil {
			cmd.Env = os.Environ()
		}
		cmd.Env = append(cmd.Env, env...)
		p := &proc{name: name, base: "http://" + addr, cmd: cmd, logs: &procLog{}, done: make(chan struct{})}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return err
		}
		cmd.Stdout = io.Discard
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("bench: starting %s: %w", name, err)
		}
		f.procs = append(f.procs, p)
		go func() {
			p.logs.read(stderr, name, out.Stderr)
			p.err = cmd.Wait()
			close(p.done)
		}()
		return p.waitHTTP(ctx, probe)
	}
	for i, addr := range serveAddrs {
		if err := start(fmt.Sprintf("serve-%d", i+1), addr, "/readyz", nil, "serve", "--http-addr", addr); err != nil {
			f.stop()
			return nil, err
		}
	}
	for i := range workers {
		addr, err := freeAddr()
		if err == nil {
			err = start(fmt.Sprintf("worker-%d", i+1), addr, "/healthz", []string{"PORTICO_RIVER_METRICS_ADDR=" + addr}, "worker")
		}
		if err != nil {
			f.stop()
			return nil, err
		}
	}
	return f, nil
}

// waitHTTP waits until the process answers 200 on path.
func (p *proc) waitHTTP(ctx context.Context, path string) error {
	err := pollFor(ctx, 2*time.Minute, 100*time.Millisecond, func() bool {
		select {
		case <-p.done:
			return true
		default:
		}
		res, err := http.Get(p.base + path)
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	select {
	case <-p.done:
		return fmt.Errorf("bench: %s exited before it answered (%w): %s", p.name, p.err, strings.Join(p.logs.lastLines(), "\n"))
	default:
	}
	if err != nil {
		return fmt.Errorf("bench: %s did not answer on %s: %w", p.name, path, err)
	}
	return nil
}

// serves are the fleet's serve processes' base URLs.
func (f *procs) serves() []string {
	var out []string
	for _, p := range f.procs {
		if strings.HasPrefix(p.name, "serve-") {
			out = append(out, p.base)
		}
	}
	return out
}

// exited names the processes that have exited.
func (f *procs) exited() []string {
	var out []string
	for _, p := range f.procs {
		select {
		case <-p.done:
			out = append(out, fmt.Sprintf("%s (%v)", p.name, p.err))
		default:
		}
	}
	return out
}

// stop sends SIGTERM to every process and waits for it to drain; one that
// does not within a minute is killed.
func (f *procs) stop() {
	for _, p := range f.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range f.procs {
		select {
		case <-p.done:
		case <-time.After(time.Minute):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

// procSample is what one look at a process saw.
type procSample struct {
	RSSKB int64
	// AnonKB is the part of RSS the process allocated (RssAnon), without
	// the pages of its binary's code that running paths map in.
	AnonKB     int64
	Goroutines float64
	// HeapInuse is the Go heap's spans in use, in bytes: what a leak
	// grows, where RSS also holds what the runtime has not returned yet.
	HeapInuse float64
	Metrics   promSample
}

// sample reads the process's resident memory from /proc and its
// /metrics.
func (p *proc) sample(ctx context.Context) (procSample, error) {
	var s procSample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return s, fmt.Errorf("bench: %s: %w", p.name, err)
	}
	s.AnonKB = statusKB(string(status), "RssAnon:")
	if s.RSSKB = vmRSS(string(status)); s.RSSKB == 0 {
		return s, fmt.Errorf("bench: %s: no VmRSS in /proc/%d/status", p.name, p.cmd.Process.Pid)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+"/metrics", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, fmt.Errorf("bench: %s /metrics: %w", p.name, err)
	}
	defer res.Body.Close()
	if s.Metrics, err = parseProm(res.Body); err != nil {
		return s, fmt.Errorf("bench: %s /metrics: %w", p.name, err)
	}
	var ok bool
	if s.Goroutines, ok = s.Metrics.get("go_goroutines", ""); !ok {
		return s, fmt.Errorf("bench: %s /metrics has no go_goroutines", p.name)
	}
	s.HeapInuse, _ = s.Metrics.get("go_memstats_heap_inuse_bytes", "")
	return s, nil
}

// vmRSS is VmRSS of a /proc/PID/status, in kB; 0 when absent.
func vmRSS(status string) int64 { return statusKB(status, "VmRSS:") }

// statusKB is a kB figure of a /proc/PID/status, by its key ("VmRSS:",
// "RssAnon:"); 0 when absent.
func statusKB(status, key string) int64 {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// promSample is a Prometheus text exposition: series (name and labels as
// written) to value.
type promSample map[string]float64

// parseProm reads the text format's samples; comments and histograms'
// buckets are kept like any series.
func parseProm(r io.Reader) (promSample, error) {
	out := promSample{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			return nil, fmt.Errorf("bad sample line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// get is the value of the series name whose labels contain label (such
// as `cache="pages"`; "" for the series without labels).
func (p promSample) get(name, label string) (float64, bool) {
	if label == "" {
		v, ok := p[name]
		return v, ok
	}
	for series, v := range p {
		if strings.HasPrefix(series, name+"{") && strings.Contains(series, label) {
			return v, true
		}
	}
	return 0, false
}

// read consumes a process's stderr: JSON log lines are counted by level,
// error lines kept and echoed to w with the process's name; anything else
// (a panic) is echoed and kept as an error.
func (l *procLog) read(r io.Reader, name string, w io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var rec struct {
			Level string `json:"level"`
		}
		isJSON := json.Unmarshal([]byte(line), &rec) == nil
		l.mu.Lock()
		l.tail = append(l.tail, line)
		if len(l.tail) > 20 {
			l.tail = l.tail[1:]
		}
		switch {
		case isJSON && rec.Level == "WARN":
			l.warnings++
		case isJSON && rec.Level != "ERROR":
		case strings.HasPrefix(line, "portico ") && strings.Contains(line, ": listening on "):
		default:
			l.errors = append(l.errors, line)
			fmt.Fprintf(w, "%s: %s\n", name, line)
		}
		l.mu.Unlock()
	}
}

func (l *procLog) lastLines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.tail...)
}

func (l *procLog) counts() (warnings int, errs []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.warnings, append([]string(nil), l.errors...)
}

// syncWriter serialises writes from several goroutines (the processes'
// log readers, the in-process app's logger) to one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// freeAddr is a loopback address free a moment ago, for a process to
// listen on.
func freeAddr() (string, error) {
	ln, err := listenLoopback()
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}
