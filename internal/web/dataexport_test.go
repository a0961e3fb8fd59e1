package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"regexp"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/privacy"
)

// workExports builds the exports requested so far, as the River worker
// does.
func (e *env) workExports() {
	e.t.Helper()
	for {
		select {
		case args := <-e.exports:
			w := &privacy.ExportWorker{Service: e.privacy}
			require.NoError(e.t, w.Work(context.Background(), &river.Job[privacy.ExportArgs]{JobRow: &rivertype.JobRow{Attempt: 1, MaxAttempts: 5}, Args: args}))
		default:
			return
		}
	}
}

var exportLink = regexp.MustCompile(`href="(/profile/data-export/[A-Za-z0-9_-]{40,})"`)

// "Download my data" on the profile (GDPR Art. 15, 20): the request shows
// a one-time link once; while the job builds the zip the link says so;
// then it downloads Mark's data once, and is the 404 page after, and for
// Bea from the start.
func TestProfileDownloadMyData(t *testing.T) {
	t.Parallel()
	e, mark, bea := setupMarkAndBea(t)
	page := mark.get("/profile")
	require.Contains(t, page.body, `action="/profile/data-export"`)
	res := mark.post("/profile/data-export", nil)
	require.Equal(t, http.StatusOK, res.code, res.body)
	require.Contains(t, res.body, "Your data is being prepared.")
	m := exportLink.FindStringSubmatch(res.body)
	require.NotNil(t, m, res.body)
	link := m[1]
	require.NotContains(t, mark.get("/profile").body, link, "the link is shown on the request's answer only")
	require.Contains(t, mark.get("/profile").body, "Being prepared")

	early := mark.get(link)
	require.Equal(t, http.StatusOK, early.code)
	require.Contains(t, early.body, "still being prepared")
	require.Equal(t, http.StatusNotFound, bea.get(link).code, "someone else's link is the 404 page")

	e.workExports()
	got := mark.get(link)
	require.Equal(t, http.StatusOK, got.code, got.body)
	require.Equal(t, "application/zip", got.header.Get("Content-Type"))
	require.Contains(t, got.header.Get("Content-Disposition"), "attachment")
	require.Equal(t, "no-store", got.header.Get("Cache-Control"))
	zr, err := zip.NewReader(bytes.NewReader([]byte(got.body)), int64(len(got.body)))
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	for _, n := range []string{"manifest.json", "user.json", "contact.json", "cases.json", "actions.json", "sessions.json", "audit_events.json"} {
		require.True(t, names[n], n)
	}
	require.Equal(t, http.StatusNotFound, mark.get(link).code, "the link works once")
	require.Contains(t, mark.get("/profile").body, "Downloaded")

	mark.lang = "de"
	require.Contains(t, mark.get("/profile").body, "Meine Daten bereitstellen")
}
