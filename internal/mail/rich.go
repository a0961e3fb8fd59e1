package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"sort"
	"strings"
	"time"
)

// Rich is a message with a plain-text and an HTML part and headers of
// its own (List-Unsubscribe, ...): the notifications' mail.
type Rich struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// Headers are added as given; their values must not hold line breaks.
	Headers map[string]string
	// MessageID, when set, is the Message-ID's left part: a notice sent
	// again carries the same one, so a receiver can tell a repeat.
	MessageID string
}

// DeliverRich sends m now, in one SMTP conversation; errors as Deliver.
func (s *SMTP) DeliverRich(ctx context.Context, m Rich) error {
	if strings.ContainsAny(m.To, "\r\n") || strings.ContainsAny(m.Subject, "\r\n") || strings.ContainsAny(m.MessageID, "\r\n<>@") {
		return fmt.Errorf("%w: line breaks in a recipient, subject or message id", ErrUnsendable)
	}
	for k, v := range m.Headers {
		if strings.ContainsAny(k+v, "\r\n") {
			return fmt.Errorf("%w: line breaks in header %s", ErrUnsendable, k)
		}
	}
	msg, err := s.composeRich(m)
	if err != nil {
		return err
	}
	return s.send(ctx, m.To, msg)
}

// composeRich renders m as multipart/alternative, text first (RFC 2046:
// the preferred part last).
func (s *SMTP) composeRich(m Rich) ([]byte, error) {
	var b bytes.Buffer
	domain := s.from.Address[strings.LastIndexByte(s.from.Address, '@')+1:]
	id := m.MessageID
	if id == "" {
		raw := make([]byte, 12)
		_, _ = rand.Read(raw)
		id = hex.EncodeToString(raw)
	}
	fmt.Fprintf(&b, "From: %s\r\n", s.from.String())
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", id, domain)
	keys := make([]string, 0, len(m.Headers))
	for k := range m.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\r\n", textproto.CanonicalMIMEHeaderKey(k), m.Headers[k])
	}
	mw := multipart.NewWriter(&b)
	fmt.Fprintf(&b, "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=%q\r\n\r\n", mw.Boundary())
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", part.typ+"; charset=utf-8")
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		w, err := mw.CreatePart(h)
		if err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
		qp := quotedprintable.NewWriter(w)
		_, _ = qp.Write([]byte(strings.ReplaceAll(part.body, "\n", "\r\n")))
		if err := qp.Close(); err != nil {
			return nil, fmt.Errorf("mail: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail: %w", err)
	}
	return b.Bytes(), nil
}
