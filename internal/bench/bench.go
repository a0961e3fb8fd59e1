package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/porticohq/portico/internal/app"
	"github.com/porticohq/portico/internal/config"
)

// Output is where a bench writes: progress and the closing JSON line to
// Stdout, the warnings of the processes it runs to Stderr.
type Output struct {
	Stdout, Stderr io.Writer
}

// DepsFunc builds the app's dependencies (connector registry, compiled
// mappings) for a configuration; cmd/portico passes its wiring.
type DepsFunc func(*config.Config) (app.Deps, error)

// UsageError is a Config that does not validate: bad usage, not a failed
// run.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usage(format string, args ...any) error {
	return &UsageError{msg: fmt.Sprintf(format, args...)}
}

// IsUsage says whether err is a Config that did not validate.
func IsUsage(err error) bool {
	var ue *UsageError
	return errors.As(err, &ue)
}

// writeResult prints the closing JSON line of a benchmark.
func writeResult(w io.Writer, figures map[string]any) error {
	line, err := json.Marshal(figures)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(line))
	return err
}

// warnLogger is the log of an in-process Portico: warnings and worse.
func (o Output) warnLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(o.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// logger is the log of the chaos run's worker process: errors only.
func (o Output) errorLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(o.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	return pollFor(ctx, timeout, 5*time.Millisecond, cond)
}

// pollFor is waitFor checking every interval: for a condition that costs
// the system under measurement something to check.
func pollFor(ctx context.Context, timeout, every time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("condition not met within " + timeout.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
	return nil
}

// serveLoopback serves h on a loopback port until stop.
func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	// Shutdown, not Close: it waits for handlers (and their log lines) to
	// finish before the bench reports.
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
	}
	return "http://" + ln.Addr().String(), stop, nil
}

// percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i].Round(100 * time.Microsecond)
}

func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }
func round1(f float64) float64   { return float64(int64(f*10+0.5)) / 10 }
func round2(f float64) float64   { return float64(int64(f*100+0.5)) / 100 }

func listenLoopback() (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }
