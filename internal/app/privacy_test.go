package app_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/audit"
	"github.com/porticohq/portico/internal/auth"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/mail/mailtest"
	"github.com/porticohq/portico/internal/privacy"
)

// person is a simulated CRM contact who becomes a portal user.
type person struct {
	userID                    int64
	email, first, last, phone string
	account, contact, caseID  string
}

// aContactWithACase picks a cached contact with an email, a phone and a
// case of their own, waiting for the first sync of contacts (start waits
// for the cases alone; the objects sync side by side).
func aContactWithACase(t *testing.T, pool *pgxpool.Pool) person {
	t.Helper()
	var p person
	require.Eventually(t, func() bool {
		return pool.QueryRow(context.Background(), `
		SELECT c.data->'fields'->>'email', c.data->'fields'->>'first_name', c.data->'fields'->>'last_name',
		       c.data->'fields'->>'phone', c.owner_account, c.source_id, k.source_id
		FROM record c JOIN record k ON k.tenant_id = c.tenant_id AND k.object = 'case' AND k.owner_contact = c.source_id
		WHERE c.object = 'contact' AND coalesce(c.data->'fields'->>'email', '') <> ''
		  AND coalesce(c.data->'fields'->>'phone', '') <> '' AND coalesce(c.data->'fields'->>'first_name', '') <> ''
		ORDER BY c.source_id LIMIT 1`).Scan(&p.email, &p.first, &p.last, &p.phone, &p.account, &p.contact, &p.caseID) == nil
	}, 30*time.Second, 20*time.Millisecond, "a synced contact with a case of their own")
	p.email = strings.ToLower(p.email)
	return p
}

func (s *staff) do(method, path, contentType string, body []byte) *http.Response {
	req, _ := http.NewRequest(method, s.api+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set(auth.CSRFHeader, s.csrf)
	return checked(s.t, s.client, req, body)
}

// findEverywhere searches every text, jsonb, json, bytea and array column
// of every table in the public schema for each needle (case-insensitive
// for text) and returns "table.column: needle" for each hit.
func findEverywhere(t *testing.T, pool *pgxpool.Pool, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `
		SELECT c.table_name, c.column_name, c.data_type
		FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
		  AND c.data_type IN ('text', 'character varying', 'character', 'jsonb', 'json', 'bytea', 'ARRAY', 'USER-DEFINED', 'inet')
		ORDER BY 1, 2`)
	require.NoError(t, err)
	type col struct{ table, column, typ string }
	var cols []col
	for rows.Next() {
		var c col
		require.NoError(t, rows.Scan(&c.table, &c.column, &c.typ))
		cols = append(cols, c)
	}
	require.NoError(t, rows.Err())
	require.Greater(t, len(cols), 50, "the search covers the schema")
	var hits []string
	for _, c := range cols {
		for _, n := range needles {
			q := fmt.Sprintf(`SELECT count(*) FROM %q WHERE strpos(lower(%q::text), lower($1)) > 0`, c.table, c.column)
			if c.typ == "bytea" {
				// Raw bytes: file content, sessions, exports.
				q = fmt.Sprintf(`SELECT count(*) FROM %q WHERE position(convert_to($1, 'UTF8') IN %q) > 0`, c.table, c.column)
			}
			var k int
			require.NoError(t, pool.QueryRow(ctx, q, n).Scan(&k), q)
			if k > 0 {
				hits = append(hits, fmt.Sprintf("%s.%s: %s (%d rows)", c.table, c.column, n, k))
			}
		}
	}
	return hits
}

