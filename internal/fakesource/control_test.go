package fakesource_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/fakesource"
)

func TestFaultsRateLimitOutageQuota(t *testing.T) {
	t.Parallel()
	e := setup(t)
	sf := e.sf()
	path := "/services/data/v59.0/sobjects/Account/" + mustSeed(t, e, "Account", 0)

	ctl := &client{t: t, base: e.url}
	code, _, body := ctl.do("POST", "/_sim/faults", map[string]any{"system": "salesforce", "rate_limit_rate": 1, "retry_after_seconds": 7})
	require.Equal(t, http.StatusOK, code, string(body))
	code, hdr, body := sf.do("GET", path, nil)
	require.Equal(t, http.StatusTooManyRequests, code)
	require.Equal(t, "7", hdr.Get("Retry-After"))
	require.Contains(t, string(body), "REQUEST_LIMIT_EXCEEDED")
	qb := e.qb()
	code, _, _ = qb.do("GET", e.qbPath("/customer/1"), nil)
	require.Equal(t, http.StatusOK, code, "faults are per system")
	code, _, _ = ctl.do("GET", "/_sim/stats", nil)
	require.Equal(t, http.StatusOK, code, "the control API is never faulted")

	code, _, body = ctl.do("POST", "/_sim/faults", map[string]any{"system": "salesforce", "error_rate": 2})
	require.Equal(t, http.StatusBadRequest, code)
	require.Contains(t, string(body), "error_rate")
	code, _, body = ctl.do("POST", "/_sim/faults", map[string]any{"system": "nope"})
	require.Equal(t, http.StatusBadRequest, code, string(body))
	code, _, _ = ctl.do("POST", "/_sim/faults", map[string]any{"system": "salesforce", "bogus_field": 1})
	require.Equal(t, http.StatusBadRequest, code)
	code, _, body = ctl.do("GET", "/_sim/faults", nil)
	require.Equal(t, http.StatusOK, code)
	require.EqualValues(t, 1, decode(t, body)["salesforce"].(map[string]any)["rate_limit_rate"], "rejected fault settings changed nothing")

	// errors, counted in stats
	require.NoError(t, e.sim.SetFaults(fakesource.Accounting, fakesource.Faults{ErrorRate: 1}))
	code, _, body = qb.do("GET", e.qbPath("/customer/1"), nil)
	require.Contains(t, []int{500, 503}, code)
	require.Contains(t, string(body), `"Fault"`)
	require.NoError(t, e.sim.SetFaults(fakesource.Accounting, fakesource.Faults{}))

	// outage for a duration, every system
	code, _, _ = ctl.do("POST", "/_sim/faults", map[string]any{"outage_seconds": 60})
	require.Equal(t, http.StatusOK, code)
	code, hdr, _ = sf.do("GET", path, nil)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.NotEmpty(t, hdr.Get("Retry-After"))
	require.Contains(t, hdr.Get("Sforce-Limit-Info"), "api-usage=", "on faulted answers too")
	code, _, body = e.sq().do("GET", "/v2/locations", nil)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, string(body), "SERVICE_UNAVAILABLE")
	e.clock.Advance(61 * time.Second)
	code, _, _ = sf.do("GET", path, nil)
	require.Equal(t, http.StatusOK, code, "the outage ends")

	// daily quota
	require.NoError(t, e.sim.SetFaults(fakesource.Salesforce, fakesource.Faults{DailyQuota: 3}))
	e.clock.Advance(24 * time.Hour) // a new day: fresh quota
	sf = e.sf()
	for i := 1; i <= 3; i++ {
		code, hdr, _ = sf.do("GET", path, nil)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "api-usage="+string(rune('0'+i))+"/3", hdr.Get("Sforce-Limit-Info"))
	}
	code, hdr, body = sf.do("GET", path, nil)
	require.Equal(t, http.StatusForbidden, code)
	require.Contains(t, string(body), "REQUEST_LIMIT_EXCEEDED")
	require.NotEmpty(t, hdr.Get("Retry-After"))
	require.Equal(t, "api-usage=3/3", hdr.Get("Sforce-Limit-Info"))

	st := e.sim.Stats()
	require.Equal(t, 1, st.CallCount("salesforce", "", http.StatusTooManyRequests))
	require.Equal(t, 1, st.CallCount("salesforce", "", http.StatusForbidden))
	require.Equal(t, 1, st.CallCount("accounting", "{entity}/{id}", 500)+st.CallCount("accounting", "{entity}/{id}", 503))
}

