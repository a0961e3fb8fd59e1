// Package mail sends the portal's email (invitations, password resets)
// over SMTP. The auth service queues each mail as a River job in the
// transaction that asks for it (so a restart loses none); the workers here
// deliver them from worker processes, and River retries a delivery that
// failed for a reason that may pass.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
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

	// TLS is the client TLS configuration (tests trust their own server).
	TLS *tls.Config
	// Timeout bounds one delivery attempt.
	Timeout time.Duration
}

// New parses smtp://user:password@host:port (STARTTLS, required unless
// the host is loopback) or smtps://... (TLS from the start).
func New(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" || u.Port() == "" {
		return nil, errors.New("mail: the SMTP URL must be smtp://user:password@host:port or smtps://user:password@host:port")
	}
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: sender %q: %w", from, err)
	}
	s := &SMTP{addr: u.Host, host: u.Hostname(), implicitTLS: u.Scheme == "smtps", from: addr, Timeout: 30 * time.Second}
	if u.User != nil {
		password, _ := u.User.Password()
		// PlainAuth refuses to send the password unencrypted, except to
		// a loopback server.
		s.auth = smtp.PlainAuth("", u.User.Username(), password, s.host)
	}
	return s, nil
}

// Deliver sends m now, in one SMTP conversation. A 5xx reply, or a
// message that cannot be sent as written, is Permanent.
func (s *SMTP) Deliver(ctx context.Context, m auth.Message) error {
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") {
		return fmt.Errorf("%w: line breaks in a recipient or subject", ErrUnsendable)
	}
	return s.send(ctx, m.To, s.compose(m))
}

// send delivers one composed message to one recipient.
func (s *SMTP) send(ctx context.Context, to string, msg []byte) error {
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
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	// The 250 after DATA is the server's acceptance: the caller records it
	// at once, without waiting for QUIT's reply (a process that dies in
	// that wait would send the message again).
	_, _ = c.Text.Cmd("QUIT")
	return nil
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
