package accounting

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/conntest"
)

// interaction is one recorded request/response of a VCR cassette.
type interaction struct {
	Request struct {
		Method string `yaml:"method"`
		URI    string `yaml:"uri"`
	} `yaml:"request"`
	Response struct {
		Status struct {
			Code int `yaml:"code"`
		} `yaml:"status"`
		Headers map[string][]string `yaml:"headers"`
		Body    struct {
			String string `yaml:"string"`
		} `yaml:"body"`
	} `yaml:"response"`
}

func cassette(t *testing.T, name string) []interaction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "qbo_api", name))
	require.NoError(t, err)
	var c struct {
		Interactions []interaction `yaml:"http_interactions"`
	}
	require.NoError(t, yaml.Unmarshal(b, &c), name)
	require.NotEmpty(t, c.Interactions, name)
	return c.Interactions
}

func (i interaction) response() *http.Response {
	return &http.Response{StatusCode: i.Response.Status.Code, Header: http.Header(i.Response.Headers)}
}

var fixture = conntest.Fixture

// goldenError is declared here so that its table's rows may leave out
// the field names.
type goldenError conntest.GoldenError

// TestGoldenQueryPaging replays the recorded paged queries: every page
// parses, a full page asks for more, and the short (or empty) page ends.
func TestGoldenQueryPaging(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file   string
		entity string
		sizes  []int
		max    int
	}{
		{"all/vendors_by_5.yml", "Vendor", []int{0, 5, 5, 5, 5, 5, 1}, 5},
		{"all/alt_select.yml", "Customer", []int{0, 2, 2, 2, 0}, 2},
	}
	for _, tc := range cases {
		ints := cassette(t, tc.file)
		require.Len(t, ints, len(tc.sizes), tc.file)
		for i, it := range ints {
			body := []byte(it.Response.Body.String)
			require.NoError(t, classify(it.response(), body), "%s #%d", tc.file, i)
			items, err := queryItems(body, tc.entity)
			require.NoError(t, err)
			require.Len(t, items, tc.sizes[i], "%s #%d", tc.file, i)
			for _, raw := range items {
				rec, err := toRecord(tc.entity, raw)
				require.NoError(t, err)
				require.NotEmpty(t, rec.ID)
				require.NotEmpty(t, rec.Version, "SyncToken")
				require.False(t, rec.Modified.IsZero())
			}
			if i > 0 {
				last := i == len(ints)-1
				require.Equal(t, last, len(items) < tc.max, "%s #%d: only the last page is short", tc.file, i)
			}
		}
	}
}

func TestGoldenEntities(t *testing.T) {
	t.Parallel()
	create := cassette(t, "create/customer.yml")[0]
	rec, err := entityBody([]byte(create.Response.Body.String), "Customer")
	require.NoError(t, err)
	require.Equal(t, "70", rec.ID)
	require.Equal(t, "0", rec.Version)
	require.Equal(t, time.Date(2020, 9, 29, 12, 58, 16, 0, time.UTC), rec.Modified)
	require.Contains(t, create.Request.URI, "requestid=", "creates carry the idempotency key")

	get := cassette(t, "get/id.yml")[0]
	rec, err = entityBody([]byte(get.Response.Body.String), "Customer")
	require.NoError(t, err)
	require.Equal(t, "5", rec.ID)
	require.Equal(t, "1", rec.Version)

	upd := cassette(t, "update/customer.yml")
	before, err := entityBody([]byte(upd[0].Response.Body.String), "Customer")
	require.NoError(t, err)
	after, err := entityBody([]byte(upd[1].Response.Body.String), "Customer")
	require.NoError(t, err)
	require.Equal(t, "0", before.Version)
	require.Equal(t, "1", after.Version, "an update advances SyncToken")
	require.True(t, after.Modified.After(before.Modified))

	del := cassette(t, "delete/invoice.yml")
	rec, err = entityBody([]byte(del[1].Response.Body.String), "Invoice")
	require.NoError(t, err)
	require.Equal(t, "266", rec.ID)
	require.Contains(t, del[1].Request.URI, "operation=delete")
}

