package notify

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// A webhook's URL is an account admin's to choose, and the worker posts
// to it from inside the operator's network. Unless private targets are
// allowed (Options.WebhookPrivateTargets, for a receiver on this machine
// in development), a webhook must reach a public address: a URL whose
// host is a loopback, private, link-local, shared (CGNAT), multicast or
// unspecified address, or localhost, is refused when it is registered,
// and every connection the worker opens is checked again against the
// address a name resolved to, so a name that points inside (or is
// changed to) is refused too. Redirects are not followed.

// errPrivateTarget: a webhook would reach an address that is not public.
var errPrivateTarget = errors.New("is not a public address")

var sharedSpace = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598

// publicAddr reports whether a webhook may connect to a.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !sharedSpace.Contains(a)
}

// checkTarget refuses, as a field error of url, a URL whose host is a
// non-public address or localhost.
func checkTarget(u *url.URL, allowPrivate bool) error {
	if allowPrivate {
		return nil
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return &fieldError{"url", "must reach a public address, not localhost (notify.webhook_private_targets allows it in development)"}
	}
	if a, err := netip.ParseAddr(host); err == nil && !publicAddr(a) {
		return &fieldError{"url", fmt.Sprintf("must reach a public address; %s is a loopback, private, link-local or reserved one (notify.webhook_private_targets allows it in development)", a)}
	}
	return nil
}

// webhookClient posts webhooks: directly (no proxy from the
// environment), without following redirects, and unless allowPrivate only
// to public addresses.
func webhookClient(allowPrivate bool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if !publicAddr(ap.Addr()) {
				return fmt.Errorf("%s %w", ap.Addr(), errPrivateTarget)
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = d.DialContext
	return &http.Client{
		Timeout: 10 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
