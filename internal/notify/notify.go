package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/mail"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reports"
)

// Mailer delivers one rich message now. *mail.SMTP is the real one.
type Mailer interface {
	DeliverRich(ctx context.Context, m mail.Rich) error
}

// InsertFunc inserts a River job in the caller's transaction.
type InsertFunc func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)

// Options are the service's dependencies and settings.
type Options struct {
	Pool *pgxpool.Pool
	// Records reads a record as a recipient may: it must be a reader that
	// neither refreshes nor enqueues refreshes (no source calls).
	Records *records.Reader
	Policy  *access.Policy
	Rules   map[string]*Rule
	Insert  InsertFunc
	Mailer  Mailer
	// Brand is the current brand (name, colours) for the mail.
	Brand *brand.Current
	// PublicURL is the portal's base URL for links in mail.
	PublicURL string
	// SigningKey signs unsubscribe links and is at least 32 bytes.
	SigningKey []byte
	// Hold is how long an immediate notice waits for more events about
	// its record before it is sent.
	Hold time.Duration
	// DedupWindow: after a record's notice was emailed, further events of
	// the same kind within it fold into one notice sent when it ends.
	DedupWindow time.Duration
	// DailyCap is how many notices a user is emailed one by one per local
	// day; the rest fold into the digest. 0: no cap.
	DailyCap int
	// DigestHour is the local hour from which the daily digest is sent.
	DigestHour int
	// Batch is how many events one dispatch transaction takes.
	Batch int
	// Dispatchers are the dispatch loops of one process (they share the
	// events through row locks).
	Dispatchers int
	// Promote makes a scheduled job available now. River's scheduler
	// moves due jobs only every few seconds; the dispatcher calls Promote
	// when a held notice is due, so the hold is what it says. Nil: the
	// scheduler alone.
	Promote func(ctx context.Context, jobID int64) error
	// WebhookKey (secrets.encryption_key, 32 bytes) seals webhook
	// secrets in the database (secret.go); nil keeps them in clear, as a
	// development portal without the key does.
	WebhookKey []byte
	// WebhookMaxFailures disables a webhook after so many failures in a
	// row.
	WebhookMaxFailures int
	// WebhookClient sends webhooks; nil: a client with a 10 s timeout
	// that reaches public addresses only (target.go).
	WebhookClient Doer
	// WebhookPrivateTargets lets webhooks reach loopback and private
	// addresses: a receiver on this machine, in development.
	WebhookPrivateTargets bool
	// Events records the reports' engagement events: a notice sent (its
	// mail accepted, or its inbox item created) and opened (marked read).
	// Nil records none.
	Events *reports.Recorder
	Logger *slog.Logger
	Now    func() time.Time
}

// Service dispatches events and sends notices.
type Service struct {
	opts Options
	log  *slog.Logger
	wake waker
	// unread keeps users' unread counts (unread.go).
	unread *unreadCache
	// box seals webhook secrets (secret.go).
	box secretBox
}

// New returns the service.
func New(opts Options) (*Service, error) {
	if opts.Pool == nil || opts.Records == nil || opts.Policy == nil || opts.Insert == nil {
		return nil, errors.New("notify: pool, records, policy and insert are required")
	}
	if len(opts.SigningKey) < 32 {
		return nil, errors.New("notify: the signing key must be at least 32 bytes")
	}
	if opts.Rules == nil {
		rules, err := CompileRules(nil)
		if err != nil {
			return nil, err
		}
		opts.Rules = rules
	}
	if opts.Mailer == nil {
		opts.Mailer = unconfigured{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Batch <= 0 {
		opts.Batch = 200
	}
	if opts.Dispatchers <= 0 {
		opts.Dispatchers = 1
	}
	if opts.DigestHour < 0 || opts.DigestHour > 23 {
		return nil, fmt.Errorf("notify: digest hour %d is not 0..23", opts.DigestHour)
	}
	if opts.WebhookMaxFailures <= 0 {
		opts.WebhookMaxFailures = 10
	}
	if opts.WebhookClient == nil {
		opts.WebhookClient = webhookClient(opts.WebhookPrivateTargets)
	}
	box, err := newSecretBox(opts.WebhookKey)
	if err != nil {
		return nil, err
	}
	return &Service{opts: opts, log: opts.Logger, wake: make(waker, 1), unread: newUnreadCache(), box: box}, nil
}

type unconfigured struct{}

func (unconfigured) DeliverRich(context.Context, mail.Rich) error {
	return fmt.Errorf("%w: mail.smtp_url is not set", mail.ErrUnsendable)
}
