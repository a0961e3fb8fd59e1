package server

import (
	"net/http"
	"net/netip"
	"strings"

	"github.com/porticohq/portico/internal/config"
)

// clientIP sets r.RemoteAddr to the client's address. X-Forwarded-For is
// believed only when the connecting peer is a trusted proxy: anyone else
// could write any address into it, and the login throttle and the audit
// log would count and record that address. The header is read from the
// right, where the nearest proxy appended; each hop that is itself a
// trusted proxy is skipped, and the first one that is not is the client.
// Bad entries in trusted were refused by config validation.
func clientIP(trusted []string) func(http.Handler) http.Handler {
	var prefixes []netip.Prefix
	for _, s := range trusted {
		if p, err := config.ParsePrefix(s); err == nil {
			prefixes = append(prefixes, p)
		}
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(prefixes) > 0 {
				if client, ok := forwardedClient(r, prefixes); ok {
					r.RemoteAddr = client.String()
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// forwardedClient is the client a trusted peer forwarded for, if any.
func forwardedClient(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok || !isTrusted(peer, trusted) {
		return netip.Addr{}, false
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseAddr(strings.TrimSpace(hops[i]))
		if !ok {
			// Left of garbage nothing can be trusted: the last trusted
			// hop is the best answer.
			break
		}
		client = hop
		if !isTrusted(hop, trusted) {
			break
		}
	}
	return client, client != peer
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads "ip", "ip:port" or "[ipv6]:port", unmapped and without
// a zone.
func parseAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
