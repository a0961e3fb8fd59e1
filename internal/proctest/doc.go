// Package proctest runs real `portico serve` and `portico worker`
// processes for tests: the binary is built once per test binary (Binary),
// each process gets its configuration as a YAML file (config.YAML) and is
// stopped with SIGTERM as an operator would (Process), and Balancer is the
// load balancer a fleet of serve processes sits behind. A test binary that
// doubles as its own child process (a worker built by the test) uses
// Child in TestMain and StartChild in the test.
//
// It is a test helper: production code must not import it. It owns no
// fixtures (databases come from dbtest, sources from fakesourcetest).
package proctest
