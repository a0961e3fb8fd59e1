package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
)

const testSVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>`

func TestBrandCommands(t *testing.T) {
	t.Parallel()
	db := dbtest.URL(t)
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.svg")
	require.NoError(t, os.WriteFile(logo, []byte(testSVG), 0o600))
	notLogo := filepath.Join(dir, "logo.png")
	require.NoError(t, os.WriteFile(notLogo, []byte("<html><body>not a picture</body></html>"), 0o600))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/logo.svg":
			_, _ = w.Write([]byte(testSVG))
		case "/page":
			_, _ = w.Write([]byte("<!doctype html><html><body>hello</body></html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	brandCLI := func(args ...string) (int, string, string) {
		return porticoStdin(t, "", append([]string{"--database-url", db, "brand"}, args...)...)
	}
	nothingStored := func() {
		t.Helper()
		code, out, errOut := brandCLI("show")
		require.Equal(t, exitOK, code, errOut)
		require.NotContains(t, out, "stored")
		require.Regexp(t, `primary_color\s+#1d4ed8\s+default`, out)
	}
	nothingStored()

	for _, bad := range []struct {
		args []string
		code int
		want string
	}{
		{nil, exitUsage, "nothing to set"},
		{[]string{"--name", "Acme", "--primary-color", "#7fbfff"}, exitUsage,
			"--primary-color: primary #7fbfff on white: contrast 1.9:1, WCAG AA needs 4.5:1"},
		{[]string{"--accent-color", "#767676"}, exitUsage, "--accent-color: accent #767676 on the status box grey #f3f4f6: contrast 4.1:1"},
		{[]string{"--primary-color", "blue"}, exitUsage, `--primary-color: "blue" is not a colour`},
		{[]string{"--support-email", "help"}, exitUsage, "--support-email: must be an email address"},
		{[]string{"--name", ""}, exitUsage, "--name: must not be empty"},
		// A good field beside a bad logo: nothing of either is stored.
		{[]string{"--name", "Acme", "--logo", notLogo}, exitUsage, "--logo: the logo must be a PNG, SVG, WebP or JPEG image; this is text/html"},
		{[]string{"--logo", filepath.Join(dir, "missing.png")}, exitUsage, "--logo:"},
		{[]string{"--logo", logo, "--logo-url", srv.URL + "/logo.svg"}, exitUsage, "not both"},
		{[]string{"--logo-url", "ftp://example.test/logo.png"}, exitUsage, "--logo-url: must be an http(s) URL"},
		{[]string{"--name", "Acme", "--logo-url", srv.URL + "/page"}, exitUsage, "--logo-url: the logo must be a PNG, SVG, WebP or JPEG image"},
		{[]string{"--name", "Acme", "--logo-url", srv.URL + "/gone.png"}, exitFailed, "404"},
	} {
		code, _, errOut := brandCLI(append([]string{"set"}, bad.args...)...)
		require.Equal(t, bad.code, code, "%v: %s", bad.args, errOut)
		require.Contains(t, errOut, bad.want, bad.args)
		nothingStored()
	}

	code, out, errOut := brandCLI("set", "--name", "Acme Service", "--primary-color", "#0B5394", "--support-email", "help@acme.example",
		"--logo", logo)
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "brand stored")
	code, out, errOut = brandCLI("show")
	require.Equal(t, exitOK, code, errOut)
	require.Regexp(t, `name\s+Acme Service\s+stored`, out)
	require.Regexp(t, `primary_color\s+#0b5394\s+stored`, out)
	require.Regexp(t, `accent_color\s+#0f766e\s+default`, out)
	require.Regexp(t, `support_email\s+help@acme.example\s+stored`, out)
	require.Regexp(t, `support_phone\s+-\s+unset`, out)
	require.Regexp(t, `logo\s+image/svg\+xml, \d+ bytes, uploaded\s+stored`, out)

	// A later set changes what it names and keeps the rest.
	code, _, errOut = brandCLI("set", "--logo-url", srv.URL+"/logo.svg")
	require.Equal(t, exitOK, code, errOut)
	_, out, _ = brandCLI("show")
	require.Regexp(t, `name\s+Acme Service\s+stored`, out)
	require.Regexp(t, `logo\s+image/svg\+xml, \d+ bytes, fetched from `+srv.URL+`/logo.svg\s+stored`, out)

	code, out, errOut = brandCLI("reset")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "stored brand dropped")
	nothingStored()
	code, out, errOut = brandCLI("reset")
	require.Equal(t, exitOK, code, errOut)
	require.Contains(t, out, "no brand was stored")

	// Each change is in the audit log, made from the command line; the
	// refused ones, and the reset that found nothing, left nothing.
	require.Equal(t, []string{"staff:cli brand.set brand:brand", "staff:cli brand.set brand:brand", "staff:cli brand.reset brand:brand"}, auditTrail(t, db))
}
