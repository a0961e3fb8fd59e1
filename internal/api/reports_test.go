package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// What staff script under /admin/reports, through openapi.json: the
// figures as JSON and CSV, by session and by an admin:read token; the
// portal's own reads record the events the self-service figures count.
func TestContractAdminReports(t *testing.T) {
	t.Parallel()
	e := setup(t)
	customer := e.user("ada@alpha.example", Alpha, []string{"account_admin", "member"}, false, false) // a sign-in
	staff := e.user("ops@operator.example", "", []string{"operator_admin"}, false, true)
	caseID := e.ids[Alpha]["case"][0]
	orderID := e.ids[Alpha]["order"][0]
	require.Equal(t, http.StatusOK, customer.get("/api/v1/cases/"+caseID).code)
	require.Equal(t, http.StatusOK, customer.get("/api/v1/orders/"+orderID).code)
	require.Equal(t, http.StatusOK, customer.get("/api/v1/cases").code, "a list is not a lookup")
	require.Equal(t, http.StatusNotFound, customer.get("/api/v1/cases/500X000000000000").code, "nor a miss")
	res := customer.post("/api/v1/cases/"+caseID+"/comments", map[string]any{"body": "thanks"})
	require.Equal(t, http.StatusAccepted, res.code, "nor a write: %s", res.body)
	e.events.Flush(t.Context())

	today := time.Now().UTC().Format(time.DateOnly)
	res = staff.get("/admin/reports/self_service?account=" + Alpha)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	body := res.json(t)
	require.Equal(t, []any{"day", "account_id", "knowledge_views", "status_lookups", "cases_opened", "self_service_ratio"}, body["columns"])
	var lookups float64
	for _, row := range body["rows"].([]any) {
		if r := row.([]any); r[0] == today {
			lookups += r[3].(float64)
		}
	}
	require.Equal(t, 2.0, lookups, "the case and the order read today: %s", res.body)

	res = staff.get("/admin/reports/active_users?format=csv&from=" + today)
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.Equal(t, "text/csv; charset=utf-8", res.header.Get("Content-Type"))
	require.Equal(t, "day,account_id,daily,weekly,monthly\n"+today+","+Alpha+",1,1,1\n", string(res.body), "the customer signed in and commented")

	reader := staff.token(t, "admin:read")
	res = reader.do("GET", "/admin/reports/writeback", nil, http.Header{"Accept": {"text/csv"}})
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	require.True(t, strings.HasPrefix(string(res.body), "day,account_id,submitted,applied,conflict,failed,p50_seconds,p99_seconds\n"), string(res.body))
	require.Equal(t, http.StatusOK, reader.get("/admin/reports").code)
	res = reader.get("/admin/reports/workflows?from=2026-02-30")
	require.Equal(t, http.StatusBadRequest, res.code, string(res.body))
	require.Equal(t, []string{"from"}, fieldPaths(t, res))
	require.Equal(t, http.StatusNotFound, reader.get("/admin/reports/revenue").code)
	require.Equal(t, http.StatusForbidden, customer.get("/admin/reports/activation").code, "staff only")
	require.Equal(t, http.StatusForbidden, customer.token(t, "portal:read").get("/admin/reports/activation").code)
}
