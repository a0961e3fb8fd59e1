package httpclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
)

type bundle struct {
	client *httpclient.Client
	reg    *prometheus.Registry
	hits   *atomic.Int64
	url    string
}

// quick completes s with settings that keep tests fast: New takes
// complete settings and fills nothing itself.
func quick(s httpclient.Settings) httpclient.Settings {
	if s.Name == "" {
		s.Name = "test"
	}
	if s.Retry.WaitMin == 0 {
		s.Retry = httpclient.Retry{Max: 3, WaitMin: time.Millisecond, WaitMax: 10 * time.Millisecond}
	}
	if s.Breaker.Failures == 0 {
		s.Breaker = httpclient.Breaker{Failures: 5, OpenTimeout: 30 * time.Second}
	}
	if s.Quota.WriteShare == 0 {
		s.Quota.WriteShare = 0.2
	}
	if s.RequestTimeout == 0 {
		s.RequestTimeout = 5 * time.Second
	}
	if s.MaxResponseBytes == 0 {
		s.MaxResponseBytes = 1 << 20
	}
	return s
}

func setup(t *testing.T, conn httpclient.Settings, h http.HandlerFunc) bundle {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	reg := prometheus.NewRegistry()
	m, err := httpclient.NewMetrics(reg)
	require.NoError(t, err)
	c, err := httpclient.New(httpclient.Options{Connection: quick(conn), Metrics: m})
	require.NoError(t, err)
	return bundle{client: c, reg: reg, hits: &hits, url: srv.URL}
}

// TestNewRefusesIncompleteSettings: the client fills no defaults (the
// operator's config does, once), so a zero setting is an error naming the
// key rather than a silent guess.
func TestNewRefusesIncompleteSettings(t *testing.T) {
	t.Parallel()
	_, err := httpclient.New(httpclient.Options{})
	require.ErrorContains(t, err, "Options.Connection is required")
	_, err = httpclient.New(httpclient.Options{Connection: httpclient.Settings{Name: "bare"}})
	require.Error(t, err)
	for _, key := range []string{"breaker.failures", "breaker.open_timeout", "retry", "request_timeout", "max_response_bytes"} {
		require.ErrorContains(t, err, key)
	}
	for name, tweak := range map[string]func(*httpclient.Settings){
		"name":               func(s *httpclient.Settings) { s.Name = "" },
		"quota.write_share":  func(s *httpclient.Settings) { s.Quota.WriteShare = 1 },
		"quota":              func(s *httpclient.Settings) { s.Quota.PerDay = -1 },
		"retry":              func(s *httpclient.Settings) { s.Retry.WaitMax = s.Retry.WaitMin / 2 },
		"max_response_bytes": func(s *httpclient.Settings) { s.MaxResponseBytes = 0 },
	} {
		s := quick(httpclient.Settings{})
		tweak(&s)
		_, err := httpclient.New(httpclient.Options{Connection: s})
		require.ErrorContains(t, err, name+":", name)
	}
	_, err = httpclient.New(httpclient.Options{Connection: quick(httpclient.Settings{})})
	require.NoError(t, err, "complete settings are accepted")
}

func get(t *testing.T, b bundle) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, b.url+"/x", nil)
	require.NoError(t, err)
	return b.client.Do(req)
}

func post(t *testing.T, b bundle, marks ...func(*http.Request) *http.Request) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, b.url+"/x", strings.NewReader(`{"a":1}`))
	require.NoError(t, err)
	for _, m := range marks {
		req = m(req)
	}
	return b.client.Do(req)
}

// gauge reads one series from the registry.
func gauge(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue(), true
			}
			return m.GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func TestRetriesSafeRequestsOnly(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	b := setup(t, httpclient.Settings{}, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	})

	resp, err := get(t, b)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	require.EqualValues(t, 2, b.hits.Load(), "a GET is retried")

	resp, err = post(t, b)
	require.NoError(t, err)
	require.Equal(t, 503, resp.StatusCode, "a POST without an idempotency key is sent once")
	require.EqualValues(t, 3, b.hits.Load())

	n.Store(0)
	resp, err = post(t, b, httpclient.Idempotent, httpclient.Write)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "a keyed write is retried")
	require.EqualValues(t, 5, b.hits.Load())

	v, ok := gauge(t, b.reg, "portico_source_requests_total", map[string]string{"connection": "test", "status": "503"})
	require.True(t, ok)
	require.EqualValues(t, 3, v)
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	b := setup(t, httpclient.Settings{Retry: httpclient.Retry{Max: 2, WaitMin: time.Millisecond, WaitMax: 2 * time.Second}},
		func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			if r.URL.Query().Get("long") != "" {
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			w.WriteHeader(204)
		})
	start := time.Now()
	resp, err := get(t, b)
	require.NoError(t, err)
	require.Equal(t, 204, resp.StatusCode)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "waited for Retry-After")

	// A wait longer than Retry.WaitMax is not slept through: the 429 comes
	// back at once for the caller to snooze on.
	req, _ := http.NewRequest(http.MethodGet, b.url+"/x?long=1", nil)
	start = time.Now()
	resp, err = b.client.Do(req)
	require.NoError(t, err)
	require.Equal(t, 429, resp.StatusCode)
	require.Less(t, time.Since(start), time.Second)
	wait, ok := httpclient.RetryAfter(resp.Header)
	require.True(t, ok)
	require.Equal(t, 120*time.Second, wait)
	require.EqualValues(t, 3, b.hits.Load())
}

