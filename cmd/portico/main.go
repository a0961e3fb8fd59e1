// Command portico is the one Portico binary: API server, River workers,
// the embedded dev environment, migrations and the operator and
// integrator tooling.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(cliMain(os.Args[1:])) }

// cliMain runs the CLI as a process does: until SIGINT or SIGTERM.
func cliMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr)
}
