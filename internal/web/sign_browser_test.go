package web_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/seal"
	"github.com/porticohq/portico/internal/web/webtest"
)

// TestBrowserSignQuote signs a quote from its page, with JavaScript and
// without: the page offers the quote's PDF and no plain approval; a sign
// form sent without a name or the consent comes back with both errors
// beside their fields; signed, the sealed PDF is listed on the quote, and
// the file downloaded through its link verifies, naming the signer and
// the PDF they were shown.
func TestBrowserSignQuote(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.signing = true })
	base := e.srv.URL
	var quotes []string
	for i := range jsModes {
		quotes = append(quotes, fmt.Sprintf("0Q0A000000002%02d", i))
		e.fx.Put("salesforce", "Quote", apitest.Alpha, apitest.SFQuote(quotes[i], apitest.Alpha, "Presented"))
	}
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			email := fmt.Sprintf("sam%d@alpha.test", i)
			p := e.signedInPage(t, email, auth.RolePurchasing, mode.opts...)
			q := quotes[i]
			require.Equal(t, http.StatusOK, p.Navigate(base+"/approvals/"+q))
			require.False(t, p.Exists(`form[action$="/approve"]`), "approving this quote is signing it")
			require.True(t, p.Exists(`form[action$="/reject"]`))
			check(t, p, "sign-form", 0)

			// The form sends the hash of the PDF its link serves.
			hash := evalJS[string](t, p, `document.querySelector("[name=document_sha256]").value`)
			require.Len(t, hash, 64)
			require.Contains(t, p.Text("#main .fingerprint"), hash)
			href := evalJS[string](t, p, `document.querySelector("a[href$='/document.pdf']").getAttribute("href")`)
			require.Equal(t, hash, fetchJS(t, p, `fetch(`+quote(href)+`).then(r => r.headers.get("x-document-sha256"))`))

			before, _ := e.decisions(t, "")
			send(t, p, `form[action$="/sign"]`, "#f-signer_name-error", "Type your full name.")
			require.Contains(t, p.Text("#f-consent-error"), "Tick the statement to sign.")
			after, _ := e.decisions(t, "")
			require.Equal(t, before, after, "nothing is decided")
			check(t, p, "sign-invalid", http.StatusUnprocessableEntity)

			// A poll reads the quote again and finds nothing new while Sam
			// reads it: the PDF would now print the later read, but what
			// the page showed is still what Sam signs.
			_, err := e.pool.Exec(context.Background(), `UPDATE record SET synced_at = synced_at + interval '1 minute' WHERE source_id = $1`, q)
			require.NoError(t, err)
			require.NotEqual(t, hash, fetchJS(t, p, `fetch(`+quote(href)+`).then(r => r.headers.get("x-document-sha256"))`))
			p.Fill("#f-signer_name", "Sam Signer")
			p.Click("#f-consent")
			send(t, p, `form[action$="/sign"]`, "#main .notice", "Your signature was recorded.")
			require.Equal(t, base+"/approvals/"+q+"?sent=sign", p.URL())
			require.False(t, p.Exists(`form[action$="/sign"]`), "no second signature from the page")
			require.Contains(t, p.Text("#files"), "(signed).pdf")
			after, _ = e.decisions(t, "")
			require.Equal(t, before+1, after)
			check(t, p, "signed", 0)

			// Download the sealed PDF through the page's link and verify it.
			link := evalJS[string](t, p, `document.querySelector("#files a[download]").getAttribute("href")`)
			require.True(t, strings.HasPrefix(link, "/api/v1/files/"), link)
			b64 := fetchJS(t, p, `fetch(`+quote(link)+`).then(r => r.arrayBuffer()).then(b => {
				let s = ""; new Uint8Array(b).forEach(c => s += String.fromCharCode(c)); return btoa(s); })`)
			pdf, err := base64.StdEncoding.DecodeString(b64)
			require.NoError(t, err)
			res, err := seal.Verify(pdf)
			require.NoError(t, err)
			require.Equal(t, "Sam Signer", res.Evidence.SignerName)
			require.Equal(t, email, res.Evidence.SignerEmail)
			require.Equal(t, hash, res.Evidence.DocumentSHA256)
			require.Equal(t, "password", res.Evidence.AuthMethod)
			require.Contains(t, res.Evidence.UserAgent, "Chrome")
			pdf[len(pdf)/2] ^= 1
			_, err = seal.Verify(pdf)
			require.ErrorIs(t, err, seal.ErrChanged)
		})
	}
}

// TestBrowserSignByKeyboard signs a quote without a pointer: Tab to the
// name and type it, Enter sends the form without the consent, and the
// error is announced (the alert takes the focus, the checkbox is marked
// invalid and described by its error) with nothing decided; then Tab to
// the consent, Space ticks it, Enter on the button signs, and the focus
// and the live region carry the outcome.
func TestBrowserSignByKeyboard(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.signing = true })
	const q = "0Q0A00000000299"
	e.fx.Put("salesforce", "Quote", apitest.Alpha, apitest.SFQuote(q, apitest.Alpha, "Presented"))
	p := e.signedInPage(t, "kai@alpha.test", auth.RolePurchasing)
	require.Equal(t, http.StatusOK, p.Navigate(e.srv.URL+"/approvals/"+q))
	skipToMain(t, p)

	p.TabTo("#f-signer_name")
	p.Type("Kai Keys")
	p.Press(webtest.Enter)
	p.WaitText("#f-consent-error", "Tick the statement to sign.")
	p.WaitTrue(`document.activeElement.matches("#main [role=alert]")`)
	require.Equal(t, "true", evalJS[string](t, p, `document.querySelector("#f-consent").getAttribute("aria-invalid")`))
	require.Equal(t, "f-consent-error", evalJS[string](t, p, `document.querySelector("#f-consent").getAttribute("aria-describedby")`))
	require.Equal(t, "Kai Keys", evalJS[string](t, p, `document.querySelector("#f-signer_name").value`), "the typed name is kept")
	all, _ := e.decisions(t, "")
	require.Zero(t, all, "nothing is decided")

	p.TabTo("#f-consent")
	p.Press(webtest.Space)
	require.True(t, evalJS[bool](t, p, `document.querySelector("#f-consent").checked`), "Space ticks the consent")
	p.TabTo(`form[action$="/sign"] button[type=submit]`)
	p.Press(webtest.Enter)
	p.WaitText("#main .notice", "Your signature was recorded.")
	p.WaitTrue(`document.activeElement === document.querySelector("#main h1")`)
	p.WaitText("#live", "Your signature was recorded.")
	require.Equal(t, e.srv.URL+"/approvals/"+q+"?sent=sign", p.URL())
	all, _ = e.decisions(t, "")
	require.Equal(t, 1, all)
	require.Contains(t, p.Text("#files"), "(signed).pdf")
	check(t, p, "", http.StatusUnprocessableEntity) // the refused form is the one error logged
}
