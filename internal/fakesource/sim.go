package fakesource

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// System names accepted by SetFaults, StaffEdit, CreateRecord and the /_sim/ endpoints.
const (
	Salesforce = "salesforce"
	Accounting = "accounting"
	Inventory  = "inventory"
)

// Systems lists the simulated systems in a stable order.
var systems = []string{Salesforce, Accounting, Inventory}

// MaxRecords bounds Options.Records.
const MaxRecords = 1_000_000

// Options configures a Sim. The zero value is a usable empty simulator.
type Options struct {
	// Seed makes the generated data deterministic: same Seed and Records, same data.
	Seed int64
	// Records is the total number of seed records across all objects and systems (0..1_000_000).
	Records int
	// VisibilityLag hides a record from query/search/change endpoints (not from GET by id)
	// until this long after its modification stamp.
	VisibilityLag time.Duration
	// WebhookURL receives change notifications; empty disables webhooks.
	WebhookURL string
	// WebhookSecret is the HMAC key for Square- and QuickBooks-style signatures; Salesforce
	// outbound messages, which carry no signature, are sent to WebhookURL + "/" + WebhookSecret
	// (the receiver's /hooks/{connection}/{secret}). Empty means "sim-webhook-secret".
	WebhookSecret string
	// TokenTTL is the OAuth access token lifetime (default 1h).
	TokenTTL time.Duration
	// RefreshGrace is how long a rotated QuickBooks refresh token keeps working (default 2m).
	RefreshGrace time.Duration
	// SalesforceOrgID is the organization id sent in outbound messages (default a fixed id).
	SalesforceOrgID string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives webhook delivery failures (default: discard).
	Logger *slog.Logger
	// HTTPClient delivers webhooks (default: a client with a 5s timeout).
	HTTPClient *http.Client
	// StateDir, if set, keeps the world across restarts: every change (records, tokens
	// issued, idempotent answers) is journaled there and New replays it over the seed.
	// A journal written with another Seed or Records is set aside. Empty: memory only.
	StateDir string
	// SalesforceWithoutPorticoFields simulates an org where no admin added
	// Portico's custom fields (Portico_Action_Id__c, QuickBooks_Customer_Id__c,
	// Square_Customer_Id__c): queries naming them fail and describe lacks them.
	SalesforceWithoutPorticoFields bool
	// SalesforceCustomFields adds custom fields (Name__c) per sObject, e.g.
	// {"Case": {"Region__c"}}: text fields that writes, staff edits, queries and
	// describe know.
	SalesforceCustomFields map[string][]string
	// SalesforceCustomFieldTypes gives a custom field of SalesforceCustomFields
	// another type than text, keyed Object.Field (Case.Amount__c), named as
	// describe names it: string, textarea, double, currency, percent,
	// boolean, date or datetime. Writes are checked against it as
	// Salesforce's deserializer does, and describe reports it.
	SalesforceCustomFieldTypes map[string]string
	// SalesforceCustomFieldsFilled gives every seeded record a value in each
	// custom field of SalesforceCustomFields, of its type, as in an org that
	// has used the fields for a while. Without it they are null, as on the
	// day an admin adds a field.
	SalesforceCustomFieldsFilled bool
}

// SystemCredentials is what a connector configuration needs to reach one simulated system.
type SystemCredentials struct {
	BaseURL       string `json:"base_url"`
	TokenURL      string `json:"token_url"`
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	RefreshToken  string `json:"refresh_token"`
	AccessToken   string `json:"access_token"`
	Realm         string `json:"realm"`
	WebhookSecret string `json:"webhook_secret"`
}

// Credentials holds the connection settings for all three systems.
type Credentials struct {
	Salesforce SystemCredentials `json:"salesforce"`
	Accounting SystemCredentials `json:"accounting"`
	Inventory  SystemCredentials `json:"inventory"`
}

// ErrNotFound is returned by the staff helpers for an unknown system, object or record.
var ErrNotFound = errors.New("fakesource: not found")

// ErrInvalid is returned by the staff helpers for bad input.
var ErrInvalid = errors.New("fakesource: invalid")

// Sim is the simulated source systems. It is safe for concurrent use.
type Sim struct {
	opts Options

	mu          sync.Mutex
	store       *store
	auth        *authState
	faults      map[string]Faults
	stats       *statsState
	idem        map[string]idemEntry
	cursors     map[string]*sfCursor
	cursorOrder []string
	cursorSeq   int
	extIndex    map[string]int64
	qbResume    map[string]qbResume
	quota       map[string]*quotaDay
	lastStamp   map[string]time.Time
	rng         *lockedRand
	hooks       *webhooks
	notifySeq   int
	runID       uint64 // makes event ids unique across simulator runs
	baseURL     string // learned from the first request when unknown
	journal     *journal
	sf          sfSchema // the simulated org's sObjects
}

// New builds a simulator with its seed data.
func New(opts Options) (*Sim, error) {
	if opts.Records < 0 || opts.Records > MaxRecords {
		return nil, fmt.Errorf("fakesource: records %d out of range 0..%d", opts.Records, MaxRecords)
	}
	if opts.VisibilityLag < 0 {
		return nil, fmt.Errorf("fakesource: visibility lag must not be negative")
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.RefreshGrace <= 0 {
		opts.RefreshGrace = 2 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = "sim-webhook-secret"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	sf, err := newSFSchema(opts.SalesforceWithoutPorticoFields, opts.SalesforceCustomFields, opts.SalesforceCustomFieldTypes)
	if err != nil {
		return nil, err
	}
	s := &Sim{opts: opts, rng: newLockedRand(opts.Seed), runID: randomRunID()}
	s.sf = sf
	s.hooks = newWebhooks(s)
	s.resetLocked()
	if opts.StateDir != "" {
		if err := s.openJournalLocked(opts.StateDir); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// resetLocked restores the seed state; callers hold s.mu or own s exclusively.
func (s *Sim) resetLocked() {
	s.store = newStore(s.opts.Seed, s.opts.Records)
	if s.opts.SalesforceCustomFieldsFilled {
		s.store.fillCustom(s.sf, s.opts.SalesforceCustomFields)
	}
	s.auth = newAuthState(s.opts.Seed)
	s.faults = map[string]Faults{}
	s.stats = newStatsState()
	s.idem = map[string]idemEntry{}
	s.cursors = map[string]*sfCursor{}
	s.cursorOrder = nil
	s.extIndex = map[string]int64{}
	s.qbResume = map[string]qbResume{}
	s.quota = map[string]*quotaDay{}
	s.lastStamp = map[string]time.Time{}
	if s.hooks != nil {
		s.hooks.mu.Lock()
		s.hooks.st = WebhookStats{}
		s.hooks.mu.Unlock()
	}
}

// Reset restores the seed data and clears stats, faults, tokens issued and idempotency memory.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
	s.journalResetLocked()
}

// now returns the simulator clock.
func (s *Sim) now() time.Time { return s.opts.Now() }
