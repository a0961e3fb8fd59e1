// Command fakesource serves the simulated Salesforce-, QuickBooks- and Square-style source
// systems (package internal/fakesource) on one listener, for local development, demos and
// chaos runs. It prints its URL and the credentials a Portico configuration needs.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/porticohq/portico/internal/fakesource"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

type config struct {
	addr        string
	opts        fakesource.Options
	faultSystem string
	faults      fakesource.Faults
	outage      time.Duration
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("fakesource", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8090", "listen address")
	fs.Int64Var(&c.opts.Seed, "seed", 1, "data seed (same seed, same data)")
	fs.IntVar(&c.opts.Records, "records", 10000, "seed records across all objects (0..1000000)")
	fs.DurationVar(&c.opts.VisibilityLag, "lag", 0, "visibility lag: records show in queries this long after their modstamp")
	fs.StringVar(&c.opts.WebhookURL, "webhook-url", "", "where change notifications are POSTed ({system} is replaced by the system name)")
	fs.StringVar(&c.opts.WebhookSecret, "webhook-secret", "", "webhook HMAC key, and the path segment Salesforce outbound messages are posted under (<webhook-url>/<secret>) (default sim-webhook-secret)")
	fs.DurationVar(&c.opts.TokenTTL, "token-ttl", time.Hour, "OAuth access token lifetime")
	fs.DurationVar(&c.opts.RefreshGrace, "refresh-grace", 2*time.Minute, "how long a rotated QuickBooks refresh token keeps working")
	fs.StringVar(&c.opts.SalesforceOrgID, "sf-org-id", "", "organization id in Salesforce outbound messages (default a fixed id)")
	fs.StringVar(&c.opts.StateDir, "state-dir", "", "keep the simulated world across restarts in this directory (default: memory only)")
	fs.StringVar(&c.faultSystem, "fault-system", "", "system the fault flags apply to: salesforce, accounting, inventory or empty for all")
	fs.IntVar(&c.faults.LatencyMinMS, "latency-min-ms", 0, "minimum added latency per call")
	fs.IntVar(&c.faults.LatencyMaxMS, "latency-max-ms", 0, "maximum added latency per call")
	fs.Float64Var(&c.faults.ErrorRate, "error-rate", 0, "fraction of calls answered 500/503")
	fs.Float64Var(&c.faults.RateLimitRate, "rate-limit-rate", 0, "fraction of calls answered 429")
	fs.IntVar(&c.faults.RetryAfterSeconds, "retry-after", 1, "Retry-After seconds on 429")
	fs.IntVar(&c.faults.DailyQuota, "daily-quota", 0, "API calls per day per system (0 = unlimited)")
	fs.DurationVar(&c.outage, "outage", 0, "answer every call 503 for this long after start")
	fs.Float64Var(&c.faults.ResetRate, "reset-rate", 0, "fraction of calls whose connection is reset")
	fs.IntVar(&c.faults.SlowBodyBytesPerSec, "slow-body-bps", 0, "trickle response bodies at this many bytes per second")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	c.faults.OutageSeconds = c.outage.Seconds()
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "fakesource:", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	c.opts.Logger = logger
	start := time.Now()
	sim, err := fakesource.New(c.opts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	defer sim.Close()
	if err := sim.SetFaults(c.faultSystem, c.faults); err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		fmt.Fprintln(stderr, "fakesource: listen:", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	creds, _ := json.MarshalIndent(sim.Credentials(base), "", "  ")
	fmt.Fprintf(stdout, "fakesource: %d seed records (seed %d) ready in %s\n", c.opts.Records, c.opts.Seed, time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "fakesource: serving %s (control API at %s/_sim/)\n%s\n", base, base, creds)

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintln(stderr, "fakesource: serve:", err)
		return 1
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		fmt.Fprintln(stderr, "fakesource: shutdown:", err)
		return 1
	}
	fmt.Fprintln(stdout, "fakesource: stopped")
	return 0
}
