package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/documents/documentstest"
	"github.com/porticohq/portico/internal/web/webtest"
)

// TestBrowserInvoicePDF downloads an invoice's PDF from the invoice page,
// with JavaScript and without: the link's response is a PDF attachment
// with a safe name, nosniff and a sandboxing CSP; clicking it saves the
// file the browser names, which is the invoice in the page's language
// (its amount due), and the page stays accessible.
func TestBrowserInvoicePDF(t *testing.T) {
	t.Parallel()
	e := setup(t)
	base := e.srv.URL
	id := e.fx.IDs[apitest.Alpha]["invoice"][0]
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			email := fmt.Sprintf("bill%d@alpha.test", i)
			e.user(email, apitest.Alpha, auth.RoleBilling)
			p := webtest.New(t, mode.opts...)
			signInForm(t, p, base, email)
			require.Equal(t, http.StatusOK, p.Navigate(base+"/invoices/"+id))
			link := `a[href$="/document.pdf"]`
			require.Equal(t, "Download PDF", p.Text(link))
			href := evalJS[string](t, p, `document.querySelector(`+quote(link)+`).getAttribute("href")`)
			require.Equal(t, "/invoices/"+id+"/document.pdf", href)
			check(t, p, "invoice-pdf", 0)

			// The headers, as the browser receives them (fetch needs
			// JavaScript: without it the download below says the rest).
			if p.JavaScript() {
				got := fetchJS(t, p, `fetch(`+quote(href)+`).then(async r => [r.status, r.headers.get("content-type"),
					r.headers.get("content-disposition"), r.headers.get("x-content-type-options"),
					r.headers.get("content-security-policy"), new TextDecoder().decode((await r.arrayBuffer()).slice(0, 5))].join(" | "))`)
				require.Equal(t, "200 | application/pdf | attachment; filename=invoice-INV-9A1.pdf | nosniff | "+
					"sandbox; default-src 'none'; frame-ancestors 'none' | %PDF-", got)
			}

			// Click the link: the browser saves the file.
			dir := t.TempDir()
			saved := downloadByClick(t, p, link, dir)
			require.Equal(t, "invoice-INV-9A1.pdf", saved)
			body, err := os.ReadFile(filepath.Join(dir, saved))
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(body, []byte("%PDF-")), "a PDF")
			text := documentstest.Text(t, body)
			require.Contains(t, text, "Invoice INV-9A1")
			require.Contains(t, text, "Amount due 40.00 USD")
			require.Equal(t, base+"/invoices/"+id, p.URL(), "the page stays")
			check(t, p, "invoice-pdf-downloaded", 0)
		})
	}
}

// downloadByClick clicks sel, which must start a download, and waits for
// the browser to have saved it into dir; it returns the file's name as
// the browser chose it (from Content-Disposition).
func downloadByClick(t *testing.T, p *webtest.Page, sel, dir string) string {
	t.Helper()
	ctx := p.Context()
	names := make(chan string, 1)
	done := make(chan string, 1)
	// The browser is shared by the binary's tests: only this page's
	// download counts (its URL, then its guid). The listener's calls come
	// one after another, so guid needs no lock.
	href := evalJS[string](t, p, `document.querySelector(`+quote(sel)+`).href`)
	var guid string
	listen := func(ev any) {
		switch ev := ev.(type) {
		case *cdpbrowser.EventDownloadWillBegin:
			if ev.URL == href && guid == "" {
				guid = ev.GUID
				names <- ev.SuggestedFilename
			}
		case *cdpbrowser.EventDownloadProgress:
			if ev.GUID == guid && (ev.State == cdpbrowser.DownloadProgressStateCompleted || ev.State == cdpbrowser.DownloadProgressStateCanceled) {
				select {
				case done <- string(ev.State):
				default:
				}
			}
		}
	}
	// The browser's download events come on the browser's session.
	require.NoError(t, chromedp.ListenBrowser(ctx, listen))
	events := true
	_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: p.BrowserContextID(), DownloadPath: dir,
		EventsEnabled: &events})
	require.NoError(t, err)
	p.Click(sel)
	deadline := time.After(15 * time.Second)
	var name string
	select {
	case name = <-names:
	case <-deadline:
		t.Fatal("the click started no download")
	}
	select {
	case state := <-done:
		require.Equal(t, string(cdpbrowser.DownloadProgressStateCompleted), state)
	case <-deadline:
		t.Fatal("the download did not complete")
	}
	return name
}
