package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/porticohq/portico/internal/reports"
	"github.com/porticohq/portico/internal/store"
)

// Notice is one entry of a user's inbox.
type Notice struct {
	ID      int64
	Kind    string
	Title   string
	Body    string
	Link    string
	Events  int
	Read    bool
	Updated time.Time
}

// Inbox lists a user's newest notices.
func (s *Service) Inbox(ctx context.Context, tenant, user int64, limit int) ([]Notice, error) {
	rows, err := store.NoticeInbox(ctx, s.opts.Pool, store.NoticeInboxParams{TenantID: tenant, UserID: user, MaxRows: int32(limit)})
	if err != nil {
		return nil, err
	}
	out := make([]Notice, 0, len(rows))
	for _, r := range rows {
		out = append(out, Notice{ID: r.ID, Kind: r.Kind, Title: r.Title, Body: r.Body, Link: r.Link, Events: int(r.Events), Read: r.ReadAt.Valid, Updated: r.UpdatedAt.Time})
	}
	return out, nil
}

// Unread counts a user's unread notices: from memory while the process
// listens for inbox changes (UnreadSubscriptions), as the header asks on
// every page.
func (s *Service) Unread(ctx context.Context, tenant, user int64) (int, error) {
	k := unreadKey{tenant, user}
	n, ok, t := s.unread.get(k)
	if ok {
		return n, nil
	}
	c, err := store.NoticeUnread(ctx, s.opts.Pool, store.NoticeUnreadParams{TenantID: tenant, UserID: user})
	if err != nil {
		return 0, err
	}
	s.unread.put(k, int(c), t)
	return int(c), nil
}

// MarkRead marks one notice (id > 0) or all of a user's notices read and
// reports how many it marked (a notice read already is not marked again);
// each is recorded as opened for the reports. A notice of another user
// changes nothing.
func (s *Service) MarkRead(ctx context.Context, tenant, user, id int64) (int, error) {
	ids, err := store.NoticeMarkRead(ctx, s.opts.Pool, store.NoticeMarkReadParams{TenantID: tenant, UserID: user, ID: pgtype.Int8{Int64: id, Valid: id > 0}})
	if err != nil {
		return 0, err
	}
	if len(ids) > 0 {
		s.unread.forget(unreadKey{tenant, user})
	}
	if len(ids) > 0 && s.opts.Events != nil {
		account := s.accountOf(ctx, user)
		for _, id := range ids {
			s.record(reports.NotificationOpened, user, account, id)
		}
	}
	return len(ids), nil
}

// InInbox reports whether id is a notice in the user's inbox, read or
// not: the API answers 404 for any other.
func (s *Service) InInbox(ctx context.Context, tenant, user, id int64) (bool, error) {
	return store.NoticeInInbox(ctx, s.opts.Pool, store.NoticeInInboxParams{TenantID: tenant, UserID: user, ID: id})
}

// record queues one engagement event about a notice for the reports.
func (s *Service) record(kind string, user int64, account string, notice int64) {
	s.opts.Events.Record(reports.Event{Kind: kind, UserID: user, AccountID: account, Object: "notification",
		Subject: strconv.FormatInt(notice, 10), At: s.opts.Now()})
}

// accountOf is the user's account, for the reports' per-account figures
// ("" for staff, or when it cannot be read: a figure is not worth failing
// a send for).
func (s *Service) accountOf(ctx context.Context, user int64) string {
	u, err := store.AuthUserByID(ctx, s.opts.Pool, user)
	if err != nil {
		s.log.WarnContext(ctx, "notify: the account of a notice's user", slog.Int64("user_id", user), slog.String("error", err.Error()))
		return ""
	}
	return u.AccountID.String
}

// clickURL is the link of a notice's mail: it leads through the portal,
// which counts the click (reports' notification engagement) and sends the
// reader on to the notice's page. It is signed, so nobody counts clicks
// on another's notice, and leads only to the notice's own link.
func (s *Service) clickURL(notice int64) string {
	id := strconv.FormatInt(notice, 10)
	return s.opts.PublicURL + "/notify/click/" + id + "?t=" + s.clickToken(id)
}

func (s *Service) clickToken(id string) string {
	m := hmac.New(sha256.New, s.opts.SigningKey)
	fmt.Fprintf(m, "click\x00%s", id)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Click records a click on a notice's mail link, marks the notice read,
// and answers the page to go on to (a path in the portal). A link this
// portal did not sign is ErrBadLink; a notice gone (erased, purged) leads
// home.
func (s *Service) Click(ctx context.Context, idParam, token string) (string, error) {
	id, err := strconv.ParseInt(idParam, 10, 64)
	if err != nil || !hmac.Equal([]byte(token), []byte(s.clickToken(idParam))) {
		return "", ErrBadLink
	}
	n, err := store.NoticeClickTarget(ctx, s.opts.Pool, id)
	if errors.Is(err, store.ErrNotFound) {
		return "/", nil
	}
	if err != nil {
		return "", err
	}
	if s.opts.Events != nil {
		s.record(reports.NotificationClicked, n.UserID, s.accountOf(ctx, n.UserID), n.ID)
	}
	marked, err := s.MarkRead(ctx, n.TenantID, n.UserID, n.ID)
	if err != nil {
		return "", err
	}
	if marked == 0 && s.opts.Events != nil {
		// A mail-only notice (or one read already) is opened by the
		// click too; the reports count a notice opened once a day.
		s.record(reports.NotificationOpened, n.UserID, s.accountOf(ctx, n.UserID), n.ID)
	}
	if !strings.HasPrefix(n.Link, "/") || strings.HasPrefix(n.Link, "//") {
		return "/", nil
	}
	return n.Link, nil
}
