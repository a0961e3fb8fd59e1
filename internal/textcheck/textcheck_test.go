package textcheck_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/textcheck"
)

func TestJSON(t *testing.T) {
	for body, want := range map[string]string{
		`{"subject":"a\u0000b"}`:                      "subject",
		`{"items":[{"name":"ok"},{"name":"\u0000"}]}`: "items[1].name",
		`{"a":{"b":["x","y\u0000"]}}`:                 "a.b[1]",
	} {
		got, bad := textcheck.JSON([]byte(body))
		require.True(t, bad, body)
		require.Equal(t, want, got, body)
	}
	for _, body := range []string{`{"subject":"fine"}`, `{"subject":"\\u0000 is text"}`, `not json \u0000`} {
		_, bad := textcheck.JSON([]byte(body))
		require.False(t, bad, body)
	}
	require.True(t, textcheck.Valid("ünïcode"))
	require.False(t, textcheck.Valid("a\x00b"))
	require.False(t, textcheck.Valid("\xff"))
}
