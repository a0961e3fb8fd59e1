package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	neturl "net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/store"
)

// Doer sends an HTTP request.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// WebhookPayload is what an account's webhook receives: which event, about
// which record; never field values (the account's tools read the API).
type WebhookPayload struct {
	ID         int64     `json:"id"` // the event id: a receiver drops repeats by it
	Event      string    `json:"event"`
	Object     string    `json:"object"`
	RecordID   string    `json:"record_id"`
	Account    string    `json:"account_id"`
	OccurredAt time.Time `json:"occurred_at"`
}

// WebhookArgs delivers one event to one webhook.
type WebhookArgs struct {
	HookID  int64          `json:"hook_id"`
	Payload WebhookPayload `json:"payload"`
}

// Kind implements river.JobArgs.
func (WebhookArgs) Kind() string { return "notify_webhook" }

// InsertOpts: the notify queue, once per hook and event, retried with
// River's backoff.
func (WebhookArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueNotify, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// Signature is the Portico-Signature header of a delivery:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, with one v1 per
// secret when several sign (a rotated secret beside its successor). A
// receiver recomputes the HMAC with its secret, accepts the delivery when
// any v1 matches, and refuses a timestamp older than a few minutes.
func Signature(secret string, at time.Time, body []byte, more ...string) string {
	t := strconv.FormatInt(at.Unix(), 10)
	out := "t=" + t
	for _, sec := range append([]string{secret}, more...) {
		m := hmac.New(sha256.New, []byte(sec))
		m.Write([]byte(t + "."))
		m.Write(body)
		out += ",v1=" + hex.EncodeToString(m.Sum(nil))
	}
	return out
}

// PreviousSecretOverlap is how long a rotated secret keeps signing beside
// the new one, so the receiving tool can switch over without refusing
// deliveries. A receiver that has switched checks the new secret alone:
// the old one's signature gives nobody anything they could not forge with
// it anyway.
const PreviousSecretOverlap = 24 * time.Hour

// webhooks queues the event for the record's account's webhooks.
func (s *Service) webhooks(ctx context.Context, tx pgx.Tx, ev store.NotifyEvent, account string) error {
	hooks, err := store.NotifyWebhooks(ctx, tx, store.NotifyWebhooksParams{TenantID: ev.TenantID, AccountID: account})
	if err != nil {
		return err
	}
	for _, h := range hooks {
		p := WebhookPayload{ID: ev.ID, Event: ev.Kind, Object: ev.Object, RecordID: ev.SourceID, Account: account, OccurredAt: ev.CreatedAt.Time.UTC()}
		if _, err := s.opts.Insert(ctx, tx, WebhookArgs{HookID: h.ID, Payload: p}, nil); err != nil {
			return err
		}
	}
	return nil
}

type webhookWorker struct {
	river.WorkerDefaults[WebhookArgs]
	s *Service
}

// Work posts one signed delivery. A failure counts against the hook; the
// limit disables it with the reason, and its queued deliveries stop.
func (w *webhookWorker) Work(ctx context.Context, job *river.Job[WebhookArgs]) error {
	s := w.s
	h, err := store.NotifyWebhookGet(ctx, s.opts.Pool, job.Args.HookID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if h.DisabledAt.Valid {
		return river.JobCancel(fmt.Errorf("notify: webhook %d is disabled: %s", h.ID, h.DisabledReason.String))
	}
	body, err := json.Marshal(job.Args.Payload)
	if err != nil {
		return river.JobCancel(err)
	}
	secret, sendErr := s.box.open(h.TenantID, h.AccountID, h.Secret)
	if sendErr == nil {
		sendErr = s.post(ctx, h.Url, body, secret, s.previousSecret(ctx, h)...)
	}
	reason := ""
	if sendErr != nil {
		reason = sendErr.Error()
	}
	after, err := store.NotifyWebhookResult(ctx, s.opts.Pool, store.NotifyWebhookResultParams{
		ID: h.ID, Ok: sendErr == nil, MaxFailures: int32(s.opts.WebhookMaxFailures), Reason: reason,
	})
	if err != nil {
		return err
	}
	if sendErr != nil && after.DisabledAt.Valid {
		return river.JobCancel(sendErr)
	}
	return sendErr
}

// previousSecret is the rotated secret that still signs beside the
// webhook's own, if any; one whose overlap ended is dropped from the row.
func (s *Service) previousSecret(ctx context.Context, h store.NotifyWebhook) []string {
	if !h.PreviousSecret.Valid {
		return nil
	}
	now := s.opts.Now()
	if !h.PreviousSecretUntil.Time.After(now) {
		if err := store.NotifyWebhookForgetPrevious(ctx, s.opts.Pool, store.NotifyWebhookForgetPreviousParams{ID: h.ID, Now: pgtype.Timestamptz{Time: now, Valid: true}}); err != nil {
			s.log.WarnContext(ctx, "notify: dropping a webhook's replaced secret", slog.Int64("webhook", h.ID), slog.String("error", err.Error()))
		}
		return nil
	}
	prev, err := s.box.open(h.TenantID, h.AccountID, h.PreviousSecret.String)
	if err != nil {
		return nil // the new secret signs alone
	}
	return []string{prev}
}

func (s *Service) post(ctx context.Context, url string, body []byte, secret string, more ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Portico-Signature", Signature(secret, s.opts.Now(), body, more...))
	resp, err := s.opts.WebhookClient.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: %s answered %d", url, resp.StatusCode)
	}
	return nil
}

// WebhookPing is the event of a test delivery, which an account's admin
// sends to check their receiver: no record, event id 0.
const WebhookPing = "ping"

// Webhook is an account's webhook as its admin sees it (never its secret).
type Webhook struct {
	ID             int64
	URL            string
	Failures       int // failed deliveries in a row
	Disabled       bool
	DisabledAt     *time.Time
	DisabledReason string
	CreatedAt      time.Time
	// LastDelivery is how the last delivery went; nil before the first.
	LastDelivery *Delivery
}

// Delivery is the outcome of one delivery: when, whether the receiver
// answered 2xx, and if not why.
type Delivery struct {
	At    time.Time
	OK    bool
	Error string
}

func webhookOf(r store.NotifyWebhook) Webhook {
	h := Webhook{ID: r.ID, URL: r.Url, Failures: int(r.Failures), Disabled: r.DisabledAt.Valid,
		DisabledReason: r.DisabledReason.String, CreatedAt: r.CreatedAt.Time}
	if r.DisabledAt.Valid {
		at := r.DisabledAt.Time
		h.DisabledAt = &at
	}
	if r.LastDeliveryAt.Valid {
		h.LastDelivery = &Delivery{At: r.LastDeliveryAt.Time, OK: r.LastDeliveryOk.Bool, Error: r.LastDeliveryError.String}
	}
	return h
}

// auditState is a webhook in the audit log: what its admin sees, never
// the secret.
func (h Webhook) auditState() map[string]any {
	return map[string]any{"url": h.URL, "disabled": h.Disabled, "disabled_reason": h.DisabledReason, "failures": h.Failures}
}

// audited records a change of one of an account's webhooks: by carries
// who and from where (audit.Event.WithRequest), the rest is filled here.
func audited(ctx context.Context, tx pgx.Tx, by audit.Event, tenant int64, account, action string, id int64, before, after any) error {
	by.TenantID, by.AccountID, by.Action, by.Object, by.ObjectID = tenant, account, action, "webhook", strconv.FormatInt(id, 10)
	by.Before, by.After = before, after
	return audit.Record(ctx, tx, by)
}

// AddWebhook registers a webhook for an account with the given secret and
// audits it as by. A URL the account already has is a field error of url.
func (s *Service) AddWebhook(ctx context.Context, tenant int64, account, url, secret string, by audit.Event) (Webhook, error) {
	if len(secret) < 16 {
		return Webhook{}, &fieldError{"secret", "must be at least 16 characters"}
	}
	u, err := neturl.Parse(url)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(url) > 2000 {
		return Webhook{}, &fieldError{"url", "must be an http or https URL"}
	}
	if err := checkTarget(u, s.opts.WebhookPrivateTargets); err != nil {
		return Webhook{}, err
	}
	stored, err := s.box.seal(tenant, account, secret)
	if err != nil {
		return Webhook{}, err
	}
	var h Webhook
	err = pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		row, err := store.NotifyWebhookCreate(ctx, tx, store.NotifyWebhookCreateParams{TenantID: tenant, AccountID: account, Url: url, Secret: stored})
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w: %w", ErrWebhookExists, &fieldError{"url", "is a webhook of this account already"})
		}
		if err != nil {
			return fmt.Errorf("notify: adding a webhook: %w", err)
		}
		h = webhookOf(row)
		return audited(ctx, tx, by, tenant, account, "webhook.create", h.ID, nil, h.auditState())
	})
	return h, err
}

