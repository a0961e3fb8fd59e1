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
	"strings"
	"sync"
	"testing"
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
}

// Start listens on a loopback port until the test ends.
func Start(t testing.TB) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &Server{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(conn)
		}
	}()
	return f
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
