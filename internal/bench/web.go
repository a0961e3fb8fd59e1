package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/devenv"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/store"
	"github.com/porticohq/portico/internal/web"
)

// WebConfig is the web bench: the portal's status hub (GET / as a
// signed-in demo user) through the whole server, next to a bare chi
// handler that renders the hub's template with fixed data, both over
// loopback HTTP with the same load generator in the same run, at each of
// Conns connections. The hub is measured twice: as configured (page cache
// on) and with the page cache off, as the first view after a sync finds
// it. Lighthouse adds Lighthouse's scores of the hub and a case page.
type WebConfig struct {
	Server Server
	// App is the loaded configuration the measured servers run with
	// (their database and connections are the bench's own).
	App  *config.Config
	Deps DepsFunc
	// Records seed the simulated sources, synced into the cache before
	// the measurements, as `portico dev` does.
	Records int
	// Conns are the concurrent connections of each measurement; the first
	// is the headline figure's.
	Conns    []int
	Duration time.Duration
	// Uncached measures only the hub with its page cache off (and the
	// baseline).
	Uncached bool
	// Lighthouse runs LighthouseScript (scripts/lighthouse.sh) on the hub
	// and a case page after the load measurements.
	Lighthouse       bool
	LighthouseScript string
	// LighthouseOut keeps Lighthouse's full reports (N.report.json) there;
	// empty discards them.
	LighthouseOut string
	// CPUProfile, when set, receives a CPU profile of the hub's
	// measurement (page cache on) at the first connection count.
	CPUProfile string
}

// Validate names the bad setting.
func (c WebConfig) Validate() error {
	if c.Records < 100 || c.Duration <= 0 || len(c.Conns) == 0 {
		return usage("--records must be at least 100, --duration positive and --conns name at least one count")
	}
	for _, n := range c.Conns {
		if n < 1 || n > 1024 {
			return usage("--conns must be between 1 and 1024; got %d", n)
		}
	}
	if c.Lighthouse && c.LighthouseScript == "" {
		return usage("--lighthouse-script must name the Lighthouse script")
	}
	return nil
}

// webGoalP99 is issue 13's goal for the hub's p99, and for its p99
// uncached at the fewest connections measured.
const webGoalP99 = 50 * time.Millisecond

// webBench is a run of the web bench.
type webBench struct {
	cfg      WebConfig
	out      Output
	st       *stack
	hubURL   string // the server as configured
	uncached string // the server with its page cache off
	bareURL  string
	cookie   string
	portal   *web.Web
	stops    []func()
}

// RunWeb runs the web bench and prints its figures.
func RunWeb(ctx context.Context, cfg WebConfig, out Output) error {
	return withDatabase(ctx, cfg, cfg.Server, out, func(db *database) error {
		b := &webBench{cfg: cfg, out: out}
		defer b.close()
		figures, err := b.run(ctx, db)
		if err != nil {
			return err
		}
		return writeResult(out.Stdout, figures)
	})
}

func (b *webBench) close() {
	for i := len(b.stops) - 1; i >= 0; i-- {
		b.stops[i]()
	}
}

func (b *webBench) run(ctx context.Context, db *database) (map[string]any, error) {
	start := time.Now()
	st, err := startStack(ctx, db.url, b.cfg.Deps, b.out, fakesource.Options{Seed: 1, Records: b.cfg.Records}, nil)
	if err != nil {
		return nil, err
	}
	b.st = st
	b.stops = append(b.stops, st.stop)
	// The demo story, so that the hub measured is the one `portico dev`
	// shows: every block of the account admin's hub holds something.
	if _, err := st.sim.TellStory(); err != nil {
		return nil, err
	}
	synced, err := fullSync(ctx, st, Output{Stdout: io.Discard, Stderr: b.out.Stderr})
	if err != nil {
		return nil, err
	}
	if err := store.RecordAnalyze(ctx, st.app.Pool()); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.out.Stdout, "synced %d records from the simulated sources in %s\n", synced.records, time.Since(start).Round(time.Millisecond))
	user, err := b.startServers(ctx)
	if err != nil {
		return nil, err
	}
	hub, err := b.checkHub(ctx)
	if err != nil {
		return nil, err
	}
	if err := b.serveBaseline(hub.counts); err != nil {
		return nil, err
	}
	fmt.Fprintf(b.out.Stdout, "status hub of %s (%s): %s, %d bytes gzipped\n", user.Email, strings.Join(user.Roles, ", "), hub.items, hub.bytes)
	figures := b.measureAll(ctx)
	figures["records"] = synced.records
	figures["user"] = user.Email
	figures["hub_items"] = hub.items
	figures["hub_bytes_gzip"] = hub.bytes
	if b.cfg.Lighthouse {
		scores, err := b.lighthouse(ctx, hub.caseHref)
		if err != nil {
			return nil, err
		}
		figures["lighthouse"] = scores
	}
	return figures, nil
}