// newSecret is a fresh webhook secret.
func newSecret() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(raw), nil
}

// NewWebhook registers a webhook for an account with a fresh secret, which
// it answers: the one time the account sees it. The change is audited as
// by.
func (s *Service) NewWebhook(ctx context.Context, tenant int64, account, url string, by audit.Event) (h Webhook, secret string, err error) {
	if secret, err = newSecret(); err != nil {
		return Webhook{}, "", err
	}
	h, err = s.AddWebhook(ctx, tenant, account, strings.TrimSpace(url), secret, by)
	return h, secret, err
}

// ErrWebhookExists is a URL the account has a webhook for already (a
// field error of url).
var ErrWebhookExists = errors.New("notify: a webhook of the account already")

// ErrNoWebhook is a webhook the account does not have.
var ErrNoWebhook = errors.New("notify: no such webhook")

// ErrWebhookDisabled refuses a test delivery to a disabled webhook: it is
// turned on first.
var ErrWebhookDisabled = errors.New("notify: the webhook is disabled")

// changeWebhook runs change on one of an account's webhooks in a
// transaction: another account's, or none, is ErrNoWebhook.
func (s *Service) changeWebhook(ctx context.Context, tenant int64, account string, id int64, change func(tx pgx.Tx, before Webhook) error) error {
	return pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		row, err := store.NotifyWebhookOfAccount(ctx, tx, store.NotifyWebhookOfAccountParams{TenantID: tenant, AccountID: account, ID: id})
		if errors.Is(err, store.ErrNotFound) {
			return ErrNoWebhook
		}
		if err != nil {
			return fmt.Errorf("notify: reading a webhook: %w", err)
		}
		return change(tx, webhookOf(row))
	})
}

