package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/internal/brand"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/mail"
	"github.com/porticohq/portico/internal/reports"
	"github.com/porticohq/portico/internal/store"
)

// SendArgs emails one notice.
type SendArgs struct {
	NoticeID int64 `json:"notice_id"`
}

// Kind implements river.JobArgs.
func (SendArgs) Kind() string { return "notify_email" }

// InsertOpts puts it on the notify queue, once per notice.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueNotify, MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// DigestArgs emails one user's digest of one local day.
type DigestArgs struct {
	DigestID int64 `json:"digest_id"`
}

// Kind implements river.JobArgs.
func (DigestArgs) Kind() string { return "notify_digest" }

// InsertOpts puts it on the notify queue, once per digest.
func (DigestArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: jobs.QueueNotify, MaxAttempts: 12, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type sendWorker struct {
	river.WorkerDefaults[SendArgs]
	s *Service
}

// Work sends the notice under its row lock and marks it sent in the same
// transaction: an attempt after a commit finds it sent, and two attempts
// at once take turns.
func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendArgs]) error {
	s := w.s
	var gaveUp error
	var sent *store.NoticeForSendRow
	err := pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		n, err := store.NoticeForSend(ctx, tx, job.Args.NoticeID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // the user was deleted
		}
		if err != nil {
			return err
		}
		if n.Email != "pending" {
			return nil // sent already, or folded into the digest
		}
		it := item{ID: n.ID, Title: n.Title, Body: n.Body, Link: n.Link}
		m, err := s.compose(wordsOf(n.UserLocale), n.UserEmail, n.UserID, n.Kind, n.Title, []item{it}, noticeMessageID(n.ID))
		if err != nil {
			return err
		}
		if uncertain(job.Errors) {
			// The last attempt died without a word (its worker was
			// killed): it may have been accepted before its commit. The
			// same Message-ID goes again; a mailbox holding it drops it.
			s.log.WarnContext(ctx, "notify: mailing a notice again after an attempt whose outcome is unknown",
				slog.Int64("notice_id", n.ID), slog.Int("attempt", job.Attempt))
		}
		// Marked sent first, in this transaction: it commits right after
		// the server's acceptance, or rolls back with a failed send.
		if err := store.NoticeSent(ctx, tx, store.NoticeSentParams{ID: n.ID, SentAt: pgtype.Timestamptz{Time: s.opts.Now(), Valid: true}}); err != nil {
			return err
		}
		if err := s.opts.Mailer.DeliverRich(ctx, m); err != nil {
			if mail.Permanent(err) {
				s.log.ErrorContext(ctx, "notify: not sent, giving up", slog.Int64("notice_id", n.ID), slog.String("reason", err.Error()))
				// The failed state commits (replacing the sent mark).
				gaveUp = err
				return store.NoticeEmailFailed(ctx, tx, n.ID)
			}
			return err
		}
		sent = &n
		return nil
	})
	if err == nil && gaveUp != nil {
		return river.JobCancel(gaveUp)
	}
	if err == nil && sent != nil && s.opts.Events != nil {
		s.record(reports.NotificationSent, sent.UserID, s.accountOf(ctx, sent.UserID), sent.ID)
	}
	return err
}

type digestWorker struct {
	river.WorkerDefaults[DigestArgs]
	s *Service
}

