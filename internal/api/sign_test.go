package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/approval"
	"github.com/porticohq/portico/internal/seal"
)

func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// TestSignApproval: a buyer opens a quote's PDF (viewed), cannot approve
// it without signing, is told exactly what is wrong with a bad signature
// (nothing stored), and signs: the sealed PDF verifies, carries the
// evidence of their session, is downloadable by whoever sees the quote
// and goes to the source with the approval.
func TestSignApproval(t *testing.T) {
	t.Parallel()
	e := setup(t, withSigning)
	buyer := e.user("buyer@alpha.example", Alpha, []string{"purchasing"}, false, false)
	admin := e.user("admin@alpha.example", Alpha, []string{"account_admin"}, false, false)
	member := e.user("member@alpha.example", Alpha, []string{"member"}, false, false)
	bob := e.user("bob@beta.example", Beta, []string{"account_admin"}, false, false)
	const quote = "/api/v1/approvals/0Q0A00000000001"

	doc := buyer.get(quote + "/document.pdf?lang=de")
	require.Equal(t, http.StatusOK, doc.code, string(doc.body))
	require.Equal(t, "application/pdf", doc.header.Get("Content-Type"))
	sum := sha256.Sum256(doc.body)
	hash := hex.EncodeToString(sum[:])
	require.Equal(t, hash, doc.header.Get("X-Document-SHA256"))
	require.Equal(t, hash, hex.EncodeToString(sha256Of(buyer.get(quote+"/document.pdf?lang=de").body)), "the same quote, the same bytes")
	shownAsOf := doc.header.Get("X-Document-Synced-At")
	require.NotEmpty(t, shownAsOf)
	for _, c := range []*client{member, bob} {
		require.Equal(t, http.StatusNotFound, c.get(quote+"/document.pdf?lang=de").code, c.email)
		require.Equal(t, http.StatusNotFound, c.post(quote+"/sign", map[string]any{"signer_name": "X", "consent": true,
			"consent_version": approval.CurrentConsent().Version, "document_sha256": hash}).code, c.email)
	}

	require.Equal(t, "awaiting", buyer.get(quote).json(t)["approval"].(map[string]any)["state"])
	res := buyer.post(quote+"/approve", nil)
	require.Equal(t, http.StatusConflict, res.code)
	require.Equal(t, "signature_required", res.json(t)["error"].(map[string]any)["code"])

	good := map[string]any{"signer_name": "  Bea   Buyer ", "consent": true, "consent_version": approval.CurrentConsent().Version,
		"document_sha256": hash, "document_synced_at": shownAsOf, "locale": "de"}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		m[k] = v
		return m
	}
	for _, bad := range []struct {
		body  map[string]any
		code  int
		field string
	}{
		{with("signer_name", " "), 422, "signer_name"},
		{with("consent", false), 422, "consent"},
		{with("document_sha256", "abc"), 422, "document_sha256"},
		{with("locale", "fr"), 422, "locale"},
		{with("document_sha256", hex.EncodeToString(make([]byte, 32))), 409, "document_changed"},
		{with("consent_version", "1999-01-01"), 409, "consent_changed"},
		{with("document_synced_at", "yesterday"), 422, "document_synced_at"},
	} {
		res := buyer.post(quote+"/sign", bad.body)
		require.Equal(t, bad.code, res.code, string(res.body))
		er := res.json(t)["error"].(map[string]any)
		if bad.code == 422 {
			require.Equal(t, bad.field, er["fields"].([]any)[0].(map[string]any)["path"], string(res.body))
		} else {
			require.Equal(t, bad.field, er["code"])
		}
	}
	require.Zero(t, e.count(t, `SELECT count(*) FROM file`), "a refused signature stores nothing")
	require.Zero(t, e.count(t, `SELECT count(*) FROM action`))

	// A poll reads the quote and its lines again and finds nothing new:
	// the PDF now says its data is as of the later read, but what the
	// buyer was shown, with the time it said, is still what they sign.
	_, err := e.pool.Exec(context.Background(), `UPDATE record SET synced_at = synced_at + interval '1 hour'
		WHERE object IN ('approval_request', 'approval_line')`)
	require.NoError(t, err)
	require.Equal(t, 2, e.count(t, `SELECT count(DISTINCT object) FROM record WHERE object IN ('approval_request', 'approval_line')`))
	now := buyer.get(quote + "/document.pdf?lang=de")
	require.NotEqual(t, hash, now.header.Get("X-Document-SHA256"), "the PDF prints the later read")
	require.NotEqual(t, shownAsOf, now.header.Get("X-Document-Synced-At"))
	res = buyer.post(quote+"/sign", with("document_synced_at", ""))
	require.Equal(t, http.StatusConflict, res.code, "without the time shown, the hash is of the PDF as of now")
	require.Equal(t, "document_changed", res.json(t)["error"].(map[string]any)["code"])

	res = buyer.do("POST", quote+"/sign", good, http.Header{"User-Agent": {"SignTest/1.0"}})
	require.Equal(t, http.StatusAccepted, res.code, string(res.body))
	signed := res.json(t)
	require.Equal(t, "decide_approval", signed["action"].(map[string]any)["kind"])
	require.Equal(t, "attach_file", signed["file_action"].(map[string]any)["kind"])
	url := signed["file"].(map[string]any)["url"].(string)

	// Everyone who sees the quote downloads the same sealed PDF; the
	// others get 404.
	pdf := admin.get(url)
	require.Equal(t, http.StatusOK, pdf.code)
	require.Equal(t, pdf.body, buyer.get(url).body)
	require.Equal(t, http.StatusNotFound, bob.get(url).code)
	require.Equal(t, http.StatusNotFound, member.get(url).code)
	v, err := seal.Verify(pdf.body)
	require.NoError(t, err)
	require.Equal(t, hash, v.Evidence.DocumentSHA256)
	require.Equal(t, "Bea Buyer", v.Evidence.SignerName)
	require.Equal(t, "buyer@alpha.example", v.Evidence.SignerEmail)
	require.Equal(t, "password", v.Evidence.AuthMethod)
	require.False(t, v.Evidence.AuthenticatedAt.IsZero())
	require.Equal(t, "127.0.0.1", v.Evidence.IP)
	require.Equal(t, "SignTest/1.0", v.Evidence.UserAgent)
	require.Equal(t, "de", v.Evidence.ConsentLocale)
	require.Contains(t, v.Evidence.ConsentText, "Ich habe das oben angezeigte Dokument gelesen")
	require.Equal(t, doc.body, pdf.body[:len(doc.body)], "the signed document is the one shown, byte for byte")

	// The request says it is signed and links the sealed PDF, for
	// everyone who sees it.
	for _, c := range []*client{buyer, admin} {
		st := c.get(quote).json(t)["approval"].(map[string]any)
		require.Equal(t, "signed", st["state"], c.email)
		require.Equal(t, true, st["pending"], "the approval is on its way to the source")
		sd := st["signed_document"].(map[string]any)
		require.Equal(t, url, sd["url"])
		require.Equal(t, signed["file"].(map[string]any)["id"], sd["file_id"])
		require.NotEmpty(t, sd["signed_at"])
		require.Equal(t, pdf.body, c.get(sd["url"].(string)).body)
	}

	files := admin.get(quote + "/files").json(t)["data"].([]any)
	require.Len(t, files, 1)
	require.Contains(t, files[0].(map[string]any)["name"], "(signed).pdf")

	// The state machine moved viewed -> approved, audited; the signature
	// is kept and audited without personal data.
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM approval_state WHERE record_id = '0Q0A00000000001' AND state = 'approved'`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'approval.view'`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'approval.approve'`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM signature WHERE signer_user_id <> '' AND evidence->>'signer_name' = 'Bea Buyer'`))
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM audit_event WHERE action = 'approval.signed' AND after::text NOT LIKE '%Bea%' AND after::text NOT LIKE '%buyer@%'`))

	// Signed once: a second signature is refused.
	require.Equal(t, http.StatusConflict, buyer.post(quote+"/sign", good).code)
}

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
