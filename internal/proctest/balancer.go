package proctest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
)

// Balancer is the load balancer in front of a fleet's serve processes, as
// small as a test needs: round-robin over the backends not draining (an
// operator takes a backend out of the rotation before stopping it), and
// one more backend tried when a connection is refused (the request never
// reached a process). Nothing else is retried: a request that reached a
// backend gets that backend's answer or error.
type Balancer struct {
	proxy *httputil.ReverseProxy

	mu       sync.Mutex
	backends []*backend
	next     int

	retried atomic.Int64
	served  atomic.Int64
}

type backend struct {
	url      *url.URL
	draining bool
}

// NewBalancer balances over the given base URLs.
func NewBalancer(urls ...string) (*Balancer, error) {
	b := &Balancer{}
	for _, u := range urls {
		parsed, err := url.Parse(u)
		if err != nil {
			return nil, fmt.Errorf("proctest: backend %q: %w", u, err)
		}
		b.backends = append(b.backends, &backend{url: parsed})
	}
	b.proxy = &httputil.ReverseProxy{
		// The backend is chosen per attempt in RoundTrip.
		Rewrite:   func(*httputil.ProxyRequest) {},
		Transport: roundTripper{b: b, next: http.DefaultTransport},
	}
	return b, nil
}

// ServeHTTP implements http.Handler.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The body is kept so that a request refused at connect can go to
	// another backend.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	b.served.Add(1)
	b.proxy.ServeHTTP(w, r)
}

// Drain takes the backend with base URL u out of the rotation.
func (b *Balancer) Drain(u string) { b.set(u, true) }

// Restore puts it back.
func (b *Balancer) Restore(u string) { b.set(u, false) }

func (b *Balancer) set(u string, draining bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, be := range b.backends {
		if be.url.String() == u {
			be.draining = draining
		}
	}
}

// Retried is how many requests went to another backend after one refused
// the connection.
func (b *Balancer) Retried() int64 { return b.retried.Load() }

// Served is how many requests the balancer took.
func (b *Balancer) Served() int64 { return b.served.Load() }

// pick returns the next backend in the rotation, skipping draining ones
// and those in skip.
func (b *Balancer) pick(skip map[*backend]bool) *backend {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range b.backends {
		be := b.backends[b.next%len(b.backends)]
		b.next++
		if !be.draining && !skip[be] {
			return be
		}
	}
	return nil
}

type roundTripper struct {
	b    *Balancer
	next http.RoundTripper
}

var errNoBackend = errors.New("proctest: no backend in the rotation")

func (rt roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	tried := map[*backend]bool{}
	for {
		be := rt.b.pick(tried)
		if be == nil {
			return nil, errNoBackend
		}
		tried[be] = true
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.Host = be.url.Scheme, be.url.Host, be.url.Host
		if r.GetBody != nil {
			body, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			out.Body = body
		}
		resp, err := rt.next.RoundTrip(out)
		if err != nil && errors.Is(err, syscall.ECONNREFUSED) {
			rt.b.retried.Add(1)
			continue
		}
		return resp, err
	}
}
