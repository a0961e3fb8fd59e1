// Package bench holds Portico's benchmarks, one file per bench: api, sync,
// river, connectors, writeback, mapping, web, notify, files, quota, tracing
// and soak. Each has a typed Config with a
// Validate method and a Run(ctx, cfg, out) entry point that prints progress
// for people and, as its last line, one JSON object with its figures
// (DESIGN.md, "Surfaces that scripts rely on"). cmd/portico only parses
// flags into a Config and calls Run.
//
// A bench that needs a database makes its own (database.go) and runs the
// real code paths in-process against the simulated sources; the soak runs
// serve and worker processes of the binary on it (procs.go). It runs SQL
// only through internal/store (queries/bench.sql and benchdb.go).
package bench
