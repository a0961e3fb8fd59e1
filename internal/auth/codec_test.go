package auth

import (
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"
)

func TestSessionCodec(t *testing.T) {
	deadline := time.Date(2026, 11, 25, 12, 0, 0, 123, time.UTC)
	values := map[string]any{keySID: int64(1) << 60, keyCSRF: "tok\"en", keyAuthAt: int64(-5)}
	b, err := sessionCodec{}.Encode(deadline, values)
	require.NoError(t, err)
	gotDeadline, got, err := sessionCodec{}.Decode(b)
	require.NoError(t, err)
	require.True(t, deadline.Equal(gotDeadline))
	require.Equal(t, values, got, "int64 stay int64, strings stay strings")

	// Sessions stored before this codec (gob) still load.
	old, err := scs.GobCodec{}.Encode(deadline, values)
	require.NoError(t, err)
	_, got, err = sessionCodec{}.Decode(old)
	require.NoError(t, err)
	require.Equal(t, values, got)

	_, err = sessionCodec{}.Encode(deadline, map[string]any{"n": 1.5})
	require.ErrorContains(t, err, `session value "n" is a float64`)
	_, _, err = sessionCodec{}.Decode([]byte(`{"ints":`))
	require.Error(t, err)
}
