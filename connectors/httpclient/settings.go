package httpclient

import (
	"errors"
	"fmt"
	"time"
)

// Settings are one connection's client settings. They arrive complete: the
// operator's configuration fills every default (Portico's
// config.DefaultConnection), so New checks them and never guesses a value.
type Settings struct {
	// Name names the connection in errors, logs and metrics.
	Name    string
	Quota   Quota
	Breaker Breaker
	Retry   Retry
	// RequestTimeout bounds one HTTP request, each attempt on its own.
	RequestTimeout time.Duration
	// MaxResponseBytes caps one response body.
	MaxResponseBytes int64
}

// Quota is a connection's call budget; a zero limit is no limit.
type Quota struct {
	PerMinute int
	PerDay    int
	// WriteShare is the fraction of each budget reserved for customer
	// writes, which background reads may not spend.
	WriteShare float64
}

// Breaker configures the circuit breaker.
type Breaker struct {
	// Failures is the number of consecutive failures that opens it.
	Failures int
	// OpenTimeout is how long it stays open before it half-opens.
	OpenTimeout time.Duration
}

// Retry configures retries: at most Max more attempts, waiting between
// WaitMin and WaitMax (a longer Retry-After is not waited out).
type Retry struct {
	Max     int
	WaitMin time.Duration
	WaitMax time.Duration
}

// SettingsProvider gives a connection's Settings. Settings provides
// itself; Portico's config.ConnectionConfig provides the operator's.
type SettingsProvider interface {
	ClientSettings() Settings
}

// ClientSettings implements SettingsProvider.
func (s Settings) ClientSettings() Settings { return s }

// validate refuses settings that are incomplete or out of range, naming
// the config key, so that a caller that skipped the defaults is told
// rather than served by guesses.
func (s Settings) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if s.Name == "" {
		bad("name", "is required")
	}
	if s.Quota.PerMinute < 0 || s.Quota.PerDay < 0 {
		bad("quota", "per_minute and per_day must not be negative")
	}
	if s.Quota.WriteShare < 0 || s.Quota.WriteShare >= 1 {
		bad("quota.write_share", "must be in [0,1); got %g", s.Quota.WriteShare)
	}
	if s.Breaker.Failures < 1 {
		bad("breaker.failures", "must be at least 1; got %d", s.Breaker.Failures)
	}
	if s.Breaker.OpenTimeout <= 0 {
		bad("breaker.open_timeout", "must be positive; got %s", s.Breaker.OpenTimeout)
	}
	if s.Retry.Max < 0 || s.Retry.WaitMin <= 0 || s.Retry.WaitMax < s.Retry.WaitMin {
		bad("retry", "needs max >= 0 and 0 < wait_min <= wait_max; got %+v", s.Retry)
	}
	if s.RequestTimeout <= 0 {
		bad("request_timeout", "must be positive; got %s", s.RequestTimeout)
	}
	if s.MaxResponseBytes <= 0 {
		bad("max_response_bytes", "must be positive; got %d", s.MaxResponseBytes)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("httpclient: incomplete settings: %w", err)
	}
	return nil
}
