package wire

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/httpclient"
)

// Call is one API request.
type Call struct {
	Method string
	// Path is what Caller.URL turns into the request URL; error messages
	// name it.
	Path  string
	Query url.Values
	// Body, when not nil, is sent as JSON.
	Body any
	// Raw, when not nil, is sent instead of Body as it is: a multipart
	// upload streamed from its reader (Multipart).
	Raw    *Raw
	Header http.Header
	// Write spends the quota share reserved for customer writes
	// (httpclient.Write); Idempotent says the source honours the call's
	// idempotency key, so it is safe to repeat (httpclient.Idempotent).
	Write      bool
	Idempotent bool
	// Throttled, when set, tells a throttle the source answers with a
	// status other than 429 (httpclient.Throttle).
	Throttled httpclient.ThrottleFunc
	// Stream hands a successful (2xx) answer back with its body unread
	// (httpclient.Stream): Do then returns no body bytes, and the caller
	// reads and closes resp.Body.
	Stream bool
}

// Caller sends a connector's calls through the shared HTTP client.
type Caller struct {
	// Name prefixes every error: "salesforce".
	Name string
	HTTP connectors.HTTPDoer
	// URL builds a call's URL (without the query) from its path. It runs
	// for every attempt, so a base that re-authentication changes (an
	// instance URL) is picked up.
	URL func(path string) (string, error)
	// Token returns the access token to send.
	Token func(ctx context.Context) (string, error)
	// Renew replaces stale after a 401; the call is sent once more with
	// the new token. Nil means a 401 is answered as it is.
	Renew func(ctx context.Context, stale string) (string, error)
	// Header sets the vendor's fixed headers (an API version) on every
	// request; nil sets none.
	Header http.Header
}

// Do sends k with a bearer token and returns the response with its whole
// body, whatever the status: the connector classifies it (a successful
// answer to a Stream call comes back unread instead). A 401 renews
// the token once and sends again. The error is a classified transport
// failure, an unencodable body or the token's own error.
func (c *Caller) Do(ctx context.Context, k Call) (*http.Response, []byte, error) {
	var payload []byte
	if k.Body != nil {
		var err error
		if payload, err = json.Marshal(k.Body); err != nil {
			return nil, nil, connectors.Classify(connectors.ErrInvalid, fmt.Errorf("%s: encode body: %w", c.Name, err))
		}
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return nil, nil, err
	}
	resp, body, err := c.send(ctx, k, tok, payload)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || c.Renew == nil {
		return resp, body, err
	}
	if tok, err = c.Renew(ctx, tok); err != nil {
		return nil, nil, err
	}
	return c.send(ctx, k, tok, payload)
}

// rawBody is a Raw body as a request body net/http keeps as it is, still
// seekable for the retrying client to rewind.
type rawBody struct{ io.ReadSeeker }

func (rawBody) Close() error { return nil }

// Errorf wraps a classified error with the connector's name and the call.
func (c *Caller) Errorf(k Call, err error) error {
	return fmt.Errorf("%s: %s %s: %w", c.Name, k.Method, k.Path, err)
}

func (c *Caller) send(ctx context.Context, k Call, tok string, payload []byte) (*http.Response, []byte, error) {
	u, err := c.URL(k.Path)
	if err != nil {
		return nil, nil, err
	}
	if len(k.Query) > 0 {
		u += "?" + k.Query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	if k.Raw != nil {
		if _, err := k.Raw.Body.Seek(0, io.SeekStart); err != nil {
			return nil, nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("%s: rewind body: %w", c.Name, err))
		}
		body = rawBody{k.Raw.Body}
	}
	req, err := http.NewRequestWithContext(ctx, k.Method, u, body)
	if err != nil {
		return nil, nil, connectors.Classify(connectors.ErrPermanent, fmt.Errorf("%s: build request: %w", c.Name, err))
	}
	if k.Raw != nil {
		req.ContentLength = k.Raw.Length
		req.Header.Set("Content-Type", k.Raw.ContentType)
	}
	for h, v := range c.Header {
		req.Header[h] = v
	}
	for h, v := range k.Header {
		req.Header[h] = v
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if k.Write {
		req = httpclient.Write(req)
	}
	if k.Idempotent {
		req = httpclient.Idempotent(req)
	}
	if k.Throttled != nil {
		req = httpclient.Throttle(req, k.Throttled)
	}
	if k.Stream {
		req = httpclient.Stream(req)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, c.Errorf(k, err)
	}
	if k.Stream && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil, nil
	}
	defer resp.Body.Close()
	data, err := httpclient.ReadAll(resp)
	if err != nil {
		return nil, nil, connectors.Classify(connectors.ErrUnavailable, fmt.Errorf("%s: read body: %w", c.Name, err))
	}
	return resp, data, nil
}
