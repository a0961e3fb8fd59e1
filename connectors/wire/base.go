package wire

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/porticohq/portico/connectors"
)

// Base is what every connector keeps of its deps; a connector embeds it.
type Base struct {
	Conn  connectors.Connection
	HTTP  connectors.HTTPDoer
	Creds connectors.CredentialStore // nil: nothing is stored
	Log   *slog.Logger
}

// NewBase checks what every connector needs of its deps, an HTTP client
// and a base URL, and keeps them, with a logger that discards when deps
// has none. name prefixes the errors: "salesforce".
func NewBase(name string, deps connectors.Deps) (Base, error) {
	if deps.HTTP == nil {
		return Base{}, fmt.Errorf("%s: an HTTP client is required", name)
	}
	if deps.Connection.BaseURL == "" {
		return Base{}, fmt.Errorf("%s: base_url is required", name)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return Base{Conn: deps.Connection, HTTP: deps.HTTP, Creds: deps.Credentials, Log: log}, nil
}

// Tuning is what every connector tunes alike. It is the connector's own,
// not the operator's configuration: nothing in Portico's config sets it,
// so a zero field takes the vendor's default (WithDefaults), and tests set
// it through the connector's NewWithOptions.
type Tuning struct {
	// Overlap is how far before the cursor an incremental pull starts, to
	// catch records that share a stamp or become visible late.
	Overlap time.Duration
	// PageSize is how many records a page asks the source for.
	PageSize int
	// Now is the clock (token expiry, the end of a change window).
	Now func() time.Time
}

// WithDefaults returns t with its zero fields set: overlap and pageSize
// are the vendor's defaults, and the clock is time.Now.
func (t Tuning) WithDefaults(overlap time.Duration, pageSize int) Tuning {
	if t.Overlap <= 0 {
		t.Overlap = overlap
	}
	if t.PageSize <= 0 {
		t.PageSize = pageSize
	}
	if t.Now == nil {
		t.Now = time.Now
	}
	return t
}