// Work sends one digest: the user's waiting notices grouped by event.
func (w *digestWorker) Work(ctx context.Context, job *river.Job[DigestArgs]) error {
	s := w.s
	var user int64
	var sent []int64
	err := pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		d, err := store.NoticeDigestLock(ctx, tx, job.Args.DigestID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil || d.SentAt.Valid {
			return err
		}
		notices, err := store.NoticeDigestPending(ctx, tx, d.UserID)
		if err != nil || len(notices) == 0 {
			return err
		}
		words := wordsOf(d.UserLocale)
		items := make([]item, 0, len(notices))
		ids := make([]int64, 0, len(notices))
		for _, n := range notices {
			items = append(items, item{ID: n.ID, Group: words.T(groupKey(n.Kind)), Title: n.Title, Body: n.Body, Link: n.Link})
			ids = append(ids, n.ID)
		}
		m, err := s.compose(words, d.UserEmail, d.UserID, "", words.N("digest.subject", len(items)), items, "d"+strconv.FormatInt(d.ID, 10))
		if err != nil {
			return err
		}
		// Marked sent first: it commits right after the server's acceptance.
		if err := store.NoticeDigestSent(ctx, tx, store.NoticeDigestSentParams{ID: d.ID, Ids: ids, SentAt: pgtype.Timestamptz{Time: s.opts.Now(), Valid: true}}); err != nil {
			return err
		}
		if err := s.opts.Mailer.DeliverRich(ctx, m); err != nil {
			return err
		}
		user, sent = d.UserID, ids
		return nil
	})
	if err == nil && len(sent) > 0 && s.opts.Events != nil {
		account := s.accountOf(ctx, user)
		for _, id := range sent {
			s.record(reports.NotificationSent, user, account, id)
		}
	}
	return err
}

// uncertain reports whether a job's last attempt ended without its own
// error: River's rescuer took it back from a worker that died.
func uncertain(errs []rivertype.AttemptError) bool {
	return len(errs) > 0 && strings.Contains(errs[len(errs)-1].Error, "rescued")
}

// noticeMessageID is a notice's Message-ID after compose's "portico-": every
// attempt to mail one notice carries the same one, so a receiver that
// already holds the message can tell a repeat (docs/notifications.md).
func noticeMessageID(id int64) string { return "n" + strconv.FormatInt(id, 10) }

// groupKey is the message key of a digest's section heading.
func groupKey(kind string) string {
	for _, g := range []string{"case", "order", "invoice", "approval", "action"} {
		if strings.HasPrefix(kind, g+"_") {
			return "group." + g
		}
	}
	return "group.file"
}

type item struct {
	ID    int64 // the notice's: its link is counted when clicked
	Group string
	Title string
	Body  string
	Link  string
}

