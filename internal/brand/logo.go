package brand

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/gabriel-vasile/mimetype"
)

// MaxLogoBytes caps a logo: it is shown small in the header, and the
// portal's first load is held to a budget.
const MaxLogoBytes = 256 << 10

// logoTypes are the image types a logo may be, by what its bytes are
// (never by its name or a server's Content-Type), with the extension its
// URL ends in.
var logoTypes = []struct{ mime, ext string }{
	{"image/png", ".png"},
	{"image/svg+xml", ".svg"},
	{"image/webp", ".webp"},
	{"image/jpeg", ".jpg"},
}

// Logo is a checked logo.
type Logo struct {
	Body []byte
	Type string // image/png, image/svg+xml, image/webp or image/jpeg
	Hash string
}

// Ext is the extension of the logo's URL.
func (l *Logo) Ext() string {
	for _, t := range logoTypes {
		if t.mime == l.Type {
			return t.ext
		}
	}
	return ""
}

// ErrNotALogo is wrapped by every refusal of CheckLogo: what was given is
// not a logo the portal serves (as against a logo URL that could not be
// fetched).
var ErrNotALogo = errors.New("not a logo")

// ErrLogoTooBig is a logo over MaxLogoBytes.
var ErrLogoTooBig = fmt.Errorf("the logo is over %d KiB: %w", MaxLogoBytes>>10, ErrNotALogo)

// CheckLogo reads what b is: a PNG, SVG, WebP or JPEG image of at most
// MaxLogoBytes, or an error saying what it is instead.
func CheckLogo(b []byte) (*Logo, error) {
	if len(b) > MaxLogoBytes {
		return nil, ErrLogoTooBig
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("the logo is empty: %w", ErrNotALogo)
	}
	m := mimetype.Detect(b)
	for _, t := range logoTypes {
		if m.Is(t.mime) {
			return &Logo{Body: b, Type: t.mime, Hash: hash(b)}, nil
		}
	}
	return nil, &notALogo{m.String()}
}

// notALogo is an image of another type, or no image.
type notALogo struct{ is string }

func (e *notALogo) Error() string {
	return "the logo must be a PNG, SVG, WebP or JPEG image; this is " + e.is
}

func (e *notALogo) Unwrap() error { return ErrNotALogo }

// Doer sends a request (connectors/httpclient's Client, with its
// timeouts, retries and response cap).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// FetchLogo fetches the logo at rawURL once and checks it.
func FetchLogo(ctx context.Context, d Doer, rawURL string) (*Logo, error) {
	if err := CheckLogoURL(rawURL); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("brand: logo url: %w", err)
	}
	req.Header.Set("Accept", "image/png, image/svg+xml, image/webp, image/jpeg")
	res, err := d.Do(req)
	if err != nil {
		return nil, fmt.Errorf("brand: fetching the logo: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("brand: fetching the logo: %s answered %s", rawURL, res.Status)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, MaxLogoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("brand: fetching the logo: %w", err)
	}
	return CheckLogo(b)
}

// CheckLogoURL checks a logo URL before anything is fetched.
func CheckLogoURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return fmt.Errorf("must be an http(s) URL of an image; got %q", rawURL)
	}
	return nil
}
