package web_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/files/clamdtest"
	"github.com/porticohq/portico/internal/web/webtest"
)

// TestBrowserCaseFiles uploads a file to a case from its page, with
// JavaScript and without: it appears in the case's files with a download
// link that serves it as an attachment; EICAR, scanned by the real clamd,
// is refused with the reason beside the field and sends nothing; a form
// whose first part is not the CSRF token is refused.
func TestBrowserCaseFiles(t *testing.T) {
	t.Parallel()
	scanner := clamdtest.Start(t)
	e := setup(t, func(o *options) { o.scanner = scanner })
	base := e.srv.URL
	dir := t.TempDir()
	report := filepath.Join(dir, "router report.pdf")
	require.NoError(t, os.WriteFile(report, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"), 0o600))
	eicar := filepath.Join(dir, "eicar.txt")
	require.NoError(t, os.WriteFile(eicar, []byte(clamdtest.EICAR), 0o600))
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			email := fmt.Sprintf("fiona%d@alpha.test", i)
			e.user(email, apitest.Alpha, auth.RoleMember)
			p := webtest.New(t, mode.opts...)
			signInForm(t, p, base, email)
			id := e.fx.IDs[apitest.Alpha]["case"][i]
			require.Equal(t, http.StatusOK, p.Navigate(base+"/cases/"+id))
			require.Contains(t, p.Text("#files"), "No files yet.")

			before := e.actions(t, "attach_file")
			setFile(t, p, "#f-file", report)
			send(t, p, `form[action$="/files"]`, "#main .notice", "Your file was received and is being sent.")
			require.Equal(t, base+"/cases/"+id+"?sent=file", p.URL())
			require.Equal(t, before+1, e.actions(t, "attach_file"))
			require.Contains(t, p.Text("#files"), "router report.pdf")
			require.Contains(t, p.Text("#files"), "Being sent to Salesforce.")
			check(t, p, "file-sent", 0)
			href := evalJS[string](t, p, `document.querySelector("#files a[download]").getAttribute("href")`)
			require.True(t, strings.HasPrefix(href, "/api/v1/files/"), href)
			got := fetchJS(t, p, `fetch(`+quote(href)+`).then(async r => r.status + " " + r.headers.get("content-disposition") + " " + (await r.text()).slice(0, 8))`)
			require.Equal(t, `200 attachment; filename="router report.pdf" %PDF-1.4`, got)

			setFile(t, p, "#f-file", eicar)
			send(t, p, `form[action$="/files"]`, "#f-file-error", "malware")
			require.Contains(t, p.Text("#f-file-error"), clamdtest.Signature)
			require.Contains(t, p.Text("[role=alert]"), "The file was not attached")
			require.Equal(t, "true", evalJS[string](t, p, `document.querySelector("#f-file").getAttribute("aria-invalid")`))
			require.Equal(t, before+1, e.actions(t, "attach_file"), "the infected file is not sent")
			check(t, p, "file-infected", http.StatusUnprocessableEntity)
		})
	}

	// The CSRF token must come first: a form without it is refused.
	e.user("mallory@alpha.test", apitest.Alpha, auth.RoleMember)
	p := webtest.New(t)
	signInForm(t, p, base, "mallory@alpha.test")
	id := e.fx.IDs[apitest.Alpha]["case"][0]
	require.Equal(t, http.StatusOK, p.Navigate(base+"/cases/"+id))
	status := fetchJS(t, p, `(() => { const f = new FormData(); f.append("file", new Blob(["hello"], {type: "text/plain"}), "a.txt");
		f.append("csrf_token", document.querySelector("[name=csrf_token]").value);
		return fetch("/cases/`+id+`/files", {method: "POST", body: f}).then(r => String(r.status)); })()`)
	require.Equal(t, "403", status)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// setFile chooses a file in the file input sel.
func setFile(t *testing.T, p *webtest.Page, sel, path string) {
	t.Helper()
	_, err := chromedp.Run(p.Context(), chromedp.SetUploadFiles(sel, []string{path}))
	require.NoError(t, err)
}

// fetchJS evaluates a promise in the page and returns its string value.
func fetchJS(t *testing.T, p *webtest.Page, expr string) string {
	t.Helper()
	out, err := chromedp.Run(p.Context(), chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
	require.NoError(t, err, expr)
	return out
}