// RemoveWebhook deletes one of an account's webhooks, audited as by; its
// queued deliveries find it gone and stop.
func (s *Service) RemoveWebhook(ctx context.Context, tenant int64, account string, id int64, by audit.Event) error {
	return s.changeWebhook(ctx, tenant, account, id, func(tx pgx.Tx, before Webhook) error {
		if _, err := store.NotifyWebhookDelete(ctx, tx, store.NotifyWebhookDeleteParams{TenantID: tenant, AccountID: account, ID: id}); err != nil {
			return fmt.Errorf("notify: removing a webhook: %w", err)
		}
		return audited(ctx, tx, by, tenant, account, "webhook.delete", id, before.auditState(), nil)
	})
}

// EnableWebhook turns a disabled webhook of an account on again, its
// failures forgotten, audited as by; events from now on reach it. One
// that is on stays as it is.
func (s *Service) EnableWebhook(ctx context.Context, tenant int64, account string, id int64, by audit.Event) error {
	return s.changeWebhook(ctx, tenant, account, id, func(tx pgx.Tx, before Webhook) error {
		if !before.Disabled {
			return nil
		}
		if _, err := store.NotifyWebhookEnable(ctx, tx, store.NotifyWebhookEnableParams{TenantID: tenant, AccountID: account, ID: id}); err != nil {
			return fmt.Errorf("notify: enabling a webhook: %w", err)
		}
		after := before
		after.Disabled, after.DisabledReason, after.Failures = false, "", 0
		return audited(ctx, tx, by, tenant, account, "webhook.enable", id, before.auditState(), after.auditState())
	})
}