func TestBreakerOpensAndHalfOpens(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	down.Store(true)
	b := setup(t, httpclient.Settings{
		Breaker: httpclient.Breaker{Failures: 3, OpenTimeout: 150 * time.Millisecond},
	}, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("bad") != "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if down.Load() {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(200)
	})

	// Client errors say nothing about the source's health.
	for range 5 {
		req, _ := http.NewRequest(http.MethodGet, b.url+"/x?bad=1", nil)
		resp, err := b.client.Do(req)
		require.NoError(t, err)
		require.Equal(t, 400, resp.StatusCode)
	}
	require.Equal(t, httpclient.BreakerClosed, b.client.Breaker())

	// POSTs are sent once each, so each is exactly one failure (retries
	// would count too: every attempt is a call the source failed).
	for i := range 3 {
		require.Equal(t, httpclient.BreakerClosed, b.client.Breaker(), "closed before failure %d", i+1)
		resp, err := post(t, b)
		require.NoError(t, err)
		require.Equal(t, 502, resp.StatusCode)
	}
	require.Equal(t, httpclient.BreakerOpen, b.client.Breaker())
	v, _ := gauge(t, b.reg, "portico_breaker_state", map[string]string{"connection": "test"})
	require.EqualValues(t, 2, v)

	hits := b.hits.Load()
	_, err := get(t, b)
	require.ErrorIs(t, err, connectors.ErrUnavailable)
	require.Contains(t, err.Error(), "circuit breaker open")
	require.Equal(t, hits, b.hits.Load(), "an open breaker sends nothing")

	require.Eventually(t, func() bool { return b.client.Breaker() == httpclient.BreakerHalfOpen }, 2*time.Second, 10*time.Millisecond)
	v, _ = gauge(t, b.reg, "portico_breaker_state", map[string]string{"connection": "test"})
	require.EqualValues(t, 1, v)
	down.Store(false)
	resp, err := get(t, b)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, httpclient.BreakerClosed, b.client.Breaker())
}

func TestQuotaReservesWriteShare(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var srv atomic.Int64
	reg := prometheus.NewRegistry()
	m, err := httpclient.NewMetrics(reg)
	require.NoError(t, err)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { srv.Add(1) }))
	t.Cleanup(ts.Close)
	c, err := httpclient.New(httpclient.Options{
		Connection: quick(httpclient.Settings{Name: "q", Quota: httpclient.Quota{PerMinute: 10, PerDay: 1000, WriteShare: 0.2}}),
		Metrics:    m,
		Now:        func() time.Time { return now },
	})
	require.NoError(t, err)
	do := func(write bool) error {
		req, _ := http.NewRequest(http.MethodPost, ts.URL, nil)
		if write {
			req = httpclient.Write(req)
		}
		_, err := c.Do(req)
		return err
	}
	for range 8 {
		require.NoError(t, do(false))
	}
	err = do(false)
	var rl *connectors.RateLimitedError
	require.ErrorAs(t, err, &rl)
	require.Equal(t, 55*time.Second, rl.RetryAfter, "wait until the minute window rolls")
	require.NoError(t, do(true), "writes may use the reserved share")
	require.NoError(t, do(true))
	require.ErrorIs(t, do(true), connectors.ErrRateLimited)
	require.EqualValues(t, 10, srv.Load())

	v, ok := gauge(t, reg, "portico_quota_remaining", map[string]string{"connection": "q", "window": "minute"})
	require.True(t, ok)
	require.EqualValues(t, 0, v)
	v, _ = gauge(t, reg, "portico_quota_remaining", map[string]string{"connection": "q", "window": "day"})
	require.EqualValues(t, 990, v)

	now = now.Add(time.Minute)
	require.NoError(t, do(false), "a new minute brings a new budget")
}

func TestQuotaFromSourceHeader(t *testing.T) {
	t.Parallel()
	var used atomic.Int64
	used.Store(85)
	b := setup(t, httpclient.Settings{Quota: httpclient.Quota{WriteShare: 0.1}}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Sforce-Limit-Info", "api-usage="+strconv.FormatInt(used.Add(1), 10)+"/100")
	})
	for {
		_, err := get(t, b)
		if err != nil {
			require.ErrorIs(t, err, connectors.ErrRateLimited)
			break
		}
		require.Less(t, used.Load(), int64(100))
	}
	require.EqualValues(t, 90, used.Load(), "background reads stop at 90%% of the source's own count")
	require.Equal(t, 10, b.client.Quota().Day)
	resp, err := post(t, b, httpclient.Write)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
}

func TestResponseCapAndTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, httpclient.Settings{MaxResponseBytes: 100, RequestTimeout: 100 * time.Millisecond,
		Retry: httpclient.Retry{Max: 1, WaitMin: time.Millisecond, WaitMax: time.Millisecond}},
		func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("slow") != "" {
				select {
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
				return
			}
			_, _ = w.Write([]byte(strings.Repeat("x", 101)))
		})
	_, err := get(t, b)
	require.ErrorIs(t, err, connectors.ErrPermanent)
	require.Contains(t, err.Error(), "max_response_bytes")

	req, _ := http.NewRequest(http.MethodGet, b.url+"/x?slow=1", nil)
	start := time.Now()
	_, err = b.client.Do(req)
	require.ErrorIs(t, err, connectors.ErrUnavailable)
	require.Less(t, time.Since(start), 3*time.Second, "the request timeout cut a 5s answer short")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, b.url+"/x", nil)
	_, err = b.client.Do(req)
	require.True(t, errors.Is(err, context.Canceled), "%v", err)
}

// TestTimeoutsOpenBreaker: a source that stops answering is a failing
// source, even though the client gave up rather than the source erring.
func TestTimeoutsOpenBreaker(t *testing.T) {
	t.Parallel()
	b := setup(t, httpclient.Settings{RequestTimeout: 50 * time.Millisecond,
		Breaker: httpclient.Breaker{Failures: 2, OpenTimeout: time.Minute}},
		func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(300 * time.Millisecond):
			}
		})
	for range 2 {
		_, err := post(t, b)
		require.ErrorIs(t, err, connectors.ErrUnavailable)
	}
	require.Equal(t, httpclient.BreakerOpen, b.client.Breaker())
}

// TestThrottleMark: a source that throttles with another status (QuickBooks'
// 403 with fault 3001) is retried like a 429 when the request says how to
// tell, by the same rules: a wait within Retry.WaitMax, and only requests
// safe to repeat.
func TestThrottleMark(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	b := setup(t, httpclient.Settings{Retry: httpclient.Retry{Max: 3, WaitMin: time.Millisecond, WaitMax: time.Second}},
		func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1)%2 == 1 {
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`throttled ` + r.URL.Query().Get("wait")))
				return
			}
			_, _ = w.Write([]byte(`{"ok":true}`))
		})
	throttle := func(req *http.Request) *http.Request {
		return httpclient.Throttle(req, func(resp *http.Response, body []byte) (time.Duration, bool) {
			wait, found := strings.CutPrefix(string(body), "throttled ")
			d, err := time.ParseDuration(wait)
			return d, found && err == nil
		})
	}
	do := func(method, wait string, marks ...func(*http.Request) *http.Request) *http.Response {
		req, err := http.NewRequest(method, b.url+"/x?wait="+wait, nil)
		require.NoError(t, err)
		for _, m := range marks {
			req = m(req)
		}
		resp, err := b.client.Do(req)
		require.NoError(t, err)
		return resp
	}
	start := time.Now()
	require.Equal(t, 200, do(http.MethodGet, "200ms", throttle).StatusCode, "a throttled GET is retried")
	require.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond, "after the throttle's wait")
	require.EqualValues(t, 2, b.hits.Load())

	n.Store(0)
	resp := do(http.MethodGet, "1h", throttle)
	require.Equal(t, 403, resp.StatusCode, "a wait beyond Retry.WaitMax comes back to the caller")
	body, err := httpclient.ReadAll(resp)
	require.NoError(t, err)
	require.Equal(t, "throttled 1h", string(body), "the body is still there to classify")

	n.Store(0)
	require.Equal(t, 403, do(http.MethodPost, "1ms", throttle).StatusCode, "a POST without an idempotency key is sent once")
	n.Store(0)
	require.Equal(t, 200, do(http.MethodPost, "1ms", throttle, httpclient.Idempotent).StatusCode)
	n.Store(0)
	require.Equal(t, 403, do(http.MethodGet, "1ms").StatusCode, "without the mark a 403 is a refusal")
	require.EqualValues(t, 7, b.hits.Load())
}

// TestStreamHandsOnTheBody: a successful answer to a request marked
// Stream comes back unread and past max_response_bytes, for the caller
// to read; an error answer to one is read and capped as any other.
func TestStreamHandsOnTheBody(t *testing.T) {
	t.Parallel()
	b := setup(t, httpclient.Settings{MaxResponseBytes: 100}, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fail") != "" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("gone"))
			return
		}
		_, _ = w.Write([]byte(strings.Repeat("x", 1000)))
	})
	req, _ := http.NewRequest(http.MethodGet, b.url+"/file", nil)
	resp, err := b.client.Do(httpclient.Stream(req))
	require.NoError(t, err)
	_, read := resp.Body.(*httpclient.Body)
	require.False(t, read, "the body is handed on unread")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Len(t, body, 1000)

	req, _ = http.NewRequest(http.MethodGet, b.url+"/file?fail=1", nil)
	resp, err = b.client.Do(httpclient.Stream(req))
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	got, err := httpclient.ReadAll(resp)
	require.NoError(t, err)
	require.Equal(t, "gone", string(got))

	_, err = get(t, b)
	require.ErrorContains(t, err, "max_response_bytes", "unmarked, the cap holds")
}
