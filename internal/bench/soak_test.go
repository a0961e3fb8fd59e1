package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSoakValidate(t *testing.T) {
	t.Parallel()
	ok := SoakConfig{Duration: time.Minute, Sample: 10 * time.Second, Warmup: 20 * time.Second, Serves: 2, Workers: 2,
		Rate: 5, Records: 500, FaultRate: 0.05, StaffEvery: 2 * time.Second}
	require.NoError(t, ok.Validate())
	for want, mutate := range map[string]func(*SoakConfig){
		"--duration":    func(c *SoakConfig) { c.Duration = time.Second },
		"--sample":      func(c *SoakConfig) { c.Sample = 2 * time.Minute },
		"--warmup":      func(c *SoakConfig) { c.Warmup = time.Minute },
		"--serves":      func(c *SoakConfig) { c.Workers = 0 },
		"--rate":        func(c *SoakConfig) { c.Rate = 0 },
		"--records":     func(c *SoakConfig) { c.Records = 10 },
		"--fault-rate":  func(c *SoakConfig) { c.FaultRate = 0.9 },
		"--staff-every": func(c *SoakConfig) { c.StaffEvery = 0 },
	} {
		c := ok
		mutate(&c)
		err := c.Validate()
		require.True(t, IsUsage(err), "%s: %v", want, err)
		require.Contains(t, err.Error(), want)
	}
}

func TestSoakReadsProcesses(t *testing.T) {
	t.Parallel()
	require.EqualValues(t, 91236, vmRSS("Name:\tportico\nVmHWM:\t  99000 kB\nVmRSS:\t   91236 kB\nThreads:\t9\n"))
	require.Zero(t, vmRSS("Name:\tportico\n"))
	require.EqualValues(t, 40112, statusKB("VmRSS:\t   91236 kB\nRssAnon:\t   40112 kB\nRssFile:\t   51124 kB\n", "RssAnon:"))
	m, err := parseProm(strings.NewReader(`# HELP go_goroutines Number of goroutines.
# TYPE go_goroutines gauge
go_goroutines 42
portico_cache_hits_total{cache="pages"} 30
portico_cache_misses_total{cache="pages"} 70
portico_cache_hits_total{cache="sessions"} 99
portico_cache_misses_total{cache="sessions"} 1
`))
	require.NoError(t, err)
	g, ok := m.get("go_goroutines", "")
	require.True(t, ok)
	require.EqualValues(t, 42, g)
	h, ok := m.get("portico_cache_hits_total", `cache="sessions"`)
	require.True(t, ok)
	require.EqualValues(t, 99, h)
	rates := cacheHitRates(map[string]procSample{"serve-1": {Metrics: m}, "serve-2": {Metrics: m}})
	require.Equal(t, map[string]float64{"pages": 0.3, "sessions": 0.99}, rates)
	_, err = parseProm(strings.NewReader("go_goroutines many\n"))
	require.Error(t, err)
}

func TestSoakTellsInjectedFaultsFromOthers(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{"salesforce: status 503: Service Unavailable", "source unavailable", "rate limited: retry after 1s", "HTTP 429"} {
		require.True(t, isInjected(msg), msg)
	}
	for _, msg := range []string{"ERROR: deadlock detected (SQLSTATE 40P01)", "syncer: no mapping for accounting object \"Customer\": not synced", "record 5001 not found"} {
		require.False(t, isInjected(msg), msg)
	}
}

// Memory growth is taken between the medians of the first and the last
// samples after the warm-up: a heap that swings with the garbage
// collector's cycle but holds its level is no growth, one that climbs is.
func TestSoakGrowthIsTheTrendNotTheCycle(t *testing.T) {
	t.Parallel()
	run := func(rss ...int64) map[string]float64 {
		s := &soak{}
		for _, kb := range rss {
			s.steady = append(s.steady, map[string]procSample{"serve-1": {RSSKB: kb, AnonKB: kb / 2, HeapInuse: float64(kb), Goroutines: 25}})
			k := min(steadyWindow, (len(s.steady)+1)/2)
			s.base, s.last = medianSample(s.steady[:k]), medianSample(s.steady[len(s.steady)-k:])
		}
		g, _, flat := s.growth()
		require.True(t, flat)
		return g
	}
	// A sawtooth between 84 and 96 MB that starts low and ends high: one
	// sample against another says 14%.
	sawtooth := run(84_000, 96_000, 90_000, 95_000, 86_000, 94_000, 89_000, 84_000, 95_000, 96_000)
	require.Less(t, sawtooth["serve-1"], 10.0)
	// A steady climb of 2% a sample is growth, whatever the window.
	climb := run(80_000, 81_600, 83_200, 84_800, 86_400, 88_000, 89_600, 91_200, 92_800, 94_400)
	require.Greater(t, climb["serve-1"], 10.0)
}
