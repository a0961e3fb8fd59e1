package web_test

import (
	"context"
	"crypto/md5" //nolint:gosec // Salesforce's ContentVersion.Checksum is an MD5
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/api/apitest"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/files/clamdtest"
	"github.com/porticohq/portico/internal/syncer"
	"github.com/porticohq/portico/internal/web/webtest"
)

// recordFetches makes the page log every fetch it makes ("METHOD url"),
// and fail the PATCH number failAt (1-based; 0: none) as a dropped line
// would, without sending it.
const recordFetches = `(() => {
	window.__fetches = []; let patches = 0; const real = window.fetch;
	window.fetch = function (url, opts) {
		const method = (opts && opts.method) || "GET";
		window.__fetches.push(method + " " + url);
		if (method === "PATCH" && ++patches === window.__failAt) { return Promise.reject(new TypeError("network error")); }
		return real.apply(this, arguments);
	};
	return true;
})()`

// TestBrowserUploadConfirmedBySimulator uploads a file to a case with
// JavaScript, as a resumable upload in 64 KiB pieces whose second one is
// lost on the way (the script asks the server for its offset and goes
// on); the write-back applies it against the simulated CRM, which then
// holds a ContentVersion on the case with the file's checksum, and the
// case page shows the file as received by Salesforce; the file downloads.
// EICAR, through the real clamd, is refused beside the field in the
// page's words. Without JavaScript the plain form does the same.
func TestBrowserUploadConfirmedBySimulator(t *testing.T) {
	t.Parallel()
	scanner := clamdtest.Start(t)
	s := &simulated{}
	simOpt := withSimulator(t, s)
	e := setup(t, simOpt, func(o *options) { o.scanner = scanner })
	base := e.srv.URL
	dir := t.TempDir()
	content := []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + strings.Repeat("% padding line of the delivery note\n", 6000) + "%%EOF\n")
	note := filepath.Join(dir, "delivery note.pdf")
	require.NoError(t, os.WriteFile(note, content, 0o600))
	eicar := filepath.Join(dir, "eicar.txt")
	require.NoError(t, os.WriteFile(eicar, []byte(clamdtest.EICAR), 0o600))
	sum := md5.Sum(content) //nolint:gosec // compared with the simulator's Checksum

	for i, mode := range jsModes {
		t.Run(mode.name, func(t *testing.T) {
			// An open case (a closed one takes no files).
			var caseID string
			var rec map[string]any
			for j := i; rec == nil || rec["Status"] == "Closed"; j += 2 {
				var err error
				caseID, err = s.sim.SeedID(fakesource.Salesforce, "Case", j)
				require.NoError(t, err)
				rec, err = s.sim.Record(fakesource.Salesforce, "Case", caseID)
				require.NoError(t, err)
			}
			sy := syncer.New(syncer.Options{Pool: s.pool, TenantID: 1, Connectors: s.srcs.Connectors(), Mappings: s.set})
			require.NoError(t, sy.Refresh(context.Background(), "salesforce", "Case", caseID))
			email := fmt.Sprintf("uma%d@customer.test", i)
			_, err := auth.CreateUser(context.Background(), e.pool, auth.NewUser{Email: email, Password: password,
				Roles: []string{auth.RoleAccountAdmin}, AccountID: rec["AccountId"].(string), HashParams: fastHash})
			require.NoError(t, err)
			p := webtest.New(t, mode.opts...)
			signInForm(t, p, base, email)
			require.Equal(t, http.StatusOK, p.Navigate(base+"/cases/"+caseID))
			require.True(t, p.Exists("#f-file"), "the upload form: %s", p.Text("#main"))
			if p.JavaScript() {
				require.True(t, evalJS[bool](t, p, recordFetches))
				evalJS[bool](t, p, `(portico.upload.piece = 64 * 1024, window.__failAt = 2, true)`)
			}

			setFile(t, p, "#f-file", note)
			send(t, p, `form[action$="/files"]`, "#main .notice", "Your file was received and is being sent.")
			require.Equal(t, base+"/cases/"+caseID+"?sent=file", p.URL())
			require.Contains(t, p.Text("#files"), "Being sent to Salesforce.")
			id := e.lastActionOf(t, email, "attach_file")
			if p.JavaScript() {
				// The page is new: the log is gone; the server's side tells.
				var uploads int
				require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FROM file_upload`).Scan(&uploads))
				require.Zero(t, uploads, "the finished upload's parts are deleted")
			}

			if state := s.apply(t, id); state != "applied" {
				var detail string
				_ = e.pool.QueryRow(context.Background(), `SELECT coalesce(error_detail, '') FROM action WHERE id = $1`, id).Scan(&detail)
				t.Fatalf("the write-back ended %s: %s", state, detail)
			}
			var sourceID string
			require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT source_id FROM file WHERE action_id = $1`, id).Scan(&sourceID))
			cv, err := s.sim.Record(fakesource.Salesforce, "ContentVersion", sourceID)
			require.NoError(t, err)
			require.Equal(t, caseID, cv["FirstPublishLocationId"])
			require.Equal(t, hex.EncodeToString(sum[:]), cv["Checksum"], "the simulator received the bytes uploaded")

			require.Equal(t, http.StatusOK, p.Navigate(base+"/cases/"+caseID))
			require.Contains(t, p.Text("#files"), "Received by Salesforce on")
			href := evalJS[string](t, p, `document.querySelector("#files a[download]").getAttribute("href")`)
			got := fetchJS(t, p, `fetch(`+quote(href)+`).then(async r => r.status + " " + (await r.text()).length)`)
			require.Equal(t, fmt.Sprintf("200 %d", len(content)), got)
			check(t, p, "file-received", 0)

			if p.JavaScript() {
				require.True(t, evalJS[bool](t, p, recordFetches))
			}
			setFile(t, p, "#f-file", eicar)
			send(t, p, `form[action$="/files"]`, "#f-file-error", "malware")
			require.Contains(t, p.Text("#f-file-error"), clamdtest.Signature)
			require.Contains(t, p.Text("[role=alert]"), "The file was not attached")
			require.Equal(t, id, e.lastActionOf(t, email, "attach_file"), "the infected file is not sent")
			if p.JavaScript() {
				log := evalJS[[]string](t, p, `window.__fetches`)
				require.Contains(t, log, "POST /api/v1/uploads/", "sent as a resumable upload")
				require.NotContains(t, strings.Join(log, "\n"), "POST /cases/", "not as the plain form")
				require.True(t, p.FocusMatches("#form-alert"), "the alert takes the focus")
			}
			check(t, p, "file-infected", http.StatusUnprocessableEntity)
		})
	}
}

