package auth_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/auth"
)

func TestPasswordPolicy(t *testing.T) {
	t.Parallel()
	for pw, want := range map[string]string{
		"short-pw":                     "at least 12",
		"password1234":                 "too common",
		"Password1234":                 "too common",
		"ana.long@acme.test":           "your email",
		strings.Repeat("x", 300):       "at most 256",
		"violet-harbour-lantern":       "",
		"ünïcödé-pässwörd":             "",
		"éééééééééééé":                 "", // 12 runes, 24 bytes
		"ééééééééééé":                  "at least 12",
		"correct horse battery staple": "too common",
	} {
		err := auth.CheckPassword(pw, "ana.long@acme.test")
		if want == "" {
			require.NoError(t, err, pw)
		} else {
			require.ErrorContains(t, err, want, pw)
		}
	}
}

func TestHashPassword(t *testing.T) {
	t.Parallel()
	hash, err := auth.HashPassword(goodPassword, auth.DefaultHashParams)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$"), hash)
	again, err := auth.HashPassword(goodPassword, auth.DefaultHashParams)
	require.NoError(t, err)
	require.NotEqual(t, hash, again, "salted")

	ok, err := auth.VerifyPassword(goodPassword, hash)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = auth.VerifyPassword(goodPassword+"x", hash)
	require.NoError(t, err)
	require.False(t, ok)

	// Parameters come from the stored string, so old hashes keep working
	// when the defaults rise.
	cheap, err := auth.HashPassword(goodPassword, fastHash)
	require.NoError(t, err)
	ok, err = auth.VerifyPassword(goodPassword, cheap)
	require.NoError(t, err)
	require.True(t, ok)

	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=99999999,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=1024,t=1,p=1$!!$a2V5"} {
		_, err := auth.VerifyPassword("x", bad)
		require.Error(t, err, bad)
	}
}
