package mapping

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestFastTimeMatchesTimeParse(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"2024-05-01T10:00:00.000+0000", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00.123456789Z",
		"2024-05-10T13:45:00-07:00", "2024-12-31T23:59:59.5+05:30", "2024-02-29T00:00:00Z",
	} {
		got, ok := fastTime(s)
		require.True(t, ok, s)
		var want time.Time
		var err error
		for _, l := range timeLayouts[:2] {
			if want, err = time.Parse(l, s); err == nil {
				break
			}
		}
		require.NoError(t, err, s)
		require.True(t, want.Equal(got), "%s: %s vs %s", s, got, want)
		require.Equal(t, want.UTC().Format(time.RFC3339Nano), string(appendUTC(nil, got)))
	}
	for _, s := range []string{"2023-02-29T00:00:00Z", "2024-13-01T00:00:00Z", "2024-05-01T10:00:00", "2024-05-01T10:00:00.Z", "2024-05-01 10:00:00Z", "2024-05-01T10:00:00+25"} {
		_, ok := fastTime(s)
		require.False(t, ok, s)
	}
	v, err := coerce(TypeDateTime, "2024-05-01T10:00:00Z")
	require.NoError(t, err)
	require.Equal(t, "2024-05-01T10:00:00Z", v)
	v, err = coerce(TypeDateTime, "2024-05-01T10:00:00.000+0200")
	require.NoError(t, err)
	require.Equal(t, "2024-05-01T08:00:00Z", v)
}
