package httpclient

import (
	"context"
	"net/http"
	"time"
)

type callKey struct{}

// call is how a request was marked by the connector that built it.
type call struct {
	idempotent bool // a write that carries an idempotency key the source honours
	write      bool // spends the budget reserved for writes
	safe       bool // set by Client.Do: may be sent again
	throttled  ThrottleFunc
	stream     bool // a 2xx answer's body is handed on unread
}

func callFrom(ctx context.Context) call {
	c, _ := ctx.Value(callKey{}).(call)
	return c
}

func mark(req *http.Request, f func(*call)) *http.Request {
	c := callFrom(req.Context())
	f(&c)
	return req.WithContext(context.WithValue(req.Context(), callKey{}, c))
}

// Idempotent marks a write as safe to repeat because it carries an
// idempotency key the source honours (Salesforce external-id upsert,
// QuickBooks requestid, Square idempotency_key). GET and HEAD are always
// safe; any other request without this mark is sent at most once.
func Idempotent(req *http.Request) *http.Request {
	return mark(req, func(c *call) { c.idempotent = true })
}

// Stream marks a request whose successful (2xx) answer is streamed: Do
// returns it with its body unread and not bounded by MaxResponseBytes,
// for the caller to read and close (a file's content). Any other answer
// is read in full as usual, for the connector to classify. The
// settings' RequestTimeout still bounds the whole exchange, body included.
func Stream(req *http.Request) *http.Request {
	return mark(req, func(c *call) { c.stream = true })
}

// Write marks a request as a customer write: it may spend the share of the
// quota that background reads leave alone.
func Write(req *http.Request) *http.Request {
	return mark(req, func(c *call) { c.write = true })
}

// safeToRepeat reports whether req may be sent again after a failure that
// might have reached the source.
func safeToRepeat(req *http.Request) bool {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return true
	}
	return callFrom(req.Context()).idempotent
}

// ThrottleFunc tells whether an answer is the source throttling the
// caller although its status is not 429, and how long to wait. body is
// the whole response body.
type ThrottleFunc func(resp *http.Response, body []byte) (wait time.Duration, ok bool)

// Throttle marks a request whose source throttles with another status
// (QuickBooks answers 403 with fault 3001): an answer f recognises is
// retried like a 429 with Retry-After f's wait, by the same rules (only
// when safe to repeat, never waiting longer than Retry.WaitMax).
func Throttle(req *http.Request, f ThrottleFunc) *http.Request {
	return mark(req, func(c *call) { c.throttled = f })
}
