package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/accounting"
	"github.com/porticohq/portico/connectors/httpclient"
	"github.com/porticohq/portico/connectors/salesforce"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/fakesource"
	"github.com/porticohq/portico/internal/fakesource/fakesourcetest"
)

// TestSyncedDocumentReadThrough: a ContentVersion synced onto a case is
// listed on the case as from the source, and downloads with its content
// read from the simulator's VersionData over HTTP; another account's user
// gets the 404 of a missing one; with the source down the download is a
// 503 with Retry-After, not a hang.
func TestSyncedDocumentReadThrough(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 300})
	cr := sim.Credentials(srv.URL).Salesforce
	conn, err := salesforce.New(connectors.Deps{
		Connection: connectors.Connection{Name: "salesforce", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL,
			ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken},
		HTTP: srv.Client(),
	})
	require.NoError(t, err)
	e := setup(t, func(o *options) {
		o.sourceFiles = func(string) (connectors.FileReader, bool) { fr, ok := conn.(connectors.FileReader); return fr, ok }
	})
	cvID, err := sim.SeedID(fakesource.Salesforce, "ContentVersion", 0)
	require.NoError(t, err)
	e.put("salesforce", "ContentVersion", Alpha, map[string]any{
		"Id": cvID, "SystemModstamp": sfTime(epoch), "LastModifiedDate": sfTime(epoch), "Title": "Packing slip",
		"PathOnClient": "packing-slip.pdf", "FileType": "PDF", "ContentSize": 4096, "FirstPublishLocationId": "500A00000000000",
	})
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	bob := e.user("bob@beta.example", Beta, []string{"account_admin"}, false, false)

	list := ada.get("/api/v1/cases/500A00000000000/files")
	require.Equal(t, http.StatusOK, list.code, string(list.body))
	data := list.json(t)["data"].([]any)
	require.Len(t, data, 1)
	doc := data[0].(map[string]any)
	require.Equal(t, "source", doc["origin"])
	require.Equal(t, cvID, doc["id"])
	require.Equal(t, "packing-slip.pdf", doc["name"])
	url := "/api/v1/cases/500A00000000000/files/" + cvID
	require.Equal(t, url, doc["url"])

	calls := sim.Stats().CallCount(fakesource.Salesforce, "VersionData", 0)
	dl := ada.get(url)
	require.Equal(t, http.StatusOK, dl.code, string(dl.body))
	require.NotEmpty(t, dl.body)
	require.True(t, strings.HasPrefix(string(dl.body), "portico "), "the simulator's VersionData")
	require.Equal(t, `attachment; filename=packing-slip.pdf`, dl.header.Get("Content-Disposition"))
	require.Equal(t, "nosniff", dl.header.Get("X-Content-Type-Options"))
	require.Contains(t, dl.header.Get("Content-Security-Policy"), "sandbox")
	require.Eventually(t, func() bool { return sim.Stats().CallCount(fakesource.Salesforce, "VersionData", 0) == calls+1 },
		5*time.Second, 10*time.Millisecond, "read through from the source (counted once the simulator's handler returns)")

	// Another account: the same 404 as a missing document.
	missing := ada.get("/api/v1/cases/500A00000000000/files/068000000000000AAA")
	require.Equal(t, http.StatusNotFound, missing.code)
	foreign := bob.get(url)
	require.Equal(t, http.StatusNotFound, foreign.code)
	require.Equal(t, string(missing.body), string(foreign.body))
	require.Empty(t, bob.get("/api/v1/cases/500A00000000000/files").json(t)["data"])

	// The source down: 503 with Retry-After.
	srv.Close()
	down := ada.get(url)
	require.Equal(t, http.StatusServiceUnavailable, down.code, string(down.body))
	require.NotEmpty(t, down.header.Get("Retry-After"))
	require.Contains(t, string(down.body), "source_unavailable")
}

