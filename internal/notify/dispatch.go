package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"

	"github.com/porticohq/portico/internal/access"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/records"
	"github.com/porticohq/portico/internal/reports"
	"github.com/porticohq/portico/internal/store"
)

// actorWindow is how long after a user's action was applied a change of
// its record counts as that user's doing.
const actorWindow = 10 * time.Minute

// busyDelay is how long an event waits when another dispatcher is placing
// a notice for one of its recipients.
const busyDelay = 0.2 // seconds

// errRecipientBusy: another dispatcher holds one of the event's
// recipients; nothing of the event was placed.
var errRecipientBusy = errors.New("notify: a recipient is busy")

// recipient is a candidate user with the scope the access policy gives it.
type recipient struct {
	id      int64
	account string
	email   string
	locale  string // the user's language setting ("": English)
	roles   []string
	scope   access.Scope
	prefs   map[string]string // event/channel -> mode
	legacy  store.NotificationPreference
	hasOld  bool
}

// pass caches what one dispatch transaction looks up more than once, and
// collects the held jobs to promote once it commits.
type pass struct {
	users map[int64]*recipient
	due   []dueJob
	// sent are the inbox items created, recorded as sent once the pass
	// commits.
	sent []sentNotice
}

type sentNotice struct {
	id, user int64
	account  string
}

type dueJob struct {
	id int64
	at time.Time
}

// DispatchOnce turns up to one batch of events into notices, in one
// transaction, and reports how many events it took.
func (s *Service) DispatchOnce(ctx context.Context) (int, error) {
	n := 0
	var p *pass
	defer func() { s.promoteLater(p.due) }()
	// An event's recipients are locked before anything of it is placed,
	// and never waited for (lockAll): a dispatcher that finds one held
	// by another leaves the event for a later pass. The retry stays for
	// the deadlocks nobody foresaw: PostgreSQL aborts one transaction,
	// which takes its batch again.
	err := store.RetryDeadlock(func() error {
		p = &pass{users: map[int64]*recipient{}}
		return pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
			events, err := store.NotifyEventsClaim(ctx, tx, int32(s.opts.Batch))
			if err != nil {
				return err
			}
			ids := make([]int64, 0, len(events))
			for _, ev := range events {
				wait, err := s.unsettled(ctx, tx, ev)
				if err != nil {
					return err
				}
				if wait {
					if err := store.NotifyEventPostpone(ctx, tx, store.NotifyEventPostponeParams{ID: ev.ID, Seconds: 1}); err != nil {
						return err
					}
					continue
				}
				err = s.dispatch(ctx, tx, p, ev)
				if errors.Is(err, errRecipientBusy) {
					if err := store.NotifyEventPostpone(ctx, tx, store.NotifyEventPostponeParams{ID: ev.ID, Seconds: busyDelay}); err != nil {
						return err
					}
					continue
				}
				if err != nil {
					return fmt.Errorf("notify: event %d (%s): %w", ev.ID, ev.Kind, err)
				}
				ids = append(ids, ev.ID)
			}
			n = len(events)
			if len(ids) == 0 {
				return nil
			}
			return store.NotifyEventsDone(ctx, tx, ids)
		})
	})
	if err != nil {
		p.due = nil // rolled back: no job to promote
		return n, err
	}
	for _, sn := range p.sent {
		s.record(reports.NotificationSent, sn.user, sn.account, sn.id)
	}
	return n, nil
}

// promoteLater makes each held job available when it is due (after the
// commit that inserted it). A process that dies first leaves it to
// River's scheduler, a few seconds later.
func (s *Service) promoteLater(due []dueJob) {
	if s.opts.Promote == nil {
		return
	}
	for _, d := range due {
		time.AfterFunc(time.Until(d.at), func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := s.opts.Promote(ctx, d.id); err != nil {
				s.log.DebugContext(ctx, "notify: promoting a held notice", slog.Int64("job_id", d.id), slog.String("error", err.Error()))
			}
		})
	}
}

