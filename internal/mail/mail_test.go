package mail_test

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/mail"
	"github.com/porticohq/portico/internal/mail/mailtest"
)

func start(t *testing.T, f *mailtest.Server) *mail.SMTP {
	m, err := mail.New("smtp://portal:s3cret@"+f.Addr(), "Portal <portal@example.com>", nil)
	require.NoError(t, err)
	m.Backoff = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return m
}

func TestSendDeliversInTheBackground(t *testing.T) {
	t.Parallel()
	f := mailtest.Start(t)
	m := start(t, f)
	link := "https://portal.example.com/reset?token=" + strings.Repeat("x", 90)
	require.NoError(t, m.Send(context.Background(), auth.Message{
		To: "ana@acme.test", Subject: "Réinitialiser votre mot de passe", Body: "Open this link:\n\n" + link + "\n", Link: link, Kind: "password_reset",
	}))
	require.Eventually(t, func() bool { msgs, _, _ := f.Snapshot(); return len(msgs) == 1 }, 5*time.Second, time.Millisecond)
	msgs, _, auths := f.Snapshot()
	require.Equal(t, []string{"\x00portal\x00s3cret"}, auths, "AUTH PLAIN with the URL's credentials")

	head, body, ok := strings.Cut(msgs[0], "\n\n")
	require.True(t, ok, msgs[0])
	h := textproto.MIMEHeader{}
	for _, line := range strings.Split(head, "\n") {
		k, v, _ := strings.Cut(line, ": ")
		h.Add(k, v)
	}
	require.Equal(t, `"Portal" <portal@example.com>`, h.Get("From"))
	require.Equal(t, "ana@acme.test", h.Get("To"))
	subject, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "Réinitialiser votre mot de passe", subject)
	require.Equal(t, "password_reset", h.Get("X-Portico-Kind"))
	require.Contains(t, h.Get("Message-ID"), "@example.com>")
	decoded, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	require.NoError(t, err)
	require.Contains(t, string(decoded), link, "the link survives quoted-printable line wrapping")
}

func TestTransientFailuresAreRetriedPermanentOnesAreNot(t *testing.T) {
	t.Parallel()
	f := mailtest.Start(t)
	f.FailMail(2)
	m := start(t, f)
	require.NoError(t, m.Send(context.Background(), auth.Message{To: "ana@acme.test", Subject: "s", Body: "b"}))
	require.Eventually(t, func() bool { msgs, _, _ := f.Snapshot(); return len(msgs) == 1 }, 5*time.Second, time.Millisecond)
	_, attempts, _ := f.Snapshot()
	require.Equal(t, 3, attempts, "two 451s, then delivered")

	g := mailtest.Start(t)
	g.RejectRecipients(true)
	err := start(t, g).Deliver(context.Background(), auth.Message{To: "nobody@acme.test", Subject: "s", Body: "b"})
	require.ErrorContains(t, err, "550")

	// Queued, a 550 is given up at once: the next message (accepted) is
	// delivered after exactly one attempt at the first, since one worker
	// delivers in order.
	h := mailtest.Start(t)
	h.RejectRecipients(true)
	n := start(t, h)
	require.NoError(t, n.Send(context.Background(), auth.Message{To: "nobody@acme.test", Subject: "s", Body: "b"}))
	require.Eventually(t, func() bool { return h.Recipients() == 1 }, 5*time.Second, time.Millisecond)
	h.RejectRecipients(false)
	require.NoError(t, n.Send(context.Background(), auth.Message{To: "ana@acme.test", Subject: "s", Body: "b"}))
	require.Eventually(t, func() bool { msgs, _, _ := h.Snapshot(); return len(msgs) == 1 }, 5*time.Second, time.Millisecond)
	_, froms, _ := h.Snapshot()
	require.Equal(t, 2, froms, "the rejected message was not retried")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "http://host:25", "smtp://host", "smtp://:25"} {
		_, err := mail.New(bad, "portal@example.com", nil)
		require.Error(t, err, bad)
	}
	_, err := mail.New("smtp://host:587", "not an address", nil)
	require.ErrorContains(t, err, "sender")
	m, err := mail.New("smtp://host:587", "portal@example.com", nil)
	require.NoError(t, err)
	require.Error(t, m.Send(context.Background(), auth.Message{To: "a@b.test\r\nBcc: evil@x.test", Subject: "s"}), "header injection")
}
