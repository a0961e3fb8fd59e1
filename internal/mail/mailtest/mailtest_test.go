package mailtest_test

import (
	"net/smtp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/mail/mailtest"
)

// A mailbox keeps one copy of a message sent twice under one Message-ID
// and counts the repeat; other messages (with another id, or none) stay.
func TestMailboxDropsRepeatsByMessageID(t *testing.T) {
	t.Parallel()
	srv := mailtest.Start(t)
	send := func(msg string) {
		require.NoError(t, smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte(msg)))
	}
	send("Message-ID: <n1@example.com>\r\nSubject: one\r\n\r\nfirst\r\n")
	send("Message-Id: <n1@example.com>\r\nSubject: one\r\n\r\nfirst\r\n")
	send("Message-ID: <n2@example.com>\r\nSubject: two\r\n\r\nsecond\r\n")
	send("Subject: none\r\n\r\nMessage-ID: <n2@example.com>\r\n")
	send("Subject: none\r\n\r\nno id\r\n")
	raw, _, _ := srv.Snapshot()
	require.Len(t, raw, 5)
	box, repeats := srv.Mailbox()
	require.Equal(t, 1, repeats)
	require.Len(t, box, 4, "a Message-ID in the body is no header")
}
