// Package fakesim runs the conformance suite (connectors/conntest)
// against internal/fakesource: it adapts one of the simulator's systems to
// conntest.Source.
package fakesim

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/porticohq/portico/connectors/conntest"
	"github.com/porticohq/portico/internal/fakesource"
)

// Source is one simulated system as a conntest.Source.
type Source struct {
	http.Handler
	// Sim is the whole simulator, for a harness's own seeds.
	Sim    *fakesource.Sim
	system string
}

// Start returns a conntest.Harness.Source for system (fakesource.Salesforce,
// Accounting or Inventory), seeded with records (0 means 400).
func Start(system string, records int) func(t *testing.T, o conntest.SourceOptions) conntest.Source {
	if records <= 0 {
		records = 400
	}
	return func(t *testing.T, o conntest.SourceOptions) conntest.Source {
		t.Helper()
		sim, err := fakesource.New(fakesource.Options{Seed: 11, Records: records, Now: o.Now, TokenTTL: o.TokenTTL,
			VisibilityLag: o.VisibilityLag, WebhookURL: o.WebhookURL})
		if err != nil {
			t.Fatalf("fakesim: %v", err)
		}
		t.Cleanup(sim.Close)
		return &Source{Handler: sim.Handler(), Sim: sim, system: system}
	}
}

// Of returns the Source a fakesim harness was given.
func Of(src conntest.Source) *Source { return src.(*Source) }

// Credentials are the system's credentials when served at baseURL.
func (s *Source) Credentials(baseURL string) fakesource.SystemCredentials {
	cr := s.Sim.Credentials(baseURL)
	switch s.system {
	case fakesource.Salesforce:
		return cr.Salesforce
	case fakesource.Accounting:
		return cr.Accounting
	}
	return cr.Inventory
}

// SeedID is the id of object's i-th seed record; it panics past the end.
func (s *Source) SeedID(object string, i int) string {
	id, err := s.Sim.SeedID(s.system, object, i)
	if err != nil {
		panic(err)
	}
	return id
}

// SeedIDs implements conntest.Source.
func (s *Source) SeedIDs(object string) []string {
	var ids []string
	for i := 0; ; i++ {
		id, err := s.Sim.SeedID(s.system, object, i)
		if err != nil {
			return ids
		}
		ids = append(ids, id)
	}
}

// Live implements conntest.Source.
func (s *Source) Live(object string) int { return s.Sim.Stats().Records[s.system][object] }

// Create implements conntest.Source.
func (s *Source) Create(object string, fields map[string]any, stamp time.Time) (string, error) {
	var opts []fakesource.CreateOption
	if !stamp.IsZero() {
		opts = append(opts, fakesource.WithModstamp(stamp))
	}
	return s.Sim.CreateRecord(s.system, object, fields, opts...)
}

// Edit implements conntest.Source.
func (s *Source) Edit(object, id string, fields map[string]any) error {
	return s.Sim.StaffEdit(s.system, object, id, fields)
}

// Delete implements conntest.Source.
func (s *Source) Delete(object, id string) error { return s.Sim.DeleteRecord(s.system, object, id) }

// Calls implements conntest.Source.
func (s *Source) Calls(endpoint string, status int) int {
	return s.Sim.Stats().CallCount(s.system, endpoint, status)
}

// Throttled implements conntest.Source: QuickBooks also throttles with 403.
func (s *Source) Throttled() int {
	n := s.Calls("", http.StatusTooManyRequests)
	if s.system == fakesource.Accounting {
		n += s.Calls("", http.StatusForbidden)
	}
	return n
}

// KeyUses implements conntest.Source.
func (s *Source) KeyUses(key string) int {
	n := 0
	for _, w := range s.Sim.Stats().Writes {
		if w.System == s.system && strings.Contains(w.Key, key) {
			n += w.Count
		}
	}
	return n
}

// Throttle implements conntest.Source.
func (s *Source) Throttle(retryAfter time.Duration) error {
	if retryAfter <= 0 {
		return s.Sim.SetFaults(s.system, fakesource.Faults{})
	}
	return s.Sim.SetFaults(s.system, fakesource.Faults{RateLimitRate: 1, RetryAfterSeconds: int(retryAfter.Seconds())})
}

// Outage implements conntest.Source.
func (s *Source) Outage(on bool) error {
	if !on {
		return s.Sim.SetFaults(s.system, fakesource.Faults{})
	}
	return s.Sim.SetFaults(s.system, fakesource.Faults{OutageSeconds: 3600})
}