// TestSyncedDocumentBreakerOpen: through the shared client, an outage
// opens the connection's breaker; a download then answers 503 with
// Retry-After at once, without calling the source (the breaker's
// cache-only behaviour: the listing still comes from the cache).
func TestSyncedDocumentBreakerOpen(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 300})
	cr := sim.Credentials(srv.URL).Salesforce
	cc := config.DefaultConnection(config.ConnectionConfig{Name: "salesforce", Type: "salesforce", BaseURL: cr.BaseURL,
		TokenURL: cr.TokenURL, ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken})
	cc.Breaker = config.BreakerConfig{Failures: 1, OpenTimeout: time.Hour}
	cc.Retry.Max = 0
	client, err := httpclient.New(httpclient.Options{Connection: cc, Transport: srv.Client().Transport})
	require.NoError(t, err)
	conn, err := salesforce.New(connectors.Deps{Connection: cc.Connector(), HTTP: client})
	require.NoError(t, err)
	e := setup(t, func(o *options) {
		o.sourceFiles = func(string) (connectors.FileReader, bool) { fr, ok := conn.(connectors.FileReader); return fr, ok }
	})
	cvID, err := sim.SeedID(fakesource.Salesforce, "ContentVersion", 1)
	require.NoError(t, err)
	e.put("salesforce", "ContentVersion", Alpha, map[string]any{
		"Id": cvID, "SystemModstamp": sfTime(epoch), "LastModifiedDate": sfTime(epoch), "Title": "Delivery note",
		"PathOnClient": "delivery-note.pdf", "FileType": "PDF", "ContentSize": 2048, "FirstPublishLocationId": "500A00000000000",
	})
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	url := "/api/v1/cases/500A00000000000/files/" + cvID
	require.Equal(t, http.StatusOK, ada.get(url).code)

	require.NoError(t, sim.SetFaults(fakesource.Salesforce, fakesource.Faults{OutageSeconds: 3600}))
	first := ada.get(url)
	require.Equal(t, http.StatusServiceUnavailable, first.code, string(first.body))
	require.Equal(t, httpclient.BreakerOpen, client.Breaker(), "the outage opened the breaker")
	calls := sim.Stats().CallCount(fakesource.Salesforce, "VersionData", 0)
	open := ada.get(url)
	require.Equal(t, http.StatusServiceUnavailable, open.code, string(open.body))
	require.NotEmpty(t, open.header.Get("Retry-After"))
	require.Equal(t, calls, sim.Stats().CallCount(fakesource.Salesforce, "VersionData", 0), "an open breaker calls nobody")
	list := ada.get("/api/v1/cases/500A00000000000/files")
	require.Equal(t, http.StatusOK, list.code)
	require.Len(t, list.json(t)["data"], 1, "the listing is the cache's")
}

// TestInvoiceAttachableReadThrough: a QuickBooks Attachable on an invoice
// is listed on the invoice as from the source and downloads through the
// simulator's download endpoint and its TempDownloadUri; another
// account's user gets the 404 of a missing one.
func TestInvoiceAttachableReadThrough(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 300})
	cr := sim.Credentials(srv.URL).Accounting
	conn, err := accounting.New(connectors.Deps{
		Connection: connectors.Connection{Name: "accounting", BaseURL: cr.BaseURL, TokenURL: cr.TokenURL, ClientID: cr.ClientID,
			ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken, AccessToken: cr.AccessToken, Realm: cr.Realm},
		HTTP: srv.Client(),
	})
	require.NoError(t, err)
	e := setup(t, func(o *options) {
		o.sourceFiles = func(name string) (connectors.FileReader, bool) {
			fr, ok := conn.(connectors.FileReader)
			return fr, ok && name == "accounting"
		}
	})
	attID, err := sim.SeedID(fakesource.Accounting, "Attachable", 0)
	require.NoError(t, err)
	invoice := e.ids[Alpha]["invoice"][0]
	e.put("accounting", "Attachable", Alpha, map[string]any{
		"Id": attID, "SyncToken": "0", "MetaData": map[string]any{"LastUpdatedTime": "2026-02-01T10:00:00-08:00"},
		"FileName": "receipt.pdf", "ContentType": "application/pdf", "Size": 12345,
		"AttachableRef": []any{map[string]any{"EntityRef": map[string]any{"type": "Invoice", "value": invoice}}},
	})
	bill := e.user("bill@alpha.example", Alpha, []string{"billing"}, false, false)
	bob := e.user("bob@beta.example", Beta, []string{"account_admin"}, false, false)

	list := bill.get("/api/v1/invoices/" + invoice + "/files")
	require.Equal(t, http.StatusOK, list.code, string(list.body))
	data := list.json(t)["data"].([]any)
	require.Len(t, data, 1)
	doc := data[0].(map[string]any)
	require.Equal(t, "source", doc["origin"])
	url := "/api/v1/invoices/" + invoice + "/files/" + attID
	require.Equal(t, url, doc["url"])

	before := sim.Stats().CallCount(fakesource.Accounting, "TempDownloadUri", 0)
	dl := bill.get(url)
	require.Equal(t, http.StatusOK, dl.code, string(dl.body))
	require.True(t, strings.HasPrefix(string(dl.body), "portico "), "the simulator's attachment content")
	require.Equal(t, "application/pdf", dl.header.Get("Content-Type"))
	require.Equal(t, before+1, sim.Stats().CallCount(fakesource.Accounting, "TempDownloadUri", 0), "read through the TempDownloadUri")

	require.Equal(t, http.StatusNotFound, bob.get(url).code)
	srv.Close()
	down := bill.get(url)
	require.Equal(t, http.StatusServiceUnavailable, down.code, string(down.body))
	require.NotEmpty(t, down.header.Get("Retry-After"))
}

