package api_test

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/documents/documentstest"
)

// TestDocuments: each record's PDF downloads as an attachment with the
// safe headers, holds the record as the API reads it (an unpublished
// comment left out), in the language asked for, and is the same bytes
// each time; a foreign id is the API's usual 404.
func TestDocuments(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *options) { o.noWrites = true })
	c := e.user("ada@alpha.example", Alpha, []string{"account_admin", "member", "billing", "purchasing"}, false, false)
	notFound := `{"error":{"code":"not_found","message":"no such record"}` + "}\n"

	for _, tc := range []struct {
		path, name string
		want       []string
		notWant    []string
	}{
		{"/api/v1/invoices/" + e.ids[Alpha]["invoice"][0] + "/document.pdf", "invoice-INV-9A1.pdf",
			[]string{"Invoice INV-9A1", "Invoice total 100.00 USD", "Amount due 40.00 USD", "Router rental 1 100.00 USD 100.00 USD",
				"Feb 10, 2026 60.00 USD", "Data as of"}, nil},
		{"/api/v1/approvals/" + e.ids[Alpha]["approval_request"][0] + "/document.pdf", "quote-" + e.ids[Alpha]["approval_request"][0] + ".pdf",
			[]string{"Quote: Quote 0Q0A00000000001", "Router rental, 12 months 2 450.25 USD 900.50 USD",
				"Installation 1 300.00 USD 300.00 USD", "Total 1,200.50 USD", "Valid until Jun 30, 2026"}, nil},
		{"/api/v1/orders/" + e.ids[Alpha]["order"][0] + "/document.pdf", "order-" + e.ids[Alpha]["order"][0] + ".pdf",
			[]string{"Order confirmation", "Router 1 25.00 USD 25.00 USD", "UPS 1Z999"}, nil},
		{"/api/v1/cases/" + e.ids[Alpha]["case"][0] + "/document.pdf", "case-00000000.pdf",
			[]string{"Case summary: Printer on fire 500A00000000000", "It smokes", "Case opened", "We are on it"}, []string{"Internal note"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.get(tc.path)
			require.Equal(t, http.StatusOK, res.code, string(res.body))
			require.Equal(t, "application/pdf", res.header.Get("Content-Type"))
			require.Equal(t, "attachment; filename="+tc.name, res.header.Get("Content-Disposition"))
			require.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
			require.Contains(t, res.header.Get("Content-Security-Policy"), "sandbox")
			require.True(t, bytes.HasPrefix(res.body, []byte("%PDF-")))
			text := documentstest.Text(t, res.body)
			for _, w := range tc.want {
				require.Contains(t, text, w)
			}
			for _, w := range tc.notWant {
				require.NotContains(t, text, w)
			}
			again := c.get(tc.path)
			require.Equal(t, res.body, again.body, "the same record gives the same bytes")
			require.Equal(t, http.StatusNotModified, c.do("GET", tc.path, nil, http.Header{"If-None-Match": {res.header.Get("ETag")}}).code)
		})
	}

	inv := "/api/v1/invoices/" + e.ids[Alpha]["invoice"][0] + "/document.pdf"
	de := c.get(inv + "?lang=de")
	require.Equal(t, http.StatusOK, de.code, string(de.body))
	require.Contains(t, documentstest.Text(t, de.body), "Offener Betrag 40,00 USD")
	de2 := c.do("GET", inv, nil, http.Header{"Accept-Language": {"de-DE,de;q=0.9"}})
	require.Equal(t, de.body, de2.body, "Accept-Language chooses the same")

	bad := c.get(inv + "?lang=fr")
	require.Equal(t, http.StatusUnprocessableEntity, bad.code)
	_, field := errorCode(t, bad)
	require.Equal(t, "lang", field)

	for _, path := range []string{
		"/api/v1/invoices/" + e.ids[Beta]["invoice"][0] + "/document.pdf",
		"/api/v1/approvals/" + e.ids[Beta]["approval_request"][0] + "/document.pdf",
		"/api/v1/orders/" + e.ids[Beta]["order"][0] + "/document.pdf",
		"/api/v1/cases/" + e.ids[Beta]["case"][0] + "/document.pdf",
		"/api/v1/cases/nope/document.pdf",
	} {
		res := c.get(path)
		require.Equal(t, http.StatusNotFound, res.code, path)
		require.Equal(t, notFound, string(res.body), path)
	}
	// A role that does not reach invoices finds none of them.
	member := e.user("mo@alpha.example", Alpha, []string{"member"}, false, false)
	res := member.get(inv)
	require.Equal(t, http.StatusNotFound, res.code)
	require.Equal(t, notFound, string(res.body))
}
