// Package apptest runs a whole Portico (app.App) inside a test's own
// process: on a port of 127.0.0.1 free when it starts, on the test's
// database, until the test ends. The tests of app, notify and any other
// package that drive the API, the workers and the sources together share
// it, so that a change to how a process opens, listens or stops is made
// once.
//
// It starts no other process and touches no source: the test brings its
// simulators, connections and mappings (devenv.SimConnection builds the
// connections), and the multi-process tests spawn their own.
package apptest
