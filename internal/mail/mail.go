// Package mail sends the portal's email (invitations, password resets)
// over SMTP. Send only queues a message: delivery happens in the
// background with retries, so that a request that mails someone costs the
// same time as one that does not (a password reset must not reveal
// whether an email has an account by how long it takes).
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/porticohq/portico/internal/auth"
)

// SMTP is an auth.Mailer that delivers through an SMTP server.
type SMTP struct {
	addr        string // host:port
	host        string
	implicitTLS bool
	auth        smtp.Auth
	from        *mail.Address
	log         *slog.Logger
	queue       chan auth.Message

	// TLS is the client TLS configuration (tests trust their own server).
	TLS *tls.Config
	// Attempts and Backoff bound the retries of a message that fails
	// for a reason that may pass (a network error, a 4xx reply).
	Attempts int
	Backoff  time.Duration
	// Timeout bounds one delivery attempt.
	Timeout time.Duration
}

// QueueSize is how many messages may wait for delivery; Send refuses more.
const QueueSize = 1000

// New parses smtp://user:password@host:port (STARTTLS, required unless
// the host is loopback) or smtps://... (TLS from the start).
func New(rawURL, from string, log *slog.Logger) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Port() == "" {
		return nil, errors.New("mail: the SMTP URL must be smtp://user:password@host:port or smtps://...")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", from, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &SMTP{
		addr: u.Host, host: u.Hostname(), implicitTLS: u.Scheme == "smtps", from: addr, log: log,
		queue: make(chan auth.Message, QueueSize), Attempts: 4, Backoff: 2 * time.Second, Timeout: 30 * time.Second,
	}
	if u.User != nil {
		password, _ := u.User.Password()
		// PlainAuth refuses to send the password unencrypted, except to
		// a loopback server.
		s.auth = smtp.PlainAuth("", u.User.Username(), password, s.host)
	}
	return s, nil
}

// Send queues m for delivery. It fails only when the queue is full.
func (s *SMTP) Send(_ context.Context, m auth.Message) error {
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") {
		return errors.New("mail: line breaks in a recipient or subject")
	}
	select {
	case s.queue <- m:
		return nil
	default:
		return fmt.Errorf("mail: %d messages are already waiting; not queued", QueueSize)
	}
}

// Run delivers queued messages until ctx ends. Messages still queued then
// are dropped (and logged): the user asks again.
func (s *SMTP) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			for n := len(s.queue); n > 0; n-- {
				m := <-s.queue
				s.log.Warn("mail: not sent, shutting down", slog.String("to", m.To), slog.String("kind", m.Kind))
			}
			return
		case m := <-s.queue:
			s.deliverWithRetries(ctx, m)
		}
	}
}

func (s *SMTP) deliverWithRetries(ctx context.Context, m auth.Message) {
	wait := s.Backoff
	for attempt := 1; ; attempt++ {
		err := s.Deliver(ctx, m)
		if err == nil {
			s.log.InfoContext(ctx, "mail: sent", slog.String("to", m.To), slog.String("kind", m.Kind))
			return
		}
		var tpe *textproto.Error
		permanent := errors.As(err, &tpe) && tpe.Code >= 500
		if permanent || attempt >= s.Attempts || ctx.Err() != nil {
			s.log.ErrorContext(ctx, "mail: not sent", slog.String("to", m.To), slog.String("kind", m.Kind),
				slog.Int("attempts", attempt), slog.String("error", err.Error()))
			return
		}
		s.log.WarnContext(ctx, "mail: retrying", slog.String("to", m.To), slog.Int("attempt", attempt), slog.String("error", err.Error()))
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// Deliver sends m now, in one SMTP conversation.
func (s *SMTP) Deliver(ctx context.Context, m auth.Message) error {
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	tlsConfig := s.tlsConfig()
	if s.implicitTLS {
		conn = tls.Client(conn, tlsConfig)
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: %w", err)
	}
	defer c.Close()
	if !s.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return fmt.Errorf("mail: STARTTLS: %w", err)
			}
		} else if !isLoopback(s.host) {
			return fmt.Errorf("mail: %s does not offer STARTTLS; refusing to send in the clear", s.host)
		}
	}
	if s.auth != nil {
		if err := c.Auth(s.auth); err != nil {
			return fmt.Errorf("mail: AUTH: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(s.compose(m)); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	return c.Quit()
}

func (s *SMTP) tlsConfig() *tls.Config {
	if s.TLS != nil {
		return s.TLS
	}
	return &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
}

// compose renders m as a plain-text UTF-8 message.
func (s *SMTP) compose(m auth.Message) []byte {
	var b bytes.Buffer
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	fmt.Fprintf(&b, "From: %s\r\n", s.from.String())
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id), domain)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n")
	if m.Kind != "" {
		fmt.Fprintf(&b, "X-Portico-Kind: %s\r\n", m.Kind)
	}
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(m.Body, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
