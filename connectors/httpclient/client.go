package httpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/porticohq/portico/connectors"
)

// Options configures one connection's client.
type Options struct {
	// Connection gives the connection's Settings, complete: a zero value
	// where a setting has no meaning as zero is an error, not a default.
	Connection SettingsProvider
	// Metrics receives this connection's series; nil keeps them private.
	Metrics *Metrics
	// Logger already carries the connection attribute (internal/sources
	// adds it once for the client and the connector).
	Logger *slog.Logger
	// Transport sends the bytes; nil means a pooled default transport.
	Transport http.RoundTripper
	// Now is the quota clock; nil means time.Now.
	Now func() time.Time
	// Budget is the call budget; nil means one in this process's memory
	// from the connection's Quota settings.
	Budget Budget
	// Signal shares the breaker's trips and probes with other processes;
	// nil keeps the breaker to this process.
	Signal BreakerSignal
}

// BreakerSignal shares one connection's breaker across processes. The
// client's own breaker (gobreaker) stays the state machine of this
// process; the signal carries its trips to the others and lets one
// process at a time, across all of them, send the probe.
type BreakerSignal interface {
	// Admit is asked before each call this process's breaker would let
	// through. ok false refuses the call (another process saw the source
	// down); probe true makes it the fleet's one trial call, whose outcome
	// goes to ProbeDone.
	Admit(ctx context.Context) (probe, ok bool)
	// ProbeDone reports the probe's outcome: sent false when it never
	// left (this process's breaker refused it).
	ProbeDone(ctx context.Context, sent, healthy bool)
	// Tripped says this process's breaker opened; Recovered that it
	// closed again. Both are called under the breaker's lock and must not
	// block.
	Tripped()
	Recovered()
	// State is the fleet's view and the process that tripped it.
	State() (state BreakerState, trippedBy string)
}

// Client sends a connection's requests. It is safe for concurrent use and
// implements connectors.HTTPDoer.
type Client struct {
	name    string
	cfg     Settings
	log     *slog.Logger
	retry   *retryablehttp.Client
	breaker *gobreaker.CircuitBreaker[*http.Response]
	quota   Budget
	signal  BreakerSignal
	metrics *Metrics
}

// BreakerState is the breaker's state as the portico_breaker_state gauge
// reports it.
type BreakerState int

const (
	BreakerClosed   BreakerState = 0
	BreakerHalfOpen BreakerState = 1
	BreakerOpen     BreakerState = 2
)

func (s BreakerState) String() string {
	switch s {
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return "closed"
}

// New builds the client for one connection.
func New(opts Options) (*Client, error) {
	if opts.Connection == nil {
		return nil, errors.New("httpclient: Options.Connection is required")
	}
	cfg := opts.Connection.ClientSettings()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c := &Client{name: cfg.Name, cfg: cfg, log: opts.Logger, metrics: opts.Metrics, quota: opts.Budget, signal: opts.Signal}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.metrics == nil {
		c.metrics = newMetrics()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if c.quota == nil {
		c.quota = newQuota(cfg.Quota, now)
	}
	failures := uint32(cfg.Breaker.Failures)
	c.breaker = gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
		Name:        cfg.Name,
		MaxRequests: 1,
		Timeout:     cfg.Breaker.OpenTimeout,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= failures },
		// A caller giving up says nothing about the source's health.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			c.log.Warn("circuit breaker changed state", "from", from.String(), "to", to.String())
			if c.signal == nil {
				return
			}
			switch to {
			case gobreaker.StateOpen:
				c.signal.Tripped()
			case gobreaker.StateClosed:
				c.signal.Recovered()
			}
		},
	})
	base := opts.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		base = t
	}
	c.retry = &retryablehttp.Client{
		HTTPClient: &http.Client{
			Transport: &transport{c: c, base: base},
			Timeout:   cfg.RequestTimeout,
		},
		RetryWaitMin: cfg.Retry.WaitMin,
		RetryWaitMax: cfg.Retry.WaitMax,
		RetryMax:     cfg.Retry.Max,
		CheckRetry:   c.checkRetry,
		Backoff:      backoff,
		ErrorHandler: giveUp,
		// Each attempt after the first is an event on the call's span.
		RequestLogHook: func(_ retryablehttp.Logger, req *http.Request, attempt int) {
			if attempt > 0 {
				trace.SpanFromContext(req.Context()).AddEvent("retry", trace.WithAttributes(attribute.Int("attempt", attempt)))
			}
		},
	}
	c.metrics.add(c)
	return c, nil
}

// Name is the connection's name.
func (c *Client) Name() string { return c.name }

// Breaker reports the breaker's current state (an open breaker whose
// timeout has passed reports half-open): with a shared signal, the worse
// of this process's and the fleet's.
func (c *Client) Breaker() BreakerState {
	s, _ := c.BreakerTrippedBy()
	return s
}

