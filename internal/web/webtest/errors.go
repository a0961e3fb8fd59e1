package webtest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
)

// browserErrors keeps what the browser reports as an error on a Page's tab:
// uncaught exceptions, console.error, and its own error log (what the
// Content-Security-Policy refused, subresources that failed). Lighthouse's Best
// Practices count the same messages.
type browserErrors struct {
	mu   sync.Mutex
	list []string
}

// listen is a chromedp listener: it runs on the tab's reading goroutine, so it
// only formats and appends.
func (e *browserErrors) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = "uncaught " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg = "uncaught " + d.Exception.Description
		}
		if d.URL != "" {
			msg += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		parts := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			if a.Description != "" {
				parts = append(parts, a.Description)
			} else {
				parts = append(parts, string(a.Value))
			}
		}
		msg = "console.error: " + strings.Join(parts, " ")
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError || strings.HasSuffix(ev.Entry.URL, "/favicon.ico") {
			// The browser asks for /favicon.ico by itself, at a moment of its
			// own choosing: counting it would make a test's result depend on
			// timing. (Lighthouse may still count a missing one.)
			return
		}
		msg = fmt.Sprintf("%s: %s", ev.Entry.Source, ev.Entry.Text)
		if ev.Entry.URL != "" {
			msg += " (" + ev.Entry.URL + ")"
		}
	default:
		return
	}
	e.mu.Lock()
	e.list = append(e.list, msg)
	e.mu.Unlock()
}

// Errors returns what the browser reported as an error on the Page's tab
// since the Page opened or since the last call, and forgets it.
func (p *Page) Errors() []string {
	p.errs.mu.Lock()
	defer p.errs.mu.Unlock()
	list := p.errs.list
	p.errs.list = nil
	return list
}

// NoErrors fails t, listing them, when the browser reported an error on the
// Page's tab since it opened or since the last Errors or NoErrors.
func NoErrors(t testing.TB, p *Page) {
	t.Helper()
	if list := p.Errors(); len(list) > 0 {
		t.Fatalf("webtest: the browser reported %d error(s) on %s:\n  %s", len(list), p.URL(), strings.Join(list, "\n  "))
	}
}
