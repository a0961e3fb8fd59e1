package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/textproto"

	"github.com/riverqueue/river"

	"github.com/porticohq/portico/internal/auth"
)

// Sender delivers one message now. *SMTP is the real one.
type Sender interface {
	Deliver(ctx context.Context, m auth.Message) error
}

// ErrUnsendable is a message that no retry can send.
var ErrUnsendable = errors.New("mail: not sendable")

// Permanent reports whether err is a failure that sending again cannot
// fix: a 5xx reply, or ErrUnsendable. Anything else (a network error, a
// 4xx reply) may pass.
func Permanent(err error) bool {
	var tpe *textproto.Error
	return errors.Is(err, ErrUnsendable) || (errors.As(err, &tpe) && tpe.Code >= 500)
}

// Worker sends one kind of mail job: it has the auth service mint the
// link and write the message, then delivers it. A failure that may pass
// is returned, so River retries it with its backoff; a permanent one
// cancels the job, and its reason is logged.
type Worker[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	compose func(context.Context, T) (auth.Message, bool, error)
	send    Sender
	log     *slog.Logger
}

// NewInvitationWorker sends invitations.
func NewInvitationWorker(svc *auth.Service, send Sender, log *slog.Logger) *Worker[auth.InvitationMailArgs] {
	return &Worker[auth.InvitationMailArgs]{compose: svc.InvitationMail, send: send, log: orDiscard(log)}
}

// NewResetWorker sends password-reset links.
func NewResetWorker(svc *auth.Service, send Sender, log *slog.Logger) *Worker[auth.PasswordResetMailArgs] {
	return &Worker[auth.PasswordResetMailArgs]{compose: svc.ResetMail, send: send, log: orDiscard(log)}
}

// Register adds the mail workers. Every process registers them; only
// those that work the notify queue (worker, run) send.
func Register(workers *river.Workers, svc *auth.Service, send Sender, log *slog.Logger) {
	river.AddWorker(workers, NewInvitationWorker(svc, send, log))
	river.AddWorker(workers, NewResetWorker(svc, send, log))
}

// Work implements river.Worker.
func (w *Worker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	m, ok, err := w.compose(ctx, job.Args)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	attrs := []any{slog.String("kind", job.Kind), slog.Int64("job_id", job.ID), slog.Int("attempt", job.Attempt)}
	if !ok {
		w.log.DebugContext(ctx, "mail: nobody to send to", attrs...)
		return nil
	}
	attrs = append(attrs, slog.String("to", m.To))
	err = w.send.Deliver(ctx, m)
	switch {
	case err == nil:
		w.log.InfoContext(ctx, "mail: sent", attrs...)
		return nil
	case Permanent(err):
		w.log.ErrorContext(ctx, "mail: not sent, giving up", append(attrs, slog.String("reason", err.Error()))...)
		return river.JobCancel(err)
	default:
		w.log.WarnContext(ctx, "mail: not sent, will retry", append(attrs, slog.String("error", err.Error()))...)
		return err
	}
}

// Unconfigured is the Sender without mail.smtp_url: it sends nothing and
// says why. The link is not logged: it is a live credential.
type Unconfigured struct{}

// Deliver refuses m.
func (Unconfigured) Deliver(context.Context, auth.Message) error {
	return fmt.Errorf("%w: mail.smtp_url is not set", ErrUnsendable)
}

// DevLog is the Sender of `portico dev` without SMTP: it prints each mail,
// link included, on a log line marked as dev mail.
type DevLog struct{ Log *slog.Logger }

// Deliver logs m.
func (d DevLog) Deliver(ctx context.Context, m auth.Message) error {
	d.Log.InfoContext(ctx, "dev mail (portico dev prints mail instead of sending it)",
		slog.String("to", m.To), slog.String("subject", m.Subject), slog.String("link", m.Link))
	return nil
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// DeliverRich refuses m, as Deliver.
func (Unconfigured) DeliverRich(context.Context, Rich) error {
	return fmt.Errorf("%w: mail.smtp_url is not set", ErrUnsendable)
}

// DeliverRich logs m's subject and text.
func (d DevLog) DeliverRich(ctx context.Context, m Rich) error {
	d.Log.InfoContext(ctx, "dev mail (portico dev prints mail instead of sending it)",
		slog.String("to", m.To), slog.String("subject", m.Subject), slog.String("text", m.Text))
	return nil
}