// BreakerTrippedBy is Breaker with the process that tripped the fleet's
// breaker ("" when it is closed, or when there is no shared signal and
// this process's own breaker tripped).
func (c *Client) BreakerTrippedBy() (BreakerState, string) {
	local := BreakerClosed
	switch c.breaker.State() {
	case gobreaker.StateHalfOpen:
		local = BreakerHalfOpen
	case gobreaker.StateOpen:
		local = BreakerOpen
	}
	if c.signal == nil {
		return local, ""
	}
	fleet, by := c.signal.State()
	return max(local, fleet), by
}

// Quota reports what is left of the call budget.
func (c *Client) Quota() Remaining { return c.quota.Remaining() }

// Do sends req with retries, breaker and quota, and returns the response
// with its body fully read (at most MaxResponseBytes), except a
// successful answer to a request marked Stream. A response of any
// status is returned as is for the connector to classify from its body;
// errors are classified (connectors.ErrUnavailable for transport failures
// and an open breaker, *connectors.RateLimitedError for an exhausted
// budget, connectors.ErrPermanent for an oversized body) or are the
// context's own error.
func (c *Client) Do(req *http.Request) (resp *http.Response, err error) {
	if ctx, span := startSpan(req, c.name); span.IsRecording() {
		defer func() { endSpan(span, resp, err) }()
		req = req.WithContext(ctx)
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	safe := safeToRepeat(req)
	req = mark(req, func(k *call) { k.safe = safe })
	rreq, err := retryablehttp.FromRequest(req)
	if err != nil {
		return nil, connectors.Classify(connectors.ErrPermanent, fmt.Errorf("%s: build request: %w", c.name, err))
	}
	resp, err = c.retry.Do(rreq)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %w", c.name, ctxErr)
		}
		return nil, err
	}
	if callFrom(req.Context()).stream && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil // the caller reads and closes it (Stream)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
	if err != nil {
		return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("%s: read response: %w", c.name, err))
	}
	if int64(len(body)) > c.cfg.MaxResponseBytes {
		return nil, connectors.Classify(connectors.ErrPermanent,
			fmt.Errorf("%s: %s %s: response body exceeds max_response_bytes (%d)", c.name, req.Method, req.URL.Path, c.cfg.MaxResponseBytes))
	}
	resp.Body = &Body{Reader: bytes.NewReader(body), b: body}
	resp.ContentLength = int64(len(body))
	return resp, nil
}

// startSpan starts the call's client span below the span in the request's
// context, from that span's provider: no span there, no cost here. The
// package stays free of Portico's internals, so it uses the OpenTelemetry
// API directly.
func startSpan(req *http.Request, conn string) (context.Context, trace.Span) {
	ctx := req.Context()
	parent := trace.SpanFromContext(ctx)
	if !parent.IsRecording() {
		return ctx, parent
	}
	return parent.TracerProvider().Tracer("github.com/porticohq/portico/connectors/httpclient").Start(ctx,
		conn+" "+req.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("connection", conn),
			attribute.String("http.request.method", req.Method),
			attribute.String("url.path", req.URL.Path),
			attribute.String("server.address", req.URL.Host),
		))
}

func endSpan(span trace.Span, resp *http.Response, err error) {
	if resp != nil {
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode >= 500 {
			span.SetStatus(codes.Error, resp.Status)
		}
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Body is a response body the client has already read in full.
type Body struct {
	*bytes.Reader
	b []byte
}

// Close implements io.Closer.
func (b *Body) Close() error { return nil }

// Bytes returns the whole body without copying it.
func (b *Body) Bytes() []byte { return b.b }

func asBody(resp *http.Response) *Body {
	b, _ := resp.Body.(*Body)
	return b
}

// ReadAll returns a response's body: without a copy when this client read
// it, with io.ReadAll otherwise (a plain *http.Client in tests).
func ReadAll(resp *http.Response) ([]byte, error) {
	if b, ok := resp.Body.(*Body); ok {
		return b.Bytes(), nil
	}
	return io.ReadAll(resp.Body)
}

// checkRetry decides whether to send again. It never repeats a request
// that is not safe to repeat, never waits out a Retry-After longer than
// Retry.WaitMax (the caller snoozes instead), and stops at once on an open
// breaker or an exhausted budget.
func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var rl *connectors.RateLimitedError
		if errors.As(err, &rl) || errors.Is(err, connectors.ErrUnavailable) && errors.Is(err, errBreaker) {
			return false, err
		}
		return callFrom(ctx).safe, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("%s: %w", c.name, err))
	}
	switch s := resp.StatusCode; {
	case s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable:
		if wait, ok := RetryAfter(resp.Header); ok && wait > c.cfg.Retry.WaitMax {
			return false, nil
		}
		return callFrom(ctx).safe, nil
	case s == http.StatusRequestTimeout || s >= 500 && s != http.StatusNotImplemented:
		return callFrom(ctx).safe, nil
	}
	if wait, ok := c.throttled(ctx, resp); ok {
		return wait <= c.cfg.Retry.WaitMax && callFrom(ctx).safe, nil
	}
	return false, nil
}

