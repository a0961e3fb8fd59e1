package proctest

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
)

// The test binary may double as a child process: its TestMain runs the
// child's work instead of the tests when the environment says so (Child),
// and a test starts such a child with StartChild. Unlike Start, it needs
// no build and runs whatever the test package wires up (a bare worker, a
// stack with test options), not only `portico`.

// Child runs run as this process's whole work and exits with its result
// when the environment variable env is set; else it returns at once.
// TestMain calls it first. run's ctx ends on SIGTERM or an interrupt, and
// its logger writes errors to stderr.
func Child(env string, run func(ctx context.Context, logger *slog.Logger) int) {
	if os.Getenv(env) == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	stop()
	os.Exit(code)
}

// StartChild runs this test binary again as a child process, with env
// (KEY=value pairs, one of them naming the child for Child) added to its
// environment and no test selected. Its stderr is the test's; at the end
// of the test it is sent SIGTERM and waited for.
func StartChild(t testing.TB, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("proctest: starting a child: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	return cmd
}