// startServers makes the demo users, serves the portal twice (as
// configured, and with the page cache off) and the bare baseline, and
// signs the account admin in; it returns that user.
func (b *webBench) startServers(ctx context.Context) (devenv.User, error) {
	users, _, err := devenv.DemoUsers(ctx, b.st.app.Pool(), b.st.sim, "portico bench web")
	if err != nil {
		return devenv.User{}, err
	}
	var user devenv.User
	for _, u := range users {
		if len(u.Roles) == 1 && u.Roles[0] == auth.RoleAccountAdmin && u.Account != "" {
			user = u
			break
		}
	}
	if user.Email == "" {
		return devenv.User{}, errors.New("no demo account admin")
	}
	deps, err := b.cfg.Deps(b.cfg.App)
	if err != nil {
		return devenv.User{}, err
	}
	acfg := *b.cfg.App
	acfg.DatabaseURL = b.st.cfg.DatabaseURL
	acfg.Connections = nil
	acfg.Log.Level = "warn"
	a, url, err := serveApp(ctx, acfg, deps, b.out, &b.stops)
	if err != nil {
		return devenv.User{}, err
	}
	b.hubURL = url
	ucfg := acfg
	ucfg.HTTP.PageCacheMB = 0
	if _, b.uncached, err = serveApp(ctx, ucfg, deps, b.out, &b.stops); err != nil {
		return devenv.User{}, err
	}
	b.portal = a.Portal()
	// One session serves both servers: sessions live in the database.
	if b.cookie, err = apiLogin(ctx, b.hubURL, user.Email, user.Password); err != nil {
		return devenv.User{}, err
	}
	return user, nil
}

// serveBaseline serves the bare chi handler that renders the hub's
// template with fixed data: as many items in each block as the user's hub
// shows.
func (b *webBench) serveBaseline(counts map[string]int) error {
	bare := chi.NewRouter()
	bare.Get("/", b.portal.HubBaseline(counts).ServeHTTP)
	url, stop, err := serveLoopback(bare)
	if err != nil {
		return err
	}
	b.bareURL = url
	b.stops = append(b.stops, stop)
	return nil
}

// hubCheck is what one read of the hub showed.
type hubCheck struct {
	items    string // items per block, "cases 5, orders 2, ..."
	counts   map[string]int
	bytes    int
	caseHref string // a case of the user's, for Lighthouse
}

var (
	hubBlock = regexp.MustCompile(`<section class="block" id="([a-z_]+)"`)
	hubItem  = regexp.MustCompile(`<li class="item">`)
	hubCase  = regexp.MustCompile(`href="(/cases/[^"/]+)"`)
)

// checkHub reads the hub once on each server and makes sure the measured
// answer is the user's hub with its blocks, not an error page or the
// sign-in page.
func (b *webBench) checkHub(ctx context.Context) (hubCheck, error) {
	c := hubCheck{counts: map[string]int{}}
	for _, base := range []string{b.hubURL, b.uncached} {
		res, err := http.DefaultClient.Do(hubRequest(ctx, base, b.cookie, false))
		if err != nil {
			return c, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return c, err
		}
		if res.StatusCode != http.StatusOK || len(hubBlock.FindAllIndex(body, -1)) < 2 {
			return c, fmt.Errorf("GET / answered %d without the hub's blocks: %.300s", res.StatusCode, body)
		}
		var parts []string
		blocks := hubBlock.FindAllSubmatchIndex(body, -1)
		for i, m := range blocks {
			end := len(body)
			if i+1 < len(blocks) {
				end = blocks[i+1][0]
			}
			id, n := string(body[m[2]:m[3]]), len(hubItem.FindAllIndex(body[m[0]:end], -1))
			c.counts[id] = n
			parts = append(parts, fmt.Sprintf("%s %d", id, n))
		}
		c.items = strings.Join(parts, ", ")
		if m := hubCase.FindSubmatch(body); m != nil {
			c.caseHref = string(m[1])
		}
	}
	res, err := http.DefaultClient.Do(hubRequest(ctx, b.hubURL, b.cookie, true))
	if err != nil {
		return c, err
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.Header.Get("Content-Encoding") != "gzip" {
		return c, errors.New("GET / did not answer gzipped")
	}
	c.bytes = int(n)
	return c, nil
}

// hubRequest is GET / as a browser sends it; gzip asks for the
// compressed page, which the caller then reads as it comes.
func hubRequest(ctx context.Context, base, cookie string, gzip bool) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	return req
}