// RotateWebhookSecret gives one of an account's webhooks a fresh secret,
// which it answers (the one time the account sees it), audited as by.
// Deliveries signed from now on, retries included, carry it, and for
// PreviousSecretOverlap the replaced secret's signature beside it.
func (s *Service) RotateWebhookSecret(ctx context.Context, tenant int64, account string, id int64, by audit.Event) (string, error) {
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	stored, err := s.box.seal(tenant, account, secret)
	if err != nil {
		return "", err
	}
	err = s.changeWebhook(ctx, tenant, account, id, func(tx pgx.Tx, before Webhook) error {
		if _, err := store.NotifyWebhookRotate(ctx, tx, store.NotifyWebhookRotateParams{TenantID: tenant, AccountID: account, ID: id, Secret: stored,
			PreviousUntil: pgtype.Timestamptz{Time: s.opts.Now().Add(PreviousSecretOverlap), Valid: true}}); err != nil {
			return fmt.Errorf("notify: rotating a webhook's secret: %w", err)
		}
		return audited(ctx, tx, by, tenant, account, "webhook.rotate_secret", id, nil, map[string]any{"secret": "rotated"})
	})
	return secret, err
}

// PingWebhook queues a test delivery (event ping) to one of an account's
// webhooks, through the same signed delivery as every event: its outcome
// counts like any delivery's and shows as the hook's last delivery. A
// disabled hook is ErrWebhookDisabled. It answers the payload queued.
func (s *Service) PingWebhook(ctx context.Context, tenant int64, account string, id int64, by audit.Event) (WebhookPayload, error) {
	p := WebhookPayload{Event: WebhookPing, Account: account, OccurredAt: s.opts.Now().UTC()}
	err := s.changeWebhook(ctx, tenant, account, id, func(tx pgx.Tx, before Webhook) error {
		if before.Disabled {
			return ErrWebhookDisabled
		}
		if _, err := s.opts.Insert(ctx, tx, WebhookArgs{HookID: id, Payload: p}, nil); err != nil {
			return fmt.Errorf("notify: queueing a ping: %w", err)
		}
		return audited(ctx, tx, by, tenant, account, "webhook.ping", id, nil, map[string]any{"event": WebhookPing})
	})
	return p, err
}

// Webhooks lists an account's webhooks, a disabled one with its reason.
func (s *Service) Webhooks(ctx context.Context, tenant int64, account string) ([]Webhook, error) {
	rows, err := store.NotifyWebhooksOfAccount(ctx, s.opts.Pool, store.NotifyWebhooksOfAccountParams{TenantID: tenant, AccountID: account})
	if err != nil {
		return nil, err
	}
	out := make([]Webhook, 0, len(rows))
	for _, r := range rows {
		out = append(out, webhookOf(r))
	}
	return out, nil
}

// Webhook is one of an account's webhooks; another account's, or none,
// is ErrNoWebhook.
func (s *Service) Webhook(ctx context.Context, tenant int64, account string, id int64) (Webhook, error) {
	row, err := store.NotifyWebhookOfAccount(ctx, s.opts.Pool, store.NotifyWebhookOfAccountParams{TenantID: tenant, AccountID: account, ID: id})
	if errors.Is(err, store.ErrNotFound) {
		return Webhook{}, ErrNoWebhook
	}
	if err != nil {
		return Webhook{}, fmt.Errorf("notify: reading a webhook: %w", err)
	}
	return webhookOf(row), nil
}

// WebhookAccount is the account whose webhooks p manages: an account
// admin's own; nobody else manages webhooks (staff neither). The
// webhooks page and /api/v1/webhooks both decide by it.
func WebhookAccount(p *auth.Principal) (string, bool) {
	if p == nil || p.Staff || p.AccountID == "" || !p.HasRole(auth.RoleAccountAdmin) {
		return "", false
	}
	return p.AccountID, true
}