var htmlMail = template.Must(template.New("mail").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:sans-serif;color:#111;margin:0;padding:0">
<div style="background:{{.Primary}};color:#fff;padding:12px 16px;font-weight:bold">{{.Brand}}</div>
<div style="padding:16px">
{{range $it := .Items}}{{if $it.Group}}<h2 style="font-size:16px">{{$it.Group}}</h2>{{end}}
<p><strong>{{$it.Title}}</strong><br>{{range $it.Lines}}{{.}}<br>{{end}}{{if $it.URL}}<a href="{{$it.URL}}" style="color:{{$.Primary}}">{{$.Open}}</a>{{end}}</p>
{{end}}
<hr><p style="font-size:12px;color:#555">{{.Why}} <a href="{{.Prefs}}">{{.Change}}</a> {{.Or}} <a href="{{.Unsubscribe}}">{{.Unsub}}</a>.</p>
</div></body></html>`))

type htmlItem struct {
	Group string
	Title string
	Lines []string
	URL   string
}

// compose renders one notice or a digest as text and HTML with the
// unsubscribe headers of RFC 8058.
func (s *Service) compose(words words, to string, user int64, event, subject string, items []item, msgID string) (mail.Rich, error) {
	site := brand.NewSite(brand.Default(), nil)
	if s.opts.Brand != nil {
		site = s.opts.Brand.Get()
	}
	name := site.Name
	if name == "" {
		name = words.T("mail.brand")
	}
	unsub := s.unsubscribeURL(user, event)
	var text strings.Builder
	his := make([]htmlItem, 0, len(items))
	group := ""
	for _, it := range items {
		if it.Group != "" && it.Group != group {
			group = it.Group
			fmt.Fprintf(&text, "== %s ==\n\n", group)
		}
		u := ""
		switch {
		case it.Link != "" && it.ID > 0:
			u = s.clickURL(it.ID)
		case it.Link != "":
			u = s.opts.PublicURL + it.Link
		}
		fmt.Fprintf(&text, "%s\n%s\n", it.Title, it.Body)
		if u != "" {
			fmt.Fprintf(&text, "%s\n", u)
		}
		text.WriteString("\n")
		his = append(his, htmlItem{Group: it.Group, Title: it.Title, Lines: strings.Split(it.Body, "\n"), URL: u})
	}
	prefs := s.opts.PublicURL + "/notifications/preferences"
	fmt.Fprintf(&text, "-- \n%s\n%s\n%s\n", name, words.T("mail.text_settings", prefs), words.T("mail.text_unsubscribe", unsub))
	var h bytes.Buffer
	err := htmlMail.Execute(&h, map[string]any{
		"Subject": subject, "Brand": name, "Primary": template.CSS(site.PrimaryColor), "Items": groupedHTML(his),
		"Prefs": prefs, "Unsubscribe": unsub, "Lang": words.tag.String(), "Open": words.T("mail.open"),
		"Why": words.T("mail.why"), "Change": words.T("mail.change"), "Or": words.T("mail.or"), "Unsub": words.T("mail.unsubscribe"),
	})
	if err != nil {
		return mail.Rich{}, fmt.Errorf("notify: %w", err)
	}
	return mail.Rich{
		To: to, Subject: subject, Text: text.String(), HTML: h.String(), MessageID: "portico-" + msgID,
		Headers: map[string]string{
			"List-Unsubscribe":      "<" + unsub + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"X-Portico-Kind":        "notification",
		},
	}, nil
}

// groupedHTML clears the group of every item but the first of its group,
// so the template heads each group once.
func groupedHTML(items []htmlItem) []htmlItem {
	prev := ""
	for i := range items {
		g := items[i].Group
		if g == prev {
			items[i].Group = ""
		}
		prev = g
	}
	return items
}

// unsubscribeURL is the one-click link that turns off the email of one
// event ("" event: every event) for a user.
func (s *Service) unsubscribeURL(user int64, event string) string {
	q := url.Values{"u": {strconv.FormatInt(user, 10)}, "t": {s.unsubscribeToken(user, event)}}
	if event != "" {
		q.Set("e", event)
	}
	return s.opts.PublicURL + "/notify/unsubscribe?" + q.Encode()
}

func (s *Service) unsubscribeToken(user int64, event string) string {
	m := hmac.New(sha256.New, s.opts.SigningKey)
	fmt.Fprintf(m, "unsubscribe\x00%d\x00%s", user, event)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// ErrBadLink is an unsubscribe link that was not signed by this portal.
var ErrBadLink = errors.New("notify: this unsubscribe link is not valid")

// Unsubscribe turns off the email of one event (or of all) for the user a
// signed link names.
func (s *Service) Unsubscribe(ctx context.Context, userParam, event, token string) error {
	user, err := strconv.ParseInt(userParam, 10, 64)
	if err != nil || !hmac.Equal([]byte(token), []byte(s.unsubscribeToken(user, event))) {
		return ErrBadLink
	}
	events := Events
	if event != "" {
		events = []string{event}
	}
	return pgx.BeginFunc(ctx, s.opts.Pool, func(tx pgx.Tx) error {
		tenant, err := store.NotifyUserTenant(ctx, tx, user)
		if errors.Is(err, store.ErrNotFound) {
			return nil // erased: nothing is sent to them anyway
		}
		if err != nil {
			return err
		}
		for _, ev := range events {
			if err := store.NotifyPreferencePut(ctx, tx, store.NotifyPreferencePutParams{
				UserID: user, TenantID: tenant, Event: ev, Channel: ChannelEmail, Mode: ModeOff,
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

// since a local midnight.
func localDay(now time.Time, loc *time.Location) time.Time {
	l := now.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}
