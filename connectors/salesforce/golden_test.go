package salesforce

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/connectors/conntest"
)

var fixture = conntest.Fixture

// goldenError is declared here so that its table's rows may leave out
// the field names.
type goldenError conntest.GoldenError

// TestGoldenErrors maps every recorded error body to its class.
func TestGoldenErrors(t *testing.T) {
	t.Parallel()
	cases := []goldenError{
		{"expired_session_response.json", 401, connectors.ErrAuthExpired, "", "Session expired or invalid"},
		{"query_error_response.json", 400, connectors.ErrInvalid, "INVALID_FIELD", "error_message"},
		{"write_error_response.json", 400, connectors.ErrInvalid, "INVALID_FIELD", "No such column 'foo' on sobject of type Bar"},
		{"composite_sobjects_error_response.json", 400, connectors.ErrInvalid, "INVALID_FIELD", "Json Deserialization failed"},
		{"composite_sobjects_destroy_bad_request_response.json", 400, connectors.ErrInvalid, "REQUIRED_FIELD_MISSING", "At least 1 Id is required."},
		{"search_error_response.json", 400, connectors.ErrInvalid, "MALFORMED_SEARCH", "No search term found"},
		{"delete_error_response.json", 404, connectors.ErrNotFound, "", "external ID field does not exist or is not accessible: rid"},
		{"upsert_error_response.json", 404, connectors.ErrNotFound, "", "Namez"},
		{"sobject_find_error_response.json", 404, connectors.ErrNotFound, "", "23foo"},
		{"sobject_describe_error_response.json", 404, connectors.ErrNotFound, "", "The requested resource does not exist"},
		{"upsert_multiple_error_response.json", 300, connectors.ErrInvalid, "MULTIPLE_CHOICES", "/services/data/v23.0/sobjects/Whizbang/bar"},
	}
	for _, tc := range cases {
		t.Run(tc.File, func(t *testing.T) {
			err := classify(&http.Response{StatusCode: tc.Status, Header: http.Header{}}, fixture(t, tc.File))
			conntest.RequireOnlyClass(t, err, tc.Class)
			require.Contains(t, err.Error(), tc.Detail)
			if tc.Code != "" {
				var ie *connectors.InvalidError
				require.ErrorAs(t, err, &ie)
				require.Equal(t, tc.Code, ie.Code)
			}
		})
	}
}

func TestClassifyCodes(t *testing.T) {
	t.Parallel()
	body := func(code string, fields ...string) []byte {
		b, _ := json.Marshal([]apiError{{Message: "msg for " + code, ErrorCode: code, Fields: fields}})
		return b
	}
	h := http.Header{}
	err := classify(&http.Response{StatusCode: 403, Header: h}, body("REQUEST_LIMIT_EXCEEDED"))
	var rl *connectors.RateLimitedError
	require.ErrorAs(t, err, &rl)
	require.Equal(t, defaultLimitWait, rl.RetryAfter)

	h.Set("Retry-After", "7")
	err = classify(&http.Response{StatusCode: 403, Header: h}, body("REQUEST_LIMIT_EXCEEDED"))
	require.ErrorAs(t, err, &rl)
	require.Equal(t, 7*time.Second, rl.RetryAfter)

	for _, code := range []string{"DUPLICATE_VALUE", "INVALID_FIELD", "REQUIRED_FIELD_MISSING", "FIELD_CUSTOM_VALIDATION_EXCEPTION"} {
		err := classify(&http.Response{StatusCode: 400, Header: http.Header{}}, body(code, "Subject"))
		var ie *connectors.InvalidError
		require.ErrorAs(t, err, &ie, code)
		require.Equal(t, "Subject", ie.Field)
		require.Equal(t, "msg for "+code, ie.Msg, "the vendor's message is kept for the customer")
	}
	require.ErrorIs(t, classify(&http.Response{StatusCode: 404, Header: http.Header{}}, body("ENTITY_IS_DELETED")), connectors.ErrNotFound)
	require.ErrorIs(t, classify(&http.Response{StatusCode: 412, Header: http.Header{}}, nil), connectors.ErrConflict)
	require.ErrorIs(t, classify(&http.Response{StatusCode: 503, Header: http.Header{}}, []byte("<html>down</html>")), connectors.ErrUnavailable)
	require.ErrorIs(t, classify(&http.Response{StatusCode: 500, Header: http.Header{}}, body("UNKNOWN_EXCEPTION")), connectors.ErrUnavailable)
}

