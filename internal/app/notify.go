package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/credentials"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/notify"
	"github.com/porticohq/portico/internal/records"
)

// wireNotify builds the notifications. Their reader of records neither
// refreshes nor enqueues refreshes: an event never costs a source call.
func (a *App) wireNotify(set *mapping.Set) error {
	rules := make(map[string]notify.RuleConfig, len(a.cfg.Notify.Rules))
	for ev, r := range a.cfg.Notify.Rules {
		rules[ev] = notify.RuleConfig{Roles: r.Roles, Email: r.Email, Subject: r.Subject, Body: r.Body}
	}
	compiled, err := notify.CompileRules(rules)
	if err != nil {
		return &config.Error{Key: "notify.rules", Msg: err.Error()}
	}
	mailer, _ := a.mailer.(notify.Mailer)
	nc := a.cfg.Notify
	// Webhook secrets are sealed under the encryption key where there is one.
	var webhookKey []byte
	if k := a.cfg.Secrets.EncryptionKey; k != "" {
		if webhookKey, err = credentials.ParseKey(k); err != nil {
			return &config.Error{Key: "secrets.encryption_key", Msg: err.Error()}
		}
	}
	a.notify, err = notify.New(notify.Options{
		Pool: a.pool, Records: records.New(records.Options{Pool: a.pool, Mappings: set, Logger: a.logger}),
		Policy: access.NewPolicy(a.pool), Rules: compiled, Mailer: mailer, Brand: a.brand,
		Insert: func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return a.river.InsertTx(ctx, tx, args, opts)
		},
		PublicURL: a.cfg.HTTP.PublicURL, SigningKey: a.signingKey(),
		Hold: nc.Hold, DedupWindow: nc.DedupWindow, DailyCap: nc.DailyCap, DigestHour: nc.DigestHour,
		WebhookKey: webhookKey, WebhookMaxFailures: nc.WebhookMaxFailures, WebhookPrivateTargets: nc.WebhookPrivateTargets, Dispatchers: nc.Dispatchers,
		Promote: func(ctx context.Context, id int64) error {
			j, err := a.river.JobGet(ctx, id)
			if err != nil || j.State != rivertype.JobStateScheduled {
				return err
			}
			_, err = a.river.JobRetry(ctx, id)
			return err
		},
		Events: a.events,
		Logger: a.logger.With(slog.String("component", "notify")),
	})
	if err != nil {
		return err
	}
	notify.Register(a.jobs, a.notify, nc.ScanInterval)
	return nil
}

// signingKey signs unsubscribe links: derived from the encryption key, or
// the admin token; without either, a key of this process only (links
// from before a restart then fail and say so).
func (a *App) signingKey() []byte {
	seed := a.cfg.Secrets.EncryptionKey
	if seed == "" {
		seed = a.cfg.Admin.Token
	}
	if seed == "" {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		a.logger.Warn("neither secrets.encryption_key nor admin.token is set: unsubscribe links stop working at the next restart")
		return k
	}
	sum := sha256.Sum256([]byte("portico notify unsubscribe\x00" + seed))
	return sum[:]
}

// Notify is the notifications service.
func (a *App) Notify() *notify.Service { return a.notify }
