package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/store"
)

// Invitation and password-reset mail is sent by River jobs (internal/mail
// works them), inserted in the transaction that makes the invitation or
// takes the reset request: a mail is never lost to a restart, and a
// transaction that rolls back leaves no mail behind.
//
// The jobs carry no link. The one-time token is minted when the mail is
// sent, by InvitationMail or ResetMail, and only its hash is stored: a
// link in the job's arguments would sit in clear in river_job (and the
// River UI) for as long as River keeps the job, a day after completion.
// Minting at send time also means a retried mail carries a fresh link and
// the one a failed attempt may have carried stops working.

// InsertFunc inserts a River job in the caller's transaction (a River
// client's InsertTx).
type InsertFunc func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)

// pendingMail is unique among mails not yet finished: asking again while
// one is on its way does not send a second.
var pendingMail = &river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
	rivertype.JobStateRunning, rivertype.JobStateScheduled,
}}

// InvitationMailArgs mails an invited user their activation link.
type InvitationMailArgs struct {
	UserID int64 `json:"user_id"`
}

// Kind implements river.JobArgs.
func (InvitationMailArgs) Kind() string { return "invitation_mail" }

// InsertOpts: River's backoff (attempt⁴ seconds) spreads ten attempts
// over about four hours; an invitation is valid for a week.
func (InvitationMailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueNotify, MaxAttempts: 10, UniqueOpts: *pendingMail}
}

// PasswordResetMailArgs mails a reset link to the user with this email,
// if there is an active one. The request inserts it for every email, known
// or not, so that it does the same work either way.
type PasswordResetMailArgs struct {
	Email string `json:"email"`
}

// Kind implements river.JobArgs.
func (PasswordResetMailArgs) Kind() string { return "password_reset_mail" }

// InsertOpts: six attempts over about a quarter of an hour; someone
// waiting for a reset link does not wait longer.
func (PasswordResetMailArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueNotify, MaxAttempts: 6, UniqueOpts: *pendingMail}
}

// enqueueMail inserts a mail job in tx. River's tables belong to the
// owner, not to portico_api: the transaction leaves the API role for this
// one insert and returns to the role it had.
func (s *Service) enqueueMail(ctx context.Context, tx pgx.Tx, args river.JobArgs) error {
	left, err := store.RoleSuspend(ctx, tx)
	if err != nil {
		return fmt.Errorf("auth: queue mail: %w", err)
	}
	if _, err := s.insert(ctx, tx, args, nil); err != nil {
		return fmt.Errorf("auth: queue mail: %w", err)
	}
	if err := store.RoleRestore(ctx, tx, left.Role); err != nil {
		return fmt.Errorf("auth: queue mail: %w", err)
	}
	return nil
}

// InviteTx creates or refreshes an invited user and queues the invitation
// mail, in tx.
func (s *Service) InviteTx(ctx context.Context, tx pgx.Tx, nu NewUser) (User, error) {
	row, err := inviteUser(ctx, tx, nu, s.now())
	if err != nil {
		return User{}, err
	}
	// The earlier link of a re-invitation is spent when the new one is
	// minted, not here: while a mail is on its way the new job is not
	// queued (pendingMail), and the link on its way must keep working.
	if err := s.enqueueMail(ctx, tx, InvitationMailArgs{UserID: row.ID}); err != nil {
		return User{}, err
	}
	return userFromRow(row), nil
}

// RequestResetTx takes a password-reset request for a normalised email in
// tx. It runs the same statements whether or not the email has a user:
// the per-email budget is counted and spent, and the mail job inserted;
// the worker finds out whether there is anyone to mail.
func (s *Service) RequestResetTx(ctx context.Context, tx pgx.Tx, email string) error {
	// Reset mails share the login throttle's budget per email, so that
	// the form cannot be used to flood someone's inbox.
	key, now := "reset:"+email, s.now()
	n, err := store.AuthLoginFailureCount(ctx, tx, store.AuthLoginFailureCountParams{
		TenantID: s.tenantID, Key: key, Since: ts(now.Add(-s.throttle.Window))})
	if err != nil || n >= int64(s.throttle.PerEmail) {
		return err
	}
	if err := store.AuthLoginFailureRecord(ctx, tx, store.AuthLoginFailureRecordParams{TenantID: s.tenantID, Key: key, Now: ts(now)}); err != nil {
		return err
	}
	return s.enqueueMail(ctx, tx, PasswordResetMailArgs{Email: email})
}

// InvitationMail mints the activation token of an invitation job and
// returns its message; ok is false when there is nothing to send (the
// user activated or was removed meanwhile).
func (s *Service) InvitationMail(ctx context.Context, args InvitationMailArgs) (m Message, ok bool, err error) {
	return s.mintMail(ctx, invitationMail, func(tx pgx.Tx) (store.AuthUser, error) {
		return store.AuthUserByID(ctx, tx, args.UserID)
	})
}

// ResetMail mints the token of a password-reset job and returns its
// message; ok is false when the email has no active user.
func (s *Service) ResetMail(ctx context.Context, args PasswordResetMailArgs) (m Message, ok bool, err error) {
	return s.mintMail(ctx, resetMail, func(tx pgx.Tx) (store.AuthUser, error) {
		return store.AuthUserByEmail(ctx, tx, store.AuthUserByEmailParams{TenantID: s.tenantID, Email: args.Email})
	})
}

// mailSpec is what differs between the two mails.
type mailSpec struct {
	purpose, status, path string // the token's purpose, the user status it needs, the page it opens
	ttl                   time.Duration
	render                func(to, link string) Message
}

var (
	invitationMail = mailSpec{purpose: purposeInvitation, status: "invited", path: ActivatePath, ttl: InvitationTTL, render: invitationMessage}
	resetMail      = mailSpec{purpose: purposeReset, status: "active", path: ResetPath, ttl: PasswordResetTTL, render: resetMessage}
)

// mintMail issues the token for the user find returns, if they are in the
// status the mail needs, and commits it before returning the message.
func (s *Service) mintMail(ctx context.Context, spec mailSpec, find func(pgx.Tx) (store.AuthUser, error)) (m Message, ok bool, err error) {
	err = s.asAPI(ctx, func(tx pgx.Tx) error {
		user, err := find(tx)
		if errors.Is(err, store.ErrNotFound) || (err == nil && user.Status != spec.status) {
			return nil
		}
		if err != nil {
			return err
		}
		tok, err := issueToken(ctx, tx, user.ID, spec.purpose, s.now(), spec.ttl)
		if err != nil {
			return err
		}
		m, ok = spec.render(user.Email, s.linkBase()+spec.path+"?token="+tok), true
		return nil
	})
	return m, ok && err == nil, err
}

func invitationMessage(to, link string) Message {
	return Message{To: to, Kind: purposeInvitation, Link: link,
		Subject: "You are invited to the customer portal",
		Body:    "Open this link within 7 days to choose your password:\n\n" + link + "\n"}
}

func resetMessage(to, link string) Message {
	return Message{To: to, Kind: purposeReset, Link: link,
		Subject: "Reset your portal password",
		Body:    "Open this link within an hour to choose a new password:\n\n" + link + "\n\nIf you did not ask for this, ignore this message.\n"}
}