// TestBrowserUploadResumes: with JavaScript, a resumable upload whose
// second piece is lost asks the server where it is (HEAD) and goes on;
// the file arrives whole.
func TestBrowserUploadResumes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	base := e.srv.URL
	content := []byte(strings.Repeat("a line of the service log\n", 10000))
	path := filepath.Join(t.TempDir(), "service.log.txt")
	require.NoError(t, os.WriteFile(path, content, 0o600))
	e.user("rita@alpha.test", apitest.Alpha, auth.RoleMember)
	p := webtest.New(t)
	signInForm(t, p, base, "rita@alpha.test")
	id := e.fx.IDs[apitest.Alpha]["case"][0]
	require.Equal(t, http.StatusOK, p.Navigate(base+"/cases/"+id))
	require.True(t, p.Exists("#f-file"), "the upload form: %s", p.Text("#main"))
	require.True(t, evalJS[bool](t, p, recordFetches))
	evalJS[bool](t, p, `(portico.upload.piece = 64 * 1024, window.__failAt = 2, true)`)
	// Keep the log across the page the upload ends on.
	evalJS[bool](t, p, `(window.addEventListener("pagehide", () => sessionStorage.setItem("fetches", JSON.stringify(window.__fetches))), true)`)
	setFile(t, p, "#f-file", path)
	send(t, p, `form[action$="/files"]`, "#main .notice", "Your file was received and is being sent.")
	log := evalJS[string](t, p, `sessionStorage.getItem("fetches")`)
	require.Contains(t, log, "HEAD ", "asked the server for the offset after the lost piece")
	require.Greater(t, strings.Count(log, "PATCH "), len(content)/(64<<10), "sent in pieces, the lost one again")
	href := evalJS[string](t, p, `document.querySelector("#files a[download]").getAttribute("href")`)
	got := fetchJS(t, p, `fetch(`+quote(href)+`).then(r => r.text())`)
	require.Equal(t, string(content), got, "the file arrived whole, in order")
}