// TestPrivacyExportHoldsEverythingAndErasureLeavesOnlyPseudonyms is the
// GDPR acceptance test (issue 15, DESIGN.md invariant 10) over a running
// Portico and a simulated CRM: a contact becomes a user, signs in, fails a
// sign-in, asks for a password reset, changes their phone (a write-back),
// uploads a file; their export holds every part; after staff erase them,
// no table holds their address, name or phone, the chain verifies, and a
// sync does not bring the contact back.
func TestPrivacyExportHoldsEverythingAndErasureLeavesOnlyPseudonyms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	smtpd := mailtest.Start(t)
	r := start(t, false, time.Hour, func(c *config.Config) {
		c.Mail.SMTPURL = "smtp://portal:pw@" + smtpd.Addr()
		c.Mail.From = "Portal <portal@example.com>"
	})
	pool := r.app.Pool()
	p := aContactWithACase(t, pool)
	const password = "violet-harbour-lantern-58"
	u, err := auth.CreateUser(ctx, pool, auth.NewUser{Email: p.email, Password: password, AccountID: p.account, ContactID: p.contact, Roles: []string{"member"}})
	require.NoError(t, err)
	p.userID = u.ID

	// A failed sign-in and a reset request name the address; then a real sign-in.
	anon := &staff{t: t, api: r.api, client: http.DefaultClient}
	resp := anon.post("/auth/login", map[string]string{"email": p.email, "password": "not-the-password-at-all"})
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp = anon.post("/auth/password-reset", map[string]string{"email": p.email})
	resp.Body.Close()
	require.Less(t, resp.StatusCode, 300)
	require.Eventually(t, func() bool { msgs, _, _ := smtpd.Snapshot(); return len(msgs) == 1 }, 20*time.Second, 10*time.Millisecond, "the reset mail")
	me := logIn(t, r.api, p.email, password)

	// A change of phone, written back to the CRM.
	const newPhone = "+49 30 5550199"
	resp = me.do(http.MethodPatch, "/api/v1/me/contact", "application/json", []byte(`{"phone": "`+newPhone+`"}`))
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	require.Eventually(t, func() bool {
		var state string
		_ = pool.QueryRow(ctx, `SELECT state FROM action WHERE user_id = $1 ORDER BY id DESC LIMIT 1`, strconv.FormatInt(u.ID, 10)).Scan(&state)
		return state == "applied"
	}, 30*time.Second, 20*time.Millisecond, "the phone change is applied")

	// The applied change is told to them (internal/notify): a notice.
	require.Eventually(t, func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM notice WHERE user_id = $1 AND kind = 'action_applied'`, u.ID).Scan(&n)
		return n == 1
	}, 30*time.Second, 20*time.Millisecond, "the notice of the applied change")

	// A file naming them, on their case.
	content := []byte("Please call " + p.first + " " + p.last + " at " + newPhone + " or " + p.email + "\n")
	resp = me.do(http.MethodPost, "/api/v1/cases/"+p.caseID+"/files?filename="+p.last+"-notes.txt", "text/plain", content)
	resp.Body.Close()
	require.Equal(t, http.StatusAccepted, resp.StatusCode)

	// The export, built in the background, downloaded once.
	svc := r.app.Privacy()
	req, err := svc.RequestExport(ctx, u.ID, audit.UserActor(strconv.FormatInt(u.ID, 10)))
	require.NoError(t, err)
	var zipped []byte
	require.Eventually(t, func() bool {
		zipped, err = svc.Take(ctx, u.ID, req.Token, audit.Event{Actor: audit.UserActor(strconv.FormatInt(u.ID, 10))})
		return err == nil
	}, 30*time.Second, 50*time.Millisecond, "the export job builds the zip")
	_, err = svc.Take(ctx, u.ID, req.Token, audit.Event{Actor: audit.UserActor(strconv.FormatInt(u.ID, 10))})
	require.ErrorIs(t, err, privacy.ErrNoExport, "the link works once")

	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	require.NoError(t, err)
	entries := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		rc.Close()
		entries[f.Name] = string(b)
	}
	for _, name := range []string{"manifest.json", "user.json", "contact.json", "cases.json", "comments.json", "actions.json",
		"consents.json", "sessions.json", "tokens.json", "notifications.json", "files.json", "audit_events.json"} {
		require.Contains(t, entries, name)
	}
	require.Contains(t, entries["user.json"], p.email)
	require.Contains(t, entries["contact.json"], p.contact)
	require.Contains(t, entries["cases.json"], p.caseID)
	require.Contains(t, entries["actions.json"], newPhone, "the action's input")
	require.Contains(t, entries["sessions.json"], `"method": "password"`)
	require.Contains(t, entries["notifications.json"], `"kind": "action_applied"`)
	require.Contains(t, entries["audit_events.json"], `"auth.login_failed"`)
	require.Contains(t, entries["audit_events.json"], p.email, "sealed fields are opened for the person")
	require.Contains(t, entries["audit_events.json"], newPhone)
	var fileList []struct {
		InArchive string `json:"in_archive"`
	}
	require.NoError(t, json.Unmarshal([]byte(entries["files.json"]), &fileList))
	require.Len(t, fileList, 1)
	require.Equal(t, string(content), entries[fileList[0].InArchive], "the file's content")

	// A second export waits unread; it goes with the erasure.
	_, err = svc.RequestExport(ctx, u.ID, audit.UserActor(strconv.FormatInt(u.ID, 10)))
	require.NoError(t, err)

	// Erasure by staff: a reason is required, and without it nothing changes.
	admin := &staff{t: t, api: r.api, client: http.DefaultClient}
	erase := func(body string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, r.api+"/admin/privacy/erasures", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer test-admin-token-0123456789")
		return checked(t, admin.client, req, []byte(body))
	}
	resp = erase(`{"email": "` + p.email + `", "reason": " "}`)
	var refusal struct {
		Error struct {
			Fields []struct{ Path string } `json:"fields"`
		} `json:"error"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&refusal))
	resp.Body.Close()
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Equal(t, "reason", refusal.Error.Fields[0].Path)
	require.NotEmpty(t, findEverywhere(t, pool, p.email), "a refused erasure changes nothing")

	resp = erase(`{"email": "` + strings.ToUpper(p.email) + `", "reason": "request by letter of 2026-12-01"}`)
	var rep privacy.Report
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rep))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, rep.Sources, 1)
	require.Equal(t, privacy.SourceStaffTask, rep.Sources[0].State, "the Salesforce connector cannot send an erasure request")
	require.Equal(t, p.contact, rep.Sources[0].SourceID)
	require.Positive(t, rep.Parts["audit_events"], "the person's audit keys are destroyed")
	require.Positive(t, rep.Parts["files"])
	require.Positive(t, rep.Parts["notifications"])
	var notices int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM notice WHERE user_id = $1`, u.ID).Scan(&notices))
	require.Zero(t, notices, "their notices are gone")

	// Every table: nothing but pseudonyms.
	needles := []string{p.email, p.first + " " + p.last, p.phone, newPhone}
	require.Empty(t, findEverywhere(t, pool, needles...))
	var pseudo string
	require.NoError(t, pool.QueryRow(ctx, `SELECT email FROM auth_user WHERE id = $1`, u.ID).Scan(&pseudo))
	require.Equal(t, rep.Pseudonym+"@erased.invalid", pseudo)

	// The chain verifies, and the tasks list the source record.
	_, err = audit.Seal(ctx, pool)
	require.NoError(t, err)
	vr, err := audit.Verify(ctx, pool, "")
	require.NoError(t, err)
	require.Empty(t, vr.Problems)

	// The CRM still holds the contact (staff's task), and it changes
	// there: a full sync of contacts does not bring it back.
	require.NoError(t, r.sim.StaffEdit("salesforce", "Contact", p.contact, map[string]any{"Title": "Changed after the erasure"}))
	_, err = r.app.Syncer().Full(ctx, "salesforce", "Contact")
	require.NoError(t, err)
	require.Empty(t, findEverywhere(t, pool, needles[:3]...), "the suppressed contact stays out of the cache")
}
