package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientIPBelievesOnlyTrustedProxies(t *testing.T) {
	t.Parallel()
	trusted := []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		trusted    []string
		want       string
	}{
		{"no proxy trusted: the header is ignored", "10.1.2.3:5000", []string{"203.0.113.9"}, nil, "10.1.2.3:5000"},
		{"untrusted peer forging the header", "198.51.100.1:5000", []string{"203.0.113.9"}, trusted, "198.51.100.1:5000"},
		{"trusted proxy", "10.1.2.3:5000", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"client-supplied entries left of the real client are ignored", "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9"}, trusted, "203.0.113.9"},
		{"trusted hops are skipped from the right", "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.9, 192.0.2.7", "10.9.9.9"}, trusted, "203.0.113.9"},
		{"garbage stops the walk at the last trusted hop", "10.1.2.3:5000", []string{"203.0.113.9, bogus, 10.9.9.9"}, trusted, "10.9.9.9"},
		{"ipv6 proxy and client with port", "[2001:db8::1]:443", []string{"[2001:db8:ffff::1]:1234, [2600::1]:5555"}, trusted, "2600::1"},
		{"ipv4-mapped peer", "[::ffff:10.1.2.3]:80", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"trusted peer without the header", "10.1.2.3:5000", nil, trusted, "10.1.2.3:5000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			h := clientIP(tc.trusted)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			r.Header.Set("X-Real-IP", "6.6.6.6")
			r.Header.Set("True-Client-IP", "6.6.6.6")
			h.ServeHTTP(httptest.NewRecorder(), r)
			require.Equal(t, tc.want, got)
		})
	}
}
