// Package mailtest is an SMTP server for tests: enough of RFC 5321 over
// real TCP for a client to authenticate and deliver, with injectable
// failures.
package mailtest

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server records what it receives.
type Server struct {
	ln net.Listener

	mu        sync.Mutex
	messages  []string
	auths     []string
	mailFroms int
	rcpts     int
	failMail  int  // answer MAIL FROM with 451 this many times
	rejectTo  bool // answer RCPT TO with 550
	// onData, if set, hears each message as it is accepted.
	onData func(msg string, at time.Time)
}

// Start listens on a loopback port until the test ends.
func Start(t testing.TB) *Server {
	f, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// Listen listens on a loopback port until Close, for benchmarks outside
// tests.
func Listen() (*Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Server{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(conn)
		}
	}()
	return f, nil
}

// Close stops listening.
func (f *Server) Close() error { return f.ln.Close() }

// OnData calls fn with each message as it is accepted (fn must be quick).
func (f *Server) OnData(fn func(msg string, at time.Time)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.onData = fn
}

// Addr is host:port.
func (f *Server) Addr() string { return f.ln.Addr().String() }

// FailMail answers the next n MAIL FROM commands with 451.
func (f *Server) FailMail(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failMail = n
}

// RejectRecipients answers RCPT TO with 550 while on.
func (f *Server) RejectRecipients(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejectTo = on
}

// Recipients counts the RCPT TO commands answered.
func (f *Server) Recipients() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rcpts
}

// Snapshot returns the messages received (headers and body, as sent),
// the MAIL FROM commands seen and the decoded AUTH PLAIN credentials.
func (f *Server) Snapshot() (messages []string, mailFroms int, auths []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.messages...), f.mailFroms, append([]string(nil), f.auths...)
}

var messageIDHeader = regexp.MustCompile(`(?im)^Message-ID:\s*(<[^>\r\n]+>)`)

// Mailbox is what a mailbox that drops repeats holds: the messages
// received, a message whose Message-ID it already holds left out, as
// mailbox stores that suppress duplicates by Message-ID do (RFC 5322
// 3.6.4: the id names one message). repeats counts what it left out:
// sends of one message again, which SMTP itself cannot tell apart.
// Messages without a Message-ID are all kept.
func (f *Server) Mailbox() (messages []string, repeats int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, m := range f.messages {
		id := ""
		if h := messageIDHeader.FindStringSubmatch(headerOf(m)); h != nil {
			id = h[1]
		}
		if id != "" && seen[id] {
			repeats++
			continue
		}
		seen[id] = id != ""
		messages = append(messages, m)
	}
	return messages, repeats
}

// headerOf is a message's header block.
func headerOf(m string) string {
	if i := strings.Index(m, "\r\n\r\n"); i >= 0 {
		return m[:i]
	}
	if i := strings.Index(m, "\n\n"); i >= 0 {
		return m[:i]
	}
	return m
}

func (f *Server) serve(conn net.Conn) {
	defer conn.Close()
	r := textproto.NewReader(bufio.NewReader(conn))
	reply := func(s string) { fmt.Fprintf(conn, "%s\r\n", s) }
	reply("220 mailtest ESMTP")
	for {
		line, err := r.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		if verb == "DATA" {
			reply("354 go ahead")
			body, err := r.ReadDotBytes()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.messages = append(f.messages, string(body))
			if f.onData != nil {
				f.onData(string(body), time.Now())
			}
			f.mu.Unlock()
			reply("250 queued")
			continue
		}
		f.mu.Lock()
		switch verb {
		case "EHLO", "HELO":
			reply("250-mailtest\r\n250 AUTH PLAIN")
		case "AUTH":
			raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "AUTH PLAIN "))
			f.auths = append(f.auths, string(raw))
			reply("235 2.7.0 authenticated")
		case "MAIL":
			f.mailFroms++
			if f.failMail > 0 {
				f.failMail--
				reply("451 4.3.0 try again later")
			} else {
				reply("250 ok")
			}
		case "RCPT":
			f.rcpts++
			if f.rejectTo {
				reply("550 5.1.1 no such user")
			} else {
				reply("250 ok")
			}
		case "QUIT":
			reply("221 bye")
			f.mu.Unlock()
			return
		default:
			reply("250 ok")
		}
		f.mu.Unlock()
	}
}
