package mapping

import (
	"flag"
	"os"
	"testing"
)

// TestMain caps how long the fuzzer minimises a newly interesting input
// (default 60s) unless the caller chose: compiling a mapping takes about a
// millisecond, so minimising one would eat a whole short CI fuzz run.
func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.fuzzminimizetime" })
	if !set {
		_ = flag.Set("test.fuzzminimizetime", "2s")
	}
	os.Exit(m.Run())
}