// getHub is the measured request: the hub as a browser asks for it.
func getHub(client *http.Client, base, cookie string) func(context.Context) error {
	return func(ctx context.Context) error {
		res, err := client.Do(hubRequest(ctx, base, cookie, true))
		if err != nil {
			return err
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || n < 500 {
			return fmt.Errorf("GET /: %d, %d bytes", res.StatusCode, n)
		}
		return nil
	}
}

// webRun is one measurement.
type webRun struct {
	conns int
	what  string // baseline, hub, hub_uncached
	l     load
}

func (r webRun) json() map[string]any {
	return map[string]any{"conns": r.conns, "measured": r.what, "requests_per_s": round1(r.l.perSec),
		"p50_ms": ms(r.l.p50), "p99_ms": ms(r.l.p99), "requests": r.l.requests, "errors": r.l.errors}
}

// measureAll measures, at each connection count, the baseline, the hub
// and the hub with its page cache off.
func (b *webBench) measureAll(ctx context.Context) map[string]any {
	cfg := b.cfg
	loadStart := readLoadAvg()
	fmt.Fprintf(b.out.Stdout, "%s per measurement, load average %s\n", cfg.Duration, loadStart)
	var runs []webRun
	for _, n := range cfg.Conns {
		client := &http.Client{Transport: &http.Transport{MaxIdleConns: n * 2, MaxIdleConnsPerHost: n * 2, MaxConnsPerHost: n}}
		measure := func(what, label, base, cookie string) {
			b.markFresh(ctx)
			if what == "hub" && n == cfg.Conns[0] {
				if stop, err := profileCPU(cfg.CPUProfile); err == nil {
					defer stop()
				} else {
					fmt.Fprintln(b.out.Stderr, err)
				}
			}
			l := generate(ctx, n, cfg.Duration, getHub(client, base, cookie))
			fmt.Fprintf(b.out.Stdout, "%3d conns  %-28s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  (%d requests, %d errors)\n",
				n, label, l.perSec, ms(l.p50), ms(l.p99), l.requests, l.errors)
			runs = append(runs, webRun{conns: n, what: what, l: l})
		}
		measure("baseline", "bare chi, same template", b.bareURL, "")
		if !cfg.Uncached {
			measure("hub", "GET / (status hub)", b.hubURL, b.cookie)
		}
		measure("hub_uncached", "  same, page cache off", b.uncached, b.cookie)
		client.CloseIdleConnections()
	}
	return webFigures(cfg, runs, loadStart, readLoadAvg())
}

// profileCPU writes a CPU profile to path (none when empty) until the
// returned function is called.
func profileCPU(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

// webFigures are the closing line's figures: the headline at the first
// connection count, every run, and the goals.
func webFigures(cfg WebConfig, runs []webRun, loadStart, loadEnd loadAvg) map[string]any {
	find := func(n int, what string) (load, bool) {
		for _, r := range runs {
			if r.conns == n && r.what == what {
				return r.l, true
			}
		}
		return load{}, false
	}
	head, low := cfg.Conns[0], cfg.Conns[len(cfg.Conns)-1]
	base, _ := find(head, "baseline")
	unc, _ := find(head, "hub_uncached")
	uncLow, _ := find(low, "hub_uncached")
	errs := 0
	all := make([]map[string]any, len(runs))
	for i, r := range runs {
		all[i] = r.json()
		errs += r.l.errors
	}
	fig := map[string]any{
		"bench": "web", "conns": cfg.Conns, "duration_s": cfg.Duration.Seconds(), "runs": all, "errors": errs,
		"loadavg_start": loadStart, "loadavg_end": loadEnd,
		"baseline_is":    "bare chi handler rendering the hub's template with fixed data, gzipped, same loopback load generator, same run",
		"baseline_per_s": round1(base.perSec), "baseline_p50_ms": ms(base.p50), "baseline_p99_ms": ms(base.p99),
		"uncached_requests_per_s": round1(unc.perSec), "uncached_p50_ms": ms(unc.p50), "uncached_p99_ms": ms(unc.p99),
		"uncached_ratio":              round2(unc.perSec / base.perSec),
		"low_conns":                   low,
		"uncached_low_requests_per_s": round1(uncLow.perSec), "uncached_low_p99_ms": ms(uncLow.p99),
		"goal_p99_ms": ms(webGoalP99),
	}
	met := uncLow.p99 <= webGoalP99
	if hub, ok := find(head, "hub"); ok {
		fig["requests_per_s"], fig["p50_ms"], fig["p99_ms"] = round1(hub.perSec), ms(hub.p50), ms(hub.p99)
		fig["ratio"] = round2(hub.perSec / base.perSec)
		met = met && hub.p99 <= webGoalP99
	}
	fig["goal_met"] = met && errs == 0
	return fig
}

// markFresh marks every synced object fresh, as a healthy syncer keeps
// it, so that a measured hub does not schedule refreshes of stale
// records.
func (b *webBench) markFresh(ctx context.Context) {
	for _, t := range b.st.app.Syncer().Targets() {
		if err := store.BenchMarkFresh(ctx, b.st.app.Pool(), store.BenchMarkFreshParams{Connection: t.Connection, Object: t.Object}); err != nil {
			fmt.Fprintf(b.out.Stderr, "marking the cache fresh: %v\n", err)
		}
	}
}
