package textcheck_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/textcheck"
)

func TestJSON(t *testing.T) {
	const (
		nul    = "must not contain a NUL character"
		utf8   = "must be valid UTF-8 text"
		tooBig = "is a number out of range"
	)
	for body, want := range map[string]textcheck.Problem{
		`{"subject":"a\u0000b"}`:                      {"subject", nul},
		`{"items":[{"name":"ok"},{"name":"\u0000"}]}`: {"items[1].name", nul},
		`{"a":{"b":["x","y\u0000"]}}`:                 {"a.b[1]", nul},
		`{"a\u0000":1}`:                               {`"a\x00"`, nul},
		"{\"subject\":\"caf\xe9\"}":                   {"subject", utf8},
		"{\"a\":1,\"email\":\"\xff@x.test\"}":         {"email", utf8},
		"{\"tags\":[\"ok\",\"\xc3\"]}":                {"tags[1]", utf8},
		"{\"k\xff\":\"v\"}":                           {"\"k\uFFFD\"", utf8},
		`{"subject":"\ud800"}`:                        {"subject", utf8},
		`{"subject":"x\udc00y"}`:                      {"subject", utf8},
		`{"subject":"\ud83d\u0041"}`:                  {"subject", utf8},
		`{"subject":"\ud83d"}`:                        {"subject", utf8},
		`{"subject":1e400}`:                           {"subject", tooBig},
		`{"a":[1,{"b":-1E+999}]}`:                     {"a[1].b", tooBig},
		`[true,null,"\u0000"]`:                        {"[2]", nul},
	} {
		got, bad := textcheck.JSON([]byte(body))
		require.True(t, bad, body)
		require.Equal(t, want, got, body)
	}
	for _, body := range []string{
		`{"subject":"fine"}`, `{"subject":"\\u0000 is text"}`, `not json \u0000`,
		`{"subject":"\ud83d\ude00 and \\ud800 and é"}`, "{\"subject\":\"caf\u00e9\"}",
		`{"n":1e308,"m":1e-400,"big":123456789012345678901234567890}`,
		`{"a":{"b":[{"c":[]},{}]},"d":"e"}`,
	} {
		_, bad := textcheck.JSON([]byte(body))
		require.False(t, bad, body)
	}
	require.True(t, textcheck.Valid("ünïcode"))
	require.False(t, textcheck.Valid("a\x00b"))
	require.False(t, textcheck.Valid("\xff"))
}
