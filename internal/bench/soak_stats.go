package bench

import (
	"regexp"
	"slices"
	"sync"
	"time"
)

// routeStats collects the latencies and errors of each route, per window
// of the run and over all of it.
type routeStats struct {
	mu       sync.Mutex
	window   map[string]*routeWindow
	all      map[string]*routeWindow
	errors   int
	examples []string // the first errors that were not injected faults
}

type routeWindow struct {
	lat    []time.Duration
	errors int
}

func newRouteStats() *routeStats {
	return &routeStats{window: map[string]*routeWindow{}, all: map[string]*routeWindow{}}
}

// record counts one request of route: its latency when it succeeded, or
// its error. The injected faults are the source's, behind the cache and
// the write-back's queue: no customer request should see one, so every
// error here counts against the goal.
func (s *routeStats) record(route string, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range []map[string]*routeWindow{s.window, s.all} {
		w := m[route]
		if w == nil {
			w = &routeWindow{}
			m[route] = w
		}
		if err != nil {
			w.errors++
		} else {
			w.lat = append(w.lat, d)
		}
	}
	if err != nil {
		s.errors++
		if len(s.examples) < 10 {
			s.examples = append(s.examples, route+": "+err.Error())
		}
	}
}

// flush returns the window's figures per route and starts the next.
func (s *routeStats) flush() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := routeFigures(s.window)
	s.window = map[string]*routeWindow{}
	return out
}

// total returns the whole run's figures per route and its requests.
func (s *routeStats) total() (map[string]any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, w := range s.all {
		n += len(w.lat) + w.errors
	}
	return routeFigures(s.all), n
}

func (s *routeStats) errorCounts() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errors, slices.Clone(s.examples)
}

func routeFigures(m map[string]*routeWindow) map[string]any {
	out := make(map[string]any, len(m))
	for route, w := range m {
		slices.Sort(w.lat)
		out[route] = map[string]any{"n": len(w.lat) + w.errors, "errors": w.errors,
			"p50_ms": ms(percentile(w.lat, .5)), "p99_ms": ms(percentile(w.lat, .99))}
	}
	return out
}

// injectedFault recognises in a process's log line or a job's failed
// attempt what the simulator's injected faults cause: its 500, 503 and
// 429 answers, as the connectors classify and report them.
var injectedFault = regexp.MustCompile(`(?i)\b(500|503|429)\b|unavailable|rate.?limit|too many requests|internal server error|breaker is open|circuit breaker`)

func isInjected(msg string) bool { return injectedFault.MatchString(msg) }