// TestSyncedDocumentStreamsWithRanges: a synced document larger than the
// shared client's max_response_bytes downloads whole (the read-through
// streams it, never holding it), and single ranges of it are served from
// the stream (206 with Content-Range, 416 outside it); several ranges get
// the whole file. The cache's size is stale (1 byte): the length the
// source announces wins.
func TestSyncedDocumentStreamsWithRanges(t *testing.T) {
	t.Parallel()
	sim, srv := fakesourcetest.Start(t, fakesource.Options{Seed: 1, Records: 300})
	cr := sim.Credentials(srv.URL).Salesforce
	cc := config.DefaultConnection(config.ConnectionConfig{Name: "salesforce", Type: "salesforce", BaseURL: cr.BaseURL,
		TokenURL: cr.TokenURL, ClientID: cr.ClientID, ClientSecret: cr.ClientSecret, RefreshToken: cr.RefreshToken})
	cc.MaxResponseBytes = 64 << 10
	client, err := httpclient.New(httpclient.Options{Connection: cc, Transport: srv.Client().Transport})
	require.NoError(t, err)
	conn, err := salesforce.New(connectors.Deps{Connection: cc.Connector(), HTTP: client})
	require.NoError(t, err)
	e := setup(t, func(o *options) {
		o.sourceFiles = func(string) (connectors.FileReader, bool) { fr, ok := conn.(connectors.FileReader); return fr, ok }
	})
	// A seeded ContentVersion over the client's cap.
	var cvID string
	size := 0
	for i := 0; size <= 3*(64<<10); i++ {
		cvID, err = sim.SeedID(fakesource.Salesforce, "ContentVersion", i)
		require.NoError(t, err)
		rec, err := sim.Record(fakesource.Salesforce, "ContentVersion", cvID)
		require.NoError(t, err)
		size = toInt(rec["ContentSize"])
	}
	e.put("salesforce", "ContentVersion", Alpha, map[string]any{
		"Id": cvID, "SystemModstamp": sfTime(epoch), "LastModifiedDate": sfTime(epoch), "Title": "Manual",
		"PathOnClient": "manual.pdf", "FileType": "PDF", "ContentSize": 1, "FirstPublishLocationId": "500A00000000000",
	})
	ada := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)
	url := "/api/v1/cases/500A00000000000/files/" + cvID
	want := strings.Repeat("portico ", size/8+1)[:size]

	whole := ada.get(url)
	require.Equal(t, http.StatusOK, whole.code, string(whole.body))
	require.Equal(t, want, string(whole.body), "streamed whole past max_response_bytes")
	require.Equal(t, strconv.Itoa(size), whole.header.Get("Content-Length"))
	require.Equal(t, "bytes", whole.header.Get("Accept-Ranges"))

	n := func(i int) string { return strconv.Itoa(i) }
	for _, c := range []struct {
		rng, contentRange string
		from, to          int
	}{
		{"bytes=100003-100018", "bytes 100003-100018/" + n(size), 100003, 100019},
		{"bytes=-10", "bytes " + n(size-10) + "-" + n(size-1) + "/" + n(size), size - 10, size},
		{"bytes=" + n(size-5) + "-", "bytes " + n(size-5) + "-" + n(size-1) + "/" + n(size), size - 5, size},
		{"bytes=0-0", "bytes 0-0/" + n(size), 0, 1},
	} {
		part := ada.do("GET", url, nil, http.Header{"Range": {c.rng}})
		require.Equal(t, http.StatusPartialContent, part.code, c.rng)
		require.Equal(t, c.contentRange, part.header.Get("Content-Range"), c.rng)
		require.Equal(t, want[c.from:c.to], string(part.body), c.rng)
		require.Equal(t, "attachment; filename=manual.pdf", part.header.Get("Content-Disposition"))
	}
	outside := ada.do("GET", url, nil, http.Header{"Range": {"bytes=" + n(size) + "-"}})
	require.Equal(t, http.StatusRequestedRangeNotSatisfiable, outside.code)
	require.Equal(t, "bytes */"+n(size), outside.header.Get("Content-Range"))
	several := ada.do("GET", url, nil, http.Header{"Range": {"bytes=0-1,10-11"}})
	require.Equal(t, http.StatusOK, several.code)
	require.Equal(t, want, string(several.body))
}

// toInt is a number of a simulated record.
func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}
