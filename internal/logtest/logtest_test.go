package logtest_test

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/logtest"
)

func TestRecorderFindsRepeatedKeys(t *testing.T) {
	t.Parallel()
	rec := logtest.New()
	log := rec.Logger().With(slog.String("connection", "crm"))
	log.Info("once", "object", "Case")
	log.Info("twice", "connection", "crm")
	log.WithGroup("g").Info("grouped", "connection", "crm", slog.Group("sub", "x", 1))
	log.Debug("debug is recorded too")

	recs := rec.Records()
	require.Len(t, recs, 4)
	require.Equal(t, []string{"connection", "object"}, recs[0].Keys())
	require.Equal(t, []string{"connection"}, recs[1].DuplicateKeys())
	require.Equal(t, []string{"connection", "g.connection", "g.sub.x"}, recs[2].Keys(), "a group's keys are its own")
	require.Len(t, rec.Duplicates(), 1)
	require.Len(t, rec.Matching("debug"), 1)
	v, ok := recs[0].Value("object")
	require.True(t, ok)
	require.Equal(t, "Case", v.String())
}