func TestGoldenFaults(t *testing.T) {
	t.Parallel()
	auth := cassette(t, "error/401.yml")[0]
	err := classify(auth.response(), []byte(auth.Response.Body.String))
	require.ErrorIs(t, err, connectors.ErrAuthExpired, "the lower-case fault envelope")
	require.Contains(t, err.Error(), "Token expired")

	bad := cassette(t, "error/400.yml")
	require.NoError(t, classify(bad[0].response(), []byte(bad[0].Response.Body.String)))
	err = classify(bad[1].response(), []byte(bad[1].Response.Body.String))
	var ie *connectors.InvalidError
	require.ErrorAs(t, err, &ie, "the capitalised Fault envelope")
	require.Equal(t, "4001", ie.Code)
	require.Contains(t, ie.Msg, "invalid context declaration: Custmoer")

	xmlCases := []goldenError{
		{"fault.xml", 400, connectors.ErrInvalid, "2050", "firstname"},
		{"customer_duplicate_error.xml", 400, connectors.ErrInvalid, "6240", ""},
		{"query_validation_error.xml", 400, connectors.ErrInvalid, "4001", ""},
		{"generic_error.xml", 500, connectors.ErrUnavailable, "", ""},
		{"generic_error.xml", 200, connectors.ErrUnavailable, "", ""}, // a fault in a 200 is still a fault
		{"throttle_exceeded_error.xml", 403, connectors.ErrRateLimited, "", ""},
		{"too_many_requests_error.xml", 429, connectors.ErrRateLimited, "", ""},
	}
	for _, tc := range xmlCases {
		err := classify(&http.Response{StatusCode: tc.Status, Header: http.Header{}}, fixture(t, "quickbooks-ruby/"+tc.File))
		conntest.RequireOnlyClass(t, err, tc.Class)
		if tc.Code != "" {
			require.ErrorAs(t, err, &ie, tc.File)
			require.Equal(t, tc.Code, ie.Code)
			require.Equal(t, tc.Detail, ie.Field)
		}
	}
	var rl *connectors.RateLimitedError
	require.ErrorAs(t, classify(&http.Response{StatusCode: 403, Header: http.Header{}}, fixture(t, "quickbooks-ruby/throttle_exceeded_error.xml")), &rl)
	require.Equal(t, throttleWait, rl.RetryAfter)
}

func TestStaleSyncTokenInBothEnvelopes(t *testing.T) {
	t.Parallel()
	upper := `{"Fault":{"Error":[{"Message":"Stale Object Error","Detail":"Stale Object Error : You and someone else edited the same Customer","code":"5010","element":""}],"type":"ValidationFault"},"time":"2020-09-29T06:00:07.195-07:00"}`
	lower := `{"fault":{"error":[{"message":"Stale Object Error","detail":"stale","code":"5010"}],"type":"ValidationFault"}}`
	for _, body := range []string{upper, lower} {
		for _, status := range []int{400, 200} {
			err := classify(&http.Response{StatusCode: status, Header: http.Header{}}, []byte(body))
			require.ErrorIs(t, err, connectors.ErrConflict, "status %d", status)
		}
	}
}

func TestGoldenCDC(t *testing.T) {
	t.Parallel()
	dels, err := parseCDC(fixture(t, "quickbooks-ruby/customer_changes.xml"), "Customer")
	require.NoError(t, err)
	require.Equal(t, []connectors.Deletion{{ID: "39", DeletedAt: time.Date(2014, 12, 9, 3, 36, 24, 0, time.UTC)}}, dels)

	dels, err = parseCDC(fixture(t, "quickbooks-ruby/change_data_capture_response.xml"), "Invoice")
	require.NoError(t, err)
	require.Equal(t, []connectors.Deletion{{ID: "65", DeletedAt: time.Date(2016, 4, 13, 14, 34, 31, 0, time.UTC)}}, dels)
	dels, err = parseCDC(fixture(t, "quickbooks-ruby/change_data_capture_response.xml"), "Bill")
	require.NoError(t, err)
	require.Empty(t, dels, "changed but not deleted")

	js := `{"CDCResponse":[{"QueryResponse":[{"Customer":[{"Id":"1","SyncToken":"3","MetaData":{"LastUpdatedTime":"2024-01-01T00:00:00-08:00"}},{"domain":"QBO","status":"Deleted","Id":"39","MetaData":{"LastUpdatedTime":"2014-12-08T19:36:24-08:00"}}],"startPosition":1,"maxResults":2}]}],"time":"2024-01-01T00:00:00.000-08:00"}`
	dels, err = parseCDC([]byte(js), "Customer")
	require.NoError(t, err)
	require.Equal(t, []connectors.Deletion{{ID: "39", DeletedAt: time.Date(2014, 12, 9, 3, 36, 24, 0, time.UTC)}}, dels)
}

func TestGoldenTokens(t *testing.T) {
	t.Parallel()
	var tr tokenResponse
	require.NoError(t, json.Unmarshal(fixture(t, "intuit-sdk/success_token_response.json"), &tr))
	require.Equal(t, "access_token", tr.AccessToken)
	require.Equal(t, "refresh_token", tr.RefreshToken)
	require.Equal(t, 3600, tr.ExpiresIn)

	body := fixture(t, "intuit-sdk/failure_token_response.json")
	tr = tokenResponse{}
	require.NoError(t, json.Unmarshal(body, &tr))
	err := tokenError(&http.Response{StatusCode: 400, Header: http.Header{}}, tr, body)
	require.ErrorIs(t, err, connectors.ErrAuthExpired)
}

func TestQuery(t *testing.T) {
	t.Parallel()
	require.Equal(t, "SELECT * FROM Invoice ORDERBY MetaData.LastUpdatedTime STARTPOSITION 1 MAXRESULTS 1000",
		buildQuery("Invoice", time.Time{}, 1, 1000))
	require.Equal(t, "SELECT * FROM Invoice WHERE MetaData.LastUpdatedTime >= '2025-03-01T10:00:00Z' ORDERBY MetaData.LastUpdatedTime STARTPOSITION 4 MAXRESULTS 10",
		buildQuery("Invoice", time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC), 4, 10))
}
