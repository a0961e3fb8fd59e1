package fakesource

import (
	"fmt"
	"slices"
	"time"
)

// Faults are the failures injected into one system's API calls (never into /_sim/).
// Rates are fractions in [0,1] evaluated independently per call.
type Faults struct {
	// LatencyMinMS and LatencyMaxMS add a uniformly distributed delay before answering.
	LatencyMinMS int `json:"latency_min_ms,omitempty"`
	LatencyMaxMS int `json:"latency_max_ms,omitempty"`
	// ErrorRate answers 500 or 503 (alternating at random) with the vendor's error body.
	ErrorRate float64 `json:"error_rate,omitempty"`
	// RateLimitRate answers 429 with Retry-After: RetryAfterSeconds (default 1).
	RateLimitRate     float64 `json:"rate_limit_rate,omitempty"`
	RetryAfterSeconds int     `json:"retry_after_seconds,omitempty"`
	// DailyQuota is the number of API calls allowed per UTC day; 0 means unlimited.
	// Salesforce then answers 403 REQUEST_LIMIT_EXCEEDED, the others 429.
	DailyQuota int `json:"daily_quota,omitempty"`
	// OutageUntil makes every call answer 503 until this time. OutageSeconds, when set,
	// is converted to OutageUntil = now + OutageSeconds when the faults are applied.
	OutageUntil   time.Time `json:"outage_until,omitzero"`
	OutageSeconds float64   `json:"outage_seconds,omitempty"`
	// ResetRate hijacks the connection and closes it without an answer.
	ResetRate float64 `json:"reset_rate,omitempty"`
	// SlowBodyBytesPerSec trickles response bodies at this rate (0 = off).
	SlowBodyBytesPerSec int `json:"slow_body_bytes_per_sec,omitempty"`
	// StaleNextWrite makes the next write collide with a concurrent edit: the target
	// record is edited by "someone else" just before the write is applied, so a write
	// carrying the old version/SyncToken/If-Unmodified-Since fails as stale. One-shot.
	StaleNextWrite bool `json:"stale_next_write,omitempty"`
}

// SetFaults replaces the faults of one system, or of all systems when system is "".
func (s *Sim) SetFaults(system string, f Faults) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setFaultsLocked(system, f)
}

// CurrentFaults returns the faults in force per system.
func (s *Sim) CurrentFaults() map[string]Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Faults, len(systems))
	for _, sys := range systems {
		out[sys] = s.faults[sys]
	}
	return out
}

func (s *Sim) setFaultsLocked(system string, f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	if f.OutageSeconds > 0 {
		f.OutageUntil = s.now().Add(time.Duration(f.OutageSeconds * float64(time.Second)))
		f.OutageSeconds = 0
	}
	if system == "" {
		for _, sys := range systems {
			s.faults[sys] = f
		}
		return nil
	}
	if !validSystem(system) {
		return fmt.Errorf("%w: unknown system %q (want salesforce, accounting or inventory)", ErrInvalid, system)
	}
	s.faults[system] = f
	return nil
}

func validSystem(system string) bool { return slices.Contains(systems, system) }

func (f Faults) validate() error {
	for name, v := range map[string]float64{"error_rate": f.ErrorRate, "rate_limit_rate": f.RateLimitRate, "reset_rate": f.ResetRate} {
		if v < 0 || v > 1 {
			return fmt.Errorf("%w: %s must be within 0..1, got %v", ErrInvalid, name, v)
		}
	}
	for name, v := range map[string]int{"latency_min_ms": f.LatencyMinMS, "latency_max_ms": f.LatencyMaxMS, "retry_after_seconds": f.RetryAfterSeconds,
		"daily_quota": f.DailyQuota, "slow_body_bytes_per_sec": f.SlowBodyBytesPerSec} {
		if v < 0 {
			return fmt.Errorf("%w: %s must not be negative", ErrInvalid, name)
		}
	}
	if f.LatencyMaxMS > 0 && f.LatencyMaxMS < f.LatencyMinMS {
		return fmt.Errorf("%w: latency_max_ms must be >= latency_min_ms", ErrInvalid)
	}
	if f.OutageSeconds < 0 {
		return fmt.Errorf("%w: outage_seconds must not be negative", ErrInvalid)
	}
	return nil
}

func (s *Sim) faultsFor(system string) Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[system]
}

// takeStaleNextWrite consumes the one-shot stale_next_write fault; callers hold s.mu.
func (s *Sim) takeStaleNextWriteLocked(system string) bool {
	f := s.faults[system]
	if !f.StaleNextWrite {
		return false
	}
	f.StaleNextWrite = false
	s.faults[system] = f
	return true
}
