// Package bench holds Portico's benchmarks, one file per bench: api, sync,
// river, connectors, writeback and mapping. Each has a typed Config with a
// Validate method and a Run(ctx, cfg, out) entry point that prints progress
// for people and, as its last line, one JSON object with its figures
// (DESIGN.md, "Surfaces that scripts rely on"). cmd/portico only parses
// flags into a Config and calls Run.
//
// A bench that needs a database makes its own (database.go) and runs the
// real code paths in-process against the simulated sources. It runs SQL
// only through internal/store (queries/bench.sql and benchdb.go).
package bench