func TestGoldenQueryPages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file    string
		done    bool
		next    string
		records int
	}{
		{"query_success_response.json", true, "", 1},
		{"query_empty_response.json", true, "", 0},
		{"query_paginated_first_page_response.json", false, "/services/data/v26.0/query/01gD", 1},
		{"query_paginated_last_page_response.json", true, "", 1},
		{"query_aggregate_success_response.json", true, "", 3},
	}
	for _, tc := range cases {
		var qr queryResult
		require.NoError(t, json.Unmarshal(fixture(t, tc.file), &qr), tc.file)
		require.Equal(t, tc.done, qr.Done, tc.file)
		require.Equal(t, tc.next, qr.NextRecordsURL, tc.file)
		require.Len(t, qr.Records, tc.records, tc.file)
		for _, raw := range qr.Records {
			// These recorded rows select no Id: a pull must refuse them
			// rather than store records it cannot key.
			_, err := toRecord("Whizbang", raw)
			require.ErrorIs(t, err, connectors.ErrPermanent, tc.file)
		}
	}
}

func TestGoldenRecordStamps(t *testing.T) {
	t.Parallel()
	rec, err := toRecord("Case", json.RawMessage(`{"attributes":{"type":"Case"},"Id":"500x","SystemModstamp":"2011-07-07T00:37:00.000+0000","LastModifiedDate":"2011-07-06T00:00:00.000+0000"}`))
	require.NoError(t, err)
	require.Equal(t, "500x", rec.ID)
	require.Equal(t, time.Date(2011, 7, 7, 0, 37, 0, 0, time.UTC), rec.Modified)
	require.Equal(t, "2011-07-07T00:37:00.000Z", rec.Version)
	back, err := parseStamp(rec.Version)
	require.NoError(t, err)
	require.Equal(t, rec.Modified, back, "a version parses back to its stamp")
}

func TestGoldenDeleted(t *testing.T) {
	t.Parallel()
	dels, err := parseDeleted(fixture(t, "get_deleted_success_response.json"))
	require.NoError(t, err)
	require.Equal(t, []connectors.Deletion{{ID: "a00D0000008pQRAIA2", DeletedAt: time.Date(2013, 5, 7, 22, 7, 19, 0, time.UTC)}}, dels)
}

func TestGoldenTokensAndSaves(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]string{
		"auth_success_response.json":    "00Dx0000000BV7z!AR8AQAxo9UfVkh8AlV0Gomt9Czx9LjHnSSpwBMmbRcgKFmxOtvxjTrKW19ye6PE3Ds1eQz3z8jr3W7_VbWmEu4Q8TVGSTHxs",
		"refresh_success_response.json": "refreshed_access_token",
		"reauth_success_response.json":  "new_access_token",
	} {
		var tr tokenResponse
		require.NoError(t, json.Unmarshal(fixture(t, file), &tr))
		require.Equal(t, want, tr.AccessToken, file)
		require.Equal(t, "https://na1.salesforce.com", tr.InstanceURL, file)
	}
	for _, file := range []string{"auth_error_response.json", "refresh_error_response.json"} {
		var tr tokenResponse
		body := fixture(t, file)
		require.NoError(t, json.Unmarshal(body, &tr))
		err := tokenError(&http.Response{StatusCode: 400, Header: http.Header{}}, tr, body)
		require.ErrorIs(t, err, connectors.ErrAuthExpired, file)
		require.Contains(t, err.Error(), "invalid_grant", file)
	}
	for file, id := range map[string]string{"create_success_response.json": "some_id", "upsert_created_success_response.json": "foo"} {
		var sr saveResult
		require.NoError(t, json.Unmarshal(fixture(t, file), &sr))
		require.Equal(t, id, sr.ID)
		require.True(t, sr.Success)
		require.Empty(t, sr.Errors)
	}
}

func TestSOQL(t *testing.T) {
	t.Parallel()
	since := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	q := buildSOQL("Case", []string{"Id", "SystemModstamp"}, since, time.Time{}, "", 500)
	require.Equal(t, "SELECT Id, SystemModstamp FROM Case WHERE SystemModstamp >= 2025-03-01T10:00:00.000Z ORDER BY SystemModstamp, Id LIMIT 500", q)
	q = buildSOQL("Case", []string{"Id"}, time.Time{}, since, "500'x", 10)
	require.Equal(t, `SELECT Id FROM Case WHERE SystemModstamp = 2025-03-01T10:00:00.000Z AND Id > '500\'x' ORDER BY SystemModstamp, Id LIMIT 10`, q)
	q = buildSOQL("Case", []string{"Id"}, time.Time{}, since, "", 10)
	require.Equal(t, `SELECT Id FROM Case WHERE SystemModstamp > 2025-03-01T10:00:00.000Z ORDER BY SystemModstamp, Id LIMIT 10`, q)
}