// throttled asks the request's ThrottleFunc, if any, about an error
// answer. It reads the body in full and puts it back as a *Body, so that
// backoff and Do read it again without a copy.
func (c *Client) throttled(ctx context.Context, resp *http.Response) (time.Duration, bool) {
	f := callFrom(ctx).throttled
	if f == nil || resp.StatusCode < 400 {
		return 0, false
	}
	b, ok := resp.Body.(*Body)
	if !ok {
		data, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxResponseBytes+1))
		resp.Body.Close()
		if err != nil {
			resp.Body = &Body{Reader: bytes.NewReader(nil)}
			return 0, false
		}
		b = &Body{Reader: bytes.NewReader(data), b: data}
		resp.Body = b
	}
	return f(resp, b.b)
}

// giveUp returns the last response for the connector to classify, or the
// classified error when there is none.
func giveUp(resp *http.Response, err error, _ int) (*http.Response, error) {
	if resp != nil {
		return resp, nil
	}
	return nil, err
}

// backoff honours Retry-After on 429 and 503 and otherwise waits
// exponentially longer with full jitter, so that many workers retrying
// the same source spread out.
func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if wait, ok := RetryAfter(resp.Header); ok {
			return wait
		}
	}
	if resp != nil && resp.Request != nil {
		if f, b := callFrom(resp.Request.Context()).throttled, asBody(resp); f != nil && b != nil {
			if wait, ok := f(resp, b.b); ok {
				return wait
			}
		}
	}
	ceiling := maxWait
	if attempt < 30 {
		ceiling = min(maxWait, minWait<<attempt)
	}
	if ceiling <= minWait {
		return minWait
	}
	return minWait + rand.N(ceiling-minWait)
}

// RetryAfter parses a Retry-After header (seconds or an HTTP date).
func RetryAfter(h http.Header) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 {
		return time.Duration(secs * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

var errBreaker = errors.New("circuit breaker open")

// statusFailure lets a response count as a breaker failure while still
// reaching the caller.
type statusFailure struct{ status int }

func (e *statusFailure) Error() string { return "HTTP " + strconv.Itoa(e.status) }

// breakerFailure: 5xx, 429 and 408 say the source is unwell; other 4xx
// are the request's fault and say nothing about the source.
func breakerFailure(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

// transport applies the budget and the breaker to every attempt, retries
// included: each one is a call the source counts.
type transport struct {
	c    *Client
	base http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	ctx := req.Context()
	write := callFrom(ctx).write
	if err := c.quota.Take(ctx, write); err != nil {
		c.metrics.request(c.name, "quota_exhausted")
		var rl *connectors.RateLimitedError
		if errors.As(err, &rl) || ctx.Err() != nil {
			return nil, err
		}
		return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("%s: quota: %w", c.name, err))
	}
	probe := false
	if c.signal != nil && c.breaker.State() != gobreaker.StateOpen {
		var ok bool
		if probe, ok = c.signal.Admit(ctx); !ok {
			c.quota.Refund(ctx, write)
			c.metrics.request(c.name, "breaker_open")
			return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("%s: %w (another process saw the source down)", c.name, errBreaker))
		}
	}
	sent := false
	resp, err := c.breaker.Execute(func() (*http.Response, error) {
		sent = true
		resp, err := t.base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if breakerFailure(resp.StatusCode) {
			return resp, &statusFailure{resp.StatusCode}
		}
		return resp, nil
	})
	var sf *statusFailure
	if probe {
		// A caller giving up says nothing about the source: the probe
		// goes back unused, as when it was never sent.
		c.signal.ProbeDone(ctx, sent && !errors.Is(err, context.Canceled), err == nil)
	}
	switch {
	case errors.As(err, &sf):
		// Counted against the breaker; the response itself goes back.
	case errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests):
		c.quota.Refund(ctx, write)
		c.metrics.request(c.name, "breaker_open")
		return nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("%s: %w (%v)", c.name, errBreaker, err)) //nolint:errorlint // callers match errBreaker and the class; gobreaker's error is detail
	case err != nil:
		c.metrics.request(c.name, "error")
		return nil, err
	}
	c.metrics.request(c.name, strconv.Itoa(resp.StatusCode))
	observe(ctx, c.quota, resp.Header)
	return resp, nil
}
