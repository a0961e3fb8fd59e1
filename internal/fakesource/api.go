package fakesource

import (
	"net/http"
	"strings"
	"time"
)

// Credentials returns what a connector configuration needs for each system when the
// simulator is served at baseURL (e.g. "http://127.0.0.1:8090", no trailing slash).
// The refresh tokens are the initial ones; the accounting one rotates on use. With a
// StateDir, the accounting one is the newest issued, so a configuration built after a
// restart reaches the persisted world, as one would after reconnecting the company.
func (s *Sim) Credentials(baseURL string) Credentials {
	baseURL = strings.TrimRight(baseURL, "/")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL == "" {
		s.baseURL = baseURL
	}
	a := s.auth
	qbRefresh := a.qbInitialRefresh
	if s.journal != nil {
		qbRefresh = a.qbCurrent
	}
	return Credentials{
		Salesforce: SystemCredentials{
			BaseURL: baseURL, TokenURL: baseURL + "/services/oauth2/token",
			ClientID: a.sfClientID, ClientSecret: a.sfClientSecret, RefreshToken: a.sfRefresh,
			WebhookSecret: s.opts.WebhookSecret, Realm: s.orgID(),
		},
		Accounting: SystemCredentials{
			BaseURL: baseURL, TokenURL: baseURL + "/oauth2/v1/tokens/bearer",
			ClientID: a.qbClientID, ClientSecret: a.qbClientSecret, RefreshToken: qbRefresh,
			Realm: qbRealm, WebhookSecret: s.opts.WebhookSecret,
		},
		Inventory: SystemCredentials{
			BaseURL: baseURL, TokenURL: baseURL + "/oauth2/token",
			ClientID: a.sqClientID, ClientSecret: a.sqClientSecret, RefreshToken: a.sqRefresh,
			AccessToken: a.sqStaticToken, WebhookSecret: s.opts.WebhookSecret,
		},
	}
}

// CreateOption adjusts CreateRecord.
type CreateOption func(*createConfig)

type createConfig struct {
	modstamp time.Time
}

// WithModstamp fixes the new record's modification (and creation) stamp, e.g. to put
// several records on one timestamp. It may lie in the past.
func WithModstamp(t time.Time) CreateOption {
	return func(c *createConfig) { c.modstamp = t }
}

// StaffEdit changes a record as a back-office user would: fields are merged (vendor field
// names, e.g. "Status" for a Salesforce Case, "DisplayName" for a QuickBooks Customer,
// "state" for a Square order), the version/SyncToken and modstamp advance, and the webhook fires.
func (s *Sim) StaffEdit(system, object, id string, fields map[string]any) error {
	return s.staffEdit(system, object, id, fields)
}

// CreateRecord creates a record as a back-office user would and returns its id.
func (s *Sim) CreateRecord(system, object string, fields map[string]any, opts ...CreateOption) (string, error) {
	var c createConfig
	for _, o := range opts {
		o(&c)
	}
	return s.staffCreate(system, object, fields, c)
}

// DeleteRecord deletes a record as a back-office user would (it stays visible to
// Salesforce queryAll / deleted lists and QuickBooks CDC as deleted).
func (s *Sim) DeleteRecord(system, object, id string) error {
	return s.staffDelete(system, object, id)
}

// Record returns the record as the vendor API would render it by id (including deleted ones).
func (s *Sim) Record(system, object, id string) (map[string]any, error) {
	return s.recordView(system, object, id)
}

// SeedID returns the id of the i-th seed record of an object (0-based), so tests can pick
// known records without querying. Objects are the vendor names listed in the package doc.
func (s *Sim) SeedID(system, object string, i int) (string, error) {
	return s.seedID(system, object, i)
}

// Handler serves the three vendor APIs and the /_sim/ control API on one listener.
func (s *Sim) Handler() http.Handler {
	return s.routes()
}
