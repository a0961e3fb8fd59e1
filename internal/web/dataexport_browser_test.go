package web_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
)

// TestBrowserDownloadMyData asks for the data export from the profile,
// with htmx and as a plain form: the one-time link shows, the list says
// it is being prepared, and the page passes axe and the console check.
func TestBrowserDownloadMyData(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			p := e.signedInPage(t, fmt.Sprintf("dana%d@alpha.test", i), auth.RoleMember, mode.opts...)
			follow(t, p, `header nav a[href="/profile"]`, "Your profile")
			check(t, p, "profile-data", 0)
			send(t, p, `form[action="/profile/data-export"]`, "#main .notice", "Your data is being prepared.")
			require.Regexp(t, `^/profile/data-export/[A-Za-z0-9_-]{40,}$`, evalJS[string](t, p, `document.querySelector("#export-link").getAttribute("href")`))
			require.Contains(t, p.Text("#data"), "Being prepared")
			check(t, p, "profile-data-requested", 0)
		})
	}
}