func TestFaultsLatencyResetAndSlowBody(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.sq()
	require.NoError(t, e.sim.SetFaults(fakesource.Inventory, fakesource.Faults{LatencyMinMS: 80, LatencyMaxMS: 80}))
	start := time.Now()
	code, _, _ := c.do("GET", "/v2/locations", nil)
	require.Equal(t, http.StatusOK, code)
	require.GreaterOrEqual(t, time.Since(start), 80*time.Millisecond)

	require.NoError(t, e.sim.SetFaults(fakesource.Inventory, fakesource.Faults{ResetRate: 1}))
	req, err := http.NewRequest("GET", e.url+"/v2/locations", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.cr.Inventory.AccessToken)
	reset, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err == nil {
		reset.Body.Close()
	}
	require.Error(t, err, "the connection was reset")
	resets := 0
	for _, c := range e.sim.Stats().Calls {
		if c.System == "inventory" && c.Status == 0 {
			resets += c.Count
		}
	}
	require.GreaterOrEqual(t, resets, 1, "resets are counted with status 0")

	require.NoError(t, e.sim.SetFaults(fakesource.Inventory, fakesource.Faults{SlowBodyBytesPerSec: 4000}))
	sf := e.sf()
	start = time.Now()
	req, err = http.NewRequest("GET", e.url+"/v2/locations", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.cr.Inventory.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	first := make([]byte, 1)
	_, err = io.ReadFull(resp.Body, first) // the answer is trickling now
	require.NoError(t, err)
	quick := time.Now()
	code, _, _ = sf.do("GET", "/services/data/v59.0/sobjects/Account/"+mustSeed(t, e, "Account", 0), nil)
	require.Equal(t, http.StatusOK, code)
	require.Less(t, time.Since(quick), 250*time.Millisecond, "a trickling answer does not hold up other calls")
	rest, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	body := append(first, rest...)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Greater(t, len(body), 1000)
	require.GreaterOrEqual(t, time.Since(start), time.Duration(len(body)/400-1)*100*time.Millisecond, "the body trickled")
	require.NoError(t, e.sim.SetFaults("", fakesource.Faults{}))
}

func TestStaffEditsResetAndStats(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctl := &client{t: t, base: e.url}
	id := mustSeed(t, e, "Case", 5)
	seed, err := e.sim.Record(fakesource.Salesforce, "Case", id)
	require.NoError(t, err)

	e.clock.Advance(time.Second)
	code, _, body := ctl.do("PATCH", "/_sim/salesforce/Case/"+id, map[string]any{"Status": "Waiting on Customer"})
	require.Equal(t, http.StatusOK, code, string(body))
	require.Equal(t, "Waiting on Customer", decode(t, body)["Status"])
	code, _, body = ctl.do("PATCH", "/_sim/salesforce/Case/"+id, map[string]any{"Bogus": 1})
	require.Equal(t, http.StatusBadRequest, code, string(body))
	code, _, _ = ctl.do("PATCH", "/_sim/salesforce/Case/500000000000000AAA", map[string]any{"Status": "New"})
	require.Equal(t, http.StatusNotFound, code)
	code, _, _ = ctl.do("PATCH", "/_sim/nope/Case/"+id, map[string]any{"Status": "New"})
	require.Equal(t, http.StatusNotFound, code)

	stamp := "2026-01-05T11:00:00Z"
	var ids []string
	for range 3 {
		code, _, body = ctl.do("POST", "/_sim/accounting/Customer?modstamp="+stamp, map[string]any{"DisplayName": "Same Stamp " + time.Now().String()})
		require.Equal(t, http.StatusCreated, code, string(body))
		rec := decode(t, body)["record"].(map[string]any)
		require.Equal(t, "2026-01-05T03:00:00-08:00", rec["MetaData"].(map[string]any)["LastUpdatedTime"], "created on the fixed stamp")
		ids = append(ids, decode(t, body)["id"].(string))
	}
	code, _, _ = ctl.do("DELETE", "/_sim/inventory/Order/"+mustSeedSys(t, e, fakesource.Inventory, "Order", 0), nil)
	require.Equal(t, http.StatusNoContent, code)
	code, _, _ = e.sf().do("GET", "/services/data/v59.0/sobjects/Case/"+id, nil)
	require.Equal(t, http.StatusOK, code)

	code, _, body = ctl.do("GET", "/_sim/stats", nil)
	require.Equal(t, http.StatusOK, code)
	var st fakesource.Stats
	require.NoError(t, json.Unmarshal(body, &st))
	require.Positive(t, st.CallCount("salesforce", "sobjects/{Obj}/{Id}", 200))
	before := e.sim.Stats().Records

	code, _, _ = ctl.do("POST", "/_sim/reset", nil)
	require.Equal(t, http.StatusOK, code)
	back, err := e.sim.Record(fakesource.Salesforce, "Case", id)
	require.NoError(t, err)
	require.Equal(t, seed, back, "reset restores the seed")
	_, err = e.sim.Record(fakesource.Accounting, "Customer", ids[0])
	require.ErrorIs(t, err, fakesource.ErrNotFound)
	after := e.sim.Stats()
	require.Empty(t, after.Calls)
	require.Equal(t, before["accounting"]["Customer"]-3, after.Records["accounting"]["Customer"])
	require.Equal(t, before["inventory"]["Order"]+1, after.Records["inventory"]["Order"])
}

func mustSeedSys(t *testing.T, e *env, system, object string, i int) string {
	t.Helper()
	id, err := e.sim.SeedID(system, object, i)
	require.NoError(t, err)
	return id
}

// hookSink records webhook deliveries.
type hookSink struct {
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
	fail int // answer 500 to this many deliveries first
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fail > 0 {
		h.fail--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	h.got = append(h.got, r)
	h.body = append(h.body, b)
}

func (h *hookSink) find(pred func(r *http.Request, body []byte) bool) (*http.Request, []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, r := range h.got {
		if pred(r, h.body[i]) {
			return r, h.body[i]
		}
	}
	return nil, nil
}

func TestWebhooksAreSignedAndRetried(t *testing.T) {
	t.Parallel()
	sink := &hookSink{fail: 1}
	hooks := httptest.NewServer(sink)
	t.Cleanup(hooks.Close)
	const secret = "s3cret"
	e := setup(t, func(o *fakesource.Options) {
		o.WebhookURL = hooks.URL + "/hooks/{system}"
		o.WebhookSecret = secret
	})
	order := mustSeedSys(t, e, fakesource.Inventory, "Order", 1)
	require.NoError(t, e.sim.StaffEdit(fakesource.Inventory, "Order", order, map[string]any{"state": "COMPLETED"}))
	require.NoError(t, e.sim.StaffEdit(fakesource.Accounting, "Invoice", "3", map[string]any{"EmailStatus": "EmailSent"}))
	caseID := mustSeed(t, e, "Case", 1)
	require.NoError(t, e.sim.StaffEdit(fakesource.Salesforce, "Case", caseID, map[string]any{"Status": "Working"}))

	var sq, qb, sf *http.Request
	var sqBody, qbBody, sfBody []byte
	require.Eventually(t, func() bool {
		sq, sqBody = sink.find(func(r *http.Request, _ []byte) bool { return r.URL.Path == "/hooks/inventory" })
		qb, qbBody = sink.find(func(r *http.Request, _ []byte) bool { return r.URL.Path == "/hooks/accounting" })
		sf, sfBody = sink.find(func(r *http.Request, _ []byte) bool { return r.URL.Path == "/hooks/salesforce/"+secret })
		return sq != nil && qb != nil && sf != nil
	}, 10*time.Second, 10*time.Millisecond, "all three notifications arrive, the first after a retry")

	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(hooks.URL + "/hooks/inventory"))
	mac.Write(sqBody)
	require.Equal(t, base64.StdEncoding.EncodeToString(mac.Sum(nil)), sq.Header.Get("x-square-hmacsha256-signature"))
	var ev map[string]any
	require.NoError(t, json.Unmarshal(sqBody, &ev))
	require.Equal(t, "order.updated", ev["type"])
	require.Equal(t, order, ev["data"].(map[string]any)["id"])

	mac = hmac.New(sha256.New, []byte(secret))
	mac.Write(qbBody)
	require.Equal(t, base64.StdEncoding.EncodeToString(mac.Sum(nil)), qb.Header.Get("intuit-signature"))
	require.Contains(t, string(qbBody), `"name":"Invoice"`)
	require.Contains(t, string(qbBody), `"operation":"Update"`)
	require.Equal(t, fakesource.WebhookSignature(secret, "", qbBody), qb.Header.Get("intuit-signature"))

	require.Contains(t, sf.Header.Get("Content-Type"), "text/xml")
	require.Contains(t, string(sfBody), "<OrganizationId>"+e.cr.Salesforce.Realm+"</OrganizationId>")
	require.Contains(t, string(sfBody), "<sf:Id>"+caseID+"</sf:Id>")
	require.Contains(t, string(sfBody), `xsi:type="sf:Case"`)
	require.Empty(t, sf.Header.Get("x-square-hmacsha256-signature")+sf.Header.Get("intuit-signature"), "the path, not a signature, carries the secret")

	require.Eventually(t, func() bool {
		w := e.sim.Stats().Webhooks
		return w.Delivered == 3 && w.Sent == 3 && w.Failed == 0
	}, 5*time.Second, 10*time.Millisecond)
}

func TestCredentialsEndpoint(t *testing.T) {
	t.Parallel()
	e := setup(t)
	code, _, body := (&client{t: t, base: e.url}).do("GET", "/_sim/credentials", nil)
	require.Equal(t, http.StatusOK, code)
	var cr fakesource.Credentials
	require.NoError(t, json.Unmarshal(body, &cr))
	require.Equal(t, e.cr, cr)
	require.True(t, strings.HasPrefix(cr.Salesforce.TokenURL, e.url))
	_, err := url.Parse(cr.Accounting.BaseURL)
	require.NoError(t, err)
}

func TestStaffChangesKeepDerivedFields(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := mustSeed(t, e, "Case", 0)
	require.NoError(t, e.sim.StaffEdit(fakesource.Salesforce, "Case", id, map[string]any{"Status": "Closed"}))
	rec, err := e.sim.Record(fakesource.Salesforce, "Case", id)
	require.NoError(t, err)
	require.Equal(t, true, rec["IsClosed"])
	require.NotNil(t, rec["ClosedDate"])

	staff, err := e.sim.CreateRecord(fakesource.Salesforce, "Case", map[string]any{"Subject": "by staff", "Portico_Action_Id__c": "act-staff"})
	require.NoError(t, err)
	code, _, body := e.sf().do("PATCH", "/services/data/v59.0/sobjects/Case/Portico_Action_Id__c/act-staff", map[string]any{"Priority": "High"})
	require.Equal(t, http.StatusOK, code, string(body))
	require.Equal(t, staff, decode(t, body)["id"], "an upsert finds a staff-created record by its external id")

	inv, err := e.sim.CreateRecord(fakesource.Accounting, "Invoice", map[string]any{"CustomerRef": map[string]any{"value": "2"},
		"Line": []any{map[string]any{"Amount": 40.0, "DetailType": "SalesItemLineDetail"}}})
	require.NoError(t, err)
	got, err := e.sim.Record(fakesource.Accounting, "Invoice", inv)
	require.NoError(t, err)
	require.EqualValues(t, 40, got["TotalAmt"])
	require.EqualValues(t, 40, got["Balance"])
	require.NotEmpty(t, got["DocNumber"])

	_, err = e.sim.CreateRecord(fakesource.Accounting, "Invoice", map[string]any{"Line": []any{}})
	require.ErrorIs(t, err, fakesource.ErrInvalid)
	_, err = e.sim.CreateRecord(fakesource.Salesforce, "Nope", map[string]any{})
	require.ErrorIs(t, err, fakesource.ErrNotFound)
}

// TestWebhookEventIDsDifferAcrossRuns: receivers drop an event id they have
// seen, so two runs of the same seed (a restarted portico dev) must not
// send the same ids.
func TestWebhookEventIDsDifferAcrossRuns(t *testing.T) {
	t.Parallel()
	eventID := func() string {
		sink := &hookSink{}
		hooks := httptest.NewServer(sink)
		t.Cleanup(hooks.Close)
		e := setup(t, func(o *fakesource.Options) { o.WebhookURL = hooks.URL + "/hooks/{system}" })
		order := mustSeedSys(t, e, fakesource.Inventory, "Order", 1)
		require.NoError(t, e.sim.StaffEdit(fakesource.Inventory, "Order", order, map[string]any{"state": "COMPLETED"}))
		var body []byte
		require.Eventually(t, func() bool {
			_, body = sink.find(func(r *http.Request, _ []byte) bool { return r.URL.Path == "/hooks/inventory" })
			return body != nil
		}, 10*time.Second, 10*time.Millisecond)
		var ev struct {
			EventID string `json:"event_id"`
		}
		require.NoError(t, json.Unmarshal(body, &ev))
		require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$`, ev.EventID)
		return ev.EventID
	}
	require.NotEqual(t, eventID(), eventID())
}
