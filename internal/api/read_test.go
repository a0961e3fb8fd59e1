package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCasesReadWithCommentsAndTimeline(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c := e.user("ada@alpha.example", Alpha, []string{"member"}, false, false)

	res := c.get("/api/v1/cases")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	list := res.json(t)
	data := list["data"].([]any)
	require.Len(t, data, 3)
	first := data[0].(map[string]any)
	require.Contains(t, first, "freshness")
	require.NotEmpty(t, first["status_label"])

	res = c.get("/api/v1/cases/500A0000000000")
	require.Equal(t, http.StatusOK, res.code, string(res.body))
	got := res.json(t)
	require.Equal(t, "Received", got["status_label"])
	comments := got["comments"].([]any)
	require.Len(t, comments, 1, "the internal note stays hidden")
	require.Equal(t, "We are on it", comments[0].(map[string]any)["fields"].(map[string]any)["body"])
	require.NotEmpty(t, got["timeline"])

	// ETag and 304.
	etag := res.header.Get("ETag")
	require.NotEmpty(t, etag)
	again := c.do("GET", "/api/v1/cases/500A0000000000", nil, http.Header{"If-None-Match": {etag}})
	require.Equal(t, http.StatusNotModified, again.code)

	// Another account's case and a missing one answer the same 404.
	foreign := c.get("/api/v1/cases/500B0000000000")
	missing := c.get("/api/v1/cases/500X0000000000")
	require.Equal(t, http.StatusNotFound, foreign.code)
	require.Equal(t, foreign.body, missing.body)
}