// DispatchAll dispatches until no event is left.
func (s *Service) DispatchAll(ctx context.Context) error {
	for {
		n, err := s.DispatchOnce(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

// unsettled reports whether an event must wait: a comment that arrives
// while a portal user's comment on the case is on its way may be that
// user's own, known only once the action records the source's id.
func (s *Service) unsettled(ctx context.Context, tx pgx.Tx, ev store.NotifyEvent) (bool, error) {
	if ev.Kind != EventCaseComment || ev.CreatedAt.Time.Before(s.opts.Now().Add(-actorWindow)) {
		return false, nil
	}
	return store.NotifyOpenCommentAction(ctx, tx, store.NotifyOpenCommentActionParams{
		TenantID: ev.TenantID, Connection: ev.Connection, CaseID: ev.SourceID,
	})
}

func isAction(kind string) bool { return strings.HasPrefix(kind, "action_") }

func (s *Service) dispatch(ctx context.Context, tx pgx.Tx, p *pass, ev store.NotifyEvent) error {
	rule, ok := s.opts.Rules[ev.Kind]
	if !ok {
		return nil
	}
	if ev.ActionID.Valid || isAction(ev.Kind) {
		// The user's own action: tell that user only.
		if !ev.ActorUser.Valid {
			return nil
		}
		r, err := s.recipient(ctx, tx, p, ev.TenantID, ev.ActorUser.Int64)
		if err != nil || r == nil {
			return err
		}
		if err := lockAll(ctx, tx, []*recipient{r}); err != nil {
			return err
		}
		if err := s.notifyOne(ctx, tx, p, ev, rule, r, true); err != nil {
			return err
		}
		// The account's own tools hear of its users' changes too (the
		// payload names the record, never what was changed).
		return s.webhooks(ctx, tx, ev, r.account)
	}
	owner, err := store.NotifyRecordOwner(ctx, tx, store.NotifyRecordOwnerParams{
		TenantID: ev.TenantID, Connection: ev.Connection, Object: ev.Object, SourceID: ev.SourceID,
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && (owner.OwnerAccount == "" || owner.Hidden || owner.Deleted)) {
		return nil
	}
	if err != nil {
		return err
	}
	actor, skip, err := s.actor(ctx, tx, ev)
	if err != nil || skip {
		return err
	}
	cands, err := store.NotifyCandidates(ctx, tx, store.NotifyCandidatesParams{
		TenantID: ev.TenantID, AccountID: pgtype.Text{String: owner.OwnerAccount, Valid: true},
	})
	if err != nil {
		return err
	}
	var rs []*recipient
	for _, c := range cands {
		if c.ID == actor {
			continue // nobody is told of their own doing
		}
		r, err := s.recipient(ctx, tx, p, ev.TenantID, c.ID)
		if err != nil {
			return err
		}
		if r != nil && rule.receives(r.roles) {
			rs = append(rs, r)
		}
	}
	if err := lockAll(ctx, tx, rs); err != nil {
		return err
	}
	for _, r := range rs {
		if err := s.notifyOne(ctx, tx, p, ev, rule, r, false); err != nil {
			return err
		}
	}
	return s.webhooks(ctx, tx, ev, owner.OwnerAccount)
}

// lockAll takes each recipient's lock for the rest of the transaction,
// so that their daily cap counts, and a record's repeats fold, as if one
// dispatcher ran. It never waits: errRecipientBusy when another
// dispatcher holds one, before anything of the event is written. (The
// locks it took meanwhile stay until the commit; nobody waits for them.)
func lockAll(ctx context.Context, tx pgx.Tx, rs []*recipient) error {
	for _, r := range rs {
		ok, err := store.NotifyTryLockUser(ctx, tx, r.id)
		if err != nil {
			return err
		}
		if !ok {
			return errRecipientBusy
		}
	}
	return nil
}

// actor finds the portal user who caused a record event; skip is set for
// an event that is no news at all (a comment a customer wrote is not a
// staff comment).
func (s *Service) actor(ctx context.Context, tx pgx.Tx, ev store.NotifyEvent) (actor int64, skip bool, err error) {
	if ev.ActorUser.Valid {
		return ev.ActorUser.Int64, false, nil
	}
	object, id := ev.Object, ev.SourceID
	if ev.Kind == EventCaseComment && ev.ChildID.Valid {
		object, id = "case_comment", ev.ChildID.String
	}
	since := ev.CreatedAt.Time.Add(-actorWindow)
	uid, err := store.NotifyActorOfRecord(ctx, tx, store.NotifyActorOfRecordParams{
		TenantID: ev.TenantID, Connection: ev.Connection, Object: object, SourceID: id,
		Since: pgtype.Timestamptz{Time: since, Valid: true},
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if ev.Kind == EventCaseComment {
		return 0, true, nil
	}
	var n int64
	_, _ = fmt.Sscan(uid, &n)
	return n, false, nil
}

// recipient loads a user, its scope and its preferences once per pass;
// nil for a user who is gone or inactive.
func (s *Service) recipient(ctx context.Context, tx pgx.Tx, p *pass, tenant, id int64) (*recipient, error) {
	if r, ok := p.users[id]; ok {
		return r, nil
	}
	u, err := store.NotifyUser(ctx, tx, store.NotifyUserParams{TenantID: tenant, ID: id})
	if errors.Is(err, store.ErrNotFound) {
		p.users[id] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	scope, err := s.opts.Policy.Scope(ctx, &auth.Principal{
		UserID: u.ID, TenantID: tenant, AccountID: u.AccountID, ContactID: u.ContactID,
		Email: u.Email, Roles: u.Roles, SeeChildAccounts: u.SeeChildAccounts,
	})
	if err != nil {
		return nil, err
	}
	r := &recipient{id: u.ID, account: u.AccountID, email: u.Email, locale: u.Locale, roles: u.Roles, scope: scope, prefs: map[string]string{}}
	prefs, err := store.NotifyPreferences(ctx, tx, u.ID)
	if err != nil {
		return nil, err
	}
	for _, pr := range prefs {
		r.prefs[pr.Event+"/"+pr.Channel] = pr.Mode
	}
	old, err := store.NotificationPreferenceGet(ctx, tx, store.NotificationPreferenceGetParams{TenantID: tenant, UserID: u.ID})
	switch {
	case err == nil:
		r.legacy, r.hasOld = old, true
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	p.users[id] = r
	return r, nil
}

// mode is the user's choice for an event and channel: the fine-grained
// preference, else the coarse switches of the profile page, else the
// rule's default.
func (r *recipient) mode(event, channel, def string) string {
	if m, ok := r.prefs[event+"/"+channel]; ok {
		return m
	}
	if r.hasOld && channel == ChannelEmail {
		l := r.legacy
		on := l.Email
		switch {
		case strings.HasPrefix(event, "case_"):
			on = on && l.CaseUpdates
		case event == EventOrderShipped:
			on = on && l.OrderUpdates
		case strings.HasPrefix(event, "invoice_"):
			on = on && l.InvoiceIssued
		case strings.HasPrefix(event, "approval_"):
			on = on && l.Approvals
		}
		if !on {
			return ModeOff
		}
	}
	return def
}

// notifyOne makes or folds one recipient's notice about an event. own is
// set for the recipient's own action, which may concern a record not
// (yet) in the cache.
func (s *Service) notifyOne(ctx context.Context, tx pgx.Tx, p *pass, ev store.NotifyEvent, rule *Rule, r *recipient, own bool) error {
	rec, err := s.opts.Records.Get(ctx, r.scope, ev.Object, ev.SourceID, records.GetOptions{})
	switch {
	case errors.Is(err, records.ErrNotFound):
		if !own {
			return nil // the access policy says no: not a word about it
		}
		rec = nil
	case err != nil:
		return err
	}
	words := wordsOf(r.locale)
	v := view(ev, rec, words)
	if own && ev.ActionID.Valid {
		msg, err := store.NotifyActionMessage(ctx, tx, ev.ActionID.Int64)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		v.Message = msg
	}
	subject, body, err := rule.Render(words.tag, v)
	if err != nil {
		return err
	}
	email := r.mode(ev.Kind, ChannelEmail, rule.Email)
	inbox := r.mode(ev.Kind, ChannelInbox, ModeImmediate) != ModeOff
	if email == ModeOff && !inbox {
		return nil
	}
	return s.place(ctx, tx, p, ev, r, placed{subject: subject, body: body, link: link(ev.Object, ev.SourceID, rec != nil), email: email, inbox: inbox})
}

type placed struct {
	subject, body, link string
	email               string
	inbox               bool
}

// place folds the notice into the recipient's unsent one about the same
// record and kind, or inserts it with its send job. The caller holds the
// recipient's lock (lockAll).
func (s *Service) place(ctx context.Context, tx pgx.Tx, p *pass, ev store.NotifyEvent, r *recipient, pl placed) error {
	now := s.opts.Now()
	latest, err := store.NotifyGroupLatest(ctx, tx, store.NotifyGroupLatestParams{
		UserID: r.id, Kind: ev.Kind, Object: ev.Object, SourceID: ev.SourceID,
	})
	found := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if found && s.folds(latest, pl, now) {
		if err := store.NoticeFold(ctx, tx, store.NoticeFoldParams{ID: latest.ID, Title: pl.subject, Body: pl.body, Link: pl.link}); err != nil {
			return err
		}
		return s.key(ctx, tx, r.id, ev.ID, latest.ID)
	}
	state := "none"
	var sendAt time.Time
	switch pl.email {
	case ModeDigest:
		state = "digest"
	case ModeImmediate:
		state = "pending"
		sendAt = now.Add(s.opts.Hold)
		if found && latest.Email == "sent" && latest.SentAt.Valid && now.Sub(latest.SentAt.Time) < s.opts.DedupWindow {
			// Emailed about this very thing a moment ago: one more
			// notice when the window ends, in its final state.
			sendAt = latest.SentAt.Time.Add(s.opts.DedupWindow)
		}
		st, err := s.setting(ctx, tx, r.id)
		if err != nil {
			return err
		}
		sendAt = st.afterQuiet(sendAt)
		capped, err := s.capped(ctx, tx, r.id, st, now)
		if err != nil {
			return err
		}
		if capped {
			state, sendAt = "digest", time.Time{}
		}
	}
	id, err := store.NoticeInsert(ctx, tx, store.NoticeInsertParams{
		TenantID: ev.TenantID, UserID: r.id, Kind: ev.Kind, Connection: ev.Connection, Object: ev.Object,
		SourceID: ev.SourceID, Title: pl.subject, Body: pl.body, Link: pl.link, Inbox: pl.inbox, Email: state,
		SendAt: pgtype.Timestamptz{Time: sendAt, Valid: state == "pending"},
	})
	if err != nil {
		return err
	}
	if err := s.key(ctx, tx, r.id, ev.ID, id); err != nil {
		return err
	}
	if pl.inbox {
		p.sent = append(p.sent, sentNotice{id: id, user: r.id, account: r.account})
	}
	if state != "pending" {
		return nil
	}
	res, err := s.opts.Insert(ctx, tx, SendArgs{NoticeID: id}, &river.InsertOpts{ScheduledAt: sendAt})
	if err != nil {
		return err
	}
	if res != nil && res.Job != nil && sendAt.After(now) && sendAt.Sub(now) <= time.Hour {
		p.due = append(p.due, dueJob{id: res.Job.ID, at: sendAt})
	}
	return nil
}

// folds reports whether a new event joins the latest notice: its email
// has not left (or it has none), it is in the same channels, and it is
// recent.
func (s *Service) folds(latest store.Notice, pl placed, now time.Time) bool {
	if latest.Inbox != pl.inbox || now.Sub(latest.CreatedAt.Time) > max(s.opts.DedupWindow, time.Hour) {
		return false
	}
	switch latest.Email {
	case "pending", "digest":
		return true
	case "none":
		return pl.email == ModeOff && !latest.ReadAt.Valid
	}
	return false
}

// key records the exactly-once key of a recipient and an event.
func (s *Service) key(ctx context.Context, tx pgx.Tx, user, event, notice int64) error {
	n, err := store.NoticeEventInsert(ctx, tx, store.NoticeEventInsertParams{UserID: user, EventID: event, NoticeID: notice})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("user %d was already notified of event %d", user, event)
	}
	return nil
}

// capped reports whether the user reached the daily cap of immediate mail.
func (s *Service) capped(ctx context.Context, tx pgx.Tx, user int64, st setting, now time.Time) (bool, error) {
	if s.opts.DailyCap <= 0 {
		return false, nil
	}
	local := now.In(st.loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, st.loc)
	n, err := store.NotifyEmailsSince(ctx, tx, store.NotifyEmailsSinceParams{UserID: user, Since: pgtype.Timestamptz{Time: midnight, Valid: true}})
	return n >= int64(s.opts.DailyCap), err
}

// view is what a rule's templates show of a record, in the recipient's
// words.
func view(ev store.NotifyEvent, rec *records.Record, words words) View {
	v := View{Object: ev.Object, ID: ev.SourceID, Title: ev.SourceID}
	if rec == nil {
		return v
	}
	v.Status, v.NextStep = rec.StatusLabel, rec.NextStep
	for _, f := range []string{"number", "reference", "name", "subject"} {
		if x := rec.Field(f); x != nil && fmt.Sprint(x) != "" {
			v.Title = fmt.Sprint(x)
			break
		}
	}
	if ev.Object == "contact" {
		// A person has a name, not a number: the recipient's own
		// details (a contact is changed by its own user only).
		name := strings.TrimSpace(valueOr(rec.Field("first_name")) + " " + valueOr(rec.Field("last_name")))
		if name == "" {
			name = valueOr(rec.Field("email"))
		}
		if name != "" {
			v.Title = words.T("title.contact", name)
		}
	}
	if ev.Object == "case" {
		if sub := rec.Field("subject"); sub != nil && v.Title != fmt.Sprint(sub) {
			v.Title += " (" + fmt.Sprint(sub) + ")"
		}
	}
	if ev.Kind == EventOrderShipped {
		v.Tracking = tracking(rec)
	}
	if ev.Kind == EventInvoiceDue || ev.Kind == EventApprovalReminder {
		v.Days = daysLeft(rec, ev)
	}
	return v
}

// tracking is the latest shipped shipment's tracking number and carrier.
func tracking(rec *records.Record) string {
	ships, _ := rec.Field("shipments").([]any)
	out := ""
	for _, s := range ships {
		m, _ := s.(map[string]any)
		if m == nil || m["status"] != "shipped" {
			continue
		}
		out = strings.TrimSpace(fmt.Sprint(valueOr(m["carrier"]), " ", valueOr(m["tracking_number"])))
		if u := valueOr(m["tracking_url"]); u != "" {
			out += " " + u
		}
	}
	return out
}

func valueOr(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// daysLeft is the days until the record's due or expiry date.
func daysLeft(rec *records.Record, ev store.NotifyEvent) int {
	field := "due_on"
	if ev.Object == "approval_request" {
		field = "expires_on"
	}
	d, err := time.Parse("2006-01-02", valueOr(rec.Field(field)))
	if err != nil {
		return 0
	}
	at := ev.CreatedAt.Time
	today := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
	return int(d.Sub(today).Hours() / 24)
}

// link is the portal page of a record.
func link(object, id string, exists bool) string {
	if !exists {
		return "/"
	}
	switch object {
	case "case":
		return "/cases/" + id
	case "order":
		return "/orders/" + id
	case "invoice":
		return "/invoices/" + id
	case "approval_request":
		return "/approvals/" + id
	}
	return "/"
}

func pgtypeText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

func pgtypeDate(t time.Time) pgtype.Date { return pgtype.Date{Time: t, Valid: true} }
