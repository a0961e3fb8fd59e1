package app

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/mappings"
)

// TestWorkersSweepTheDirStore: a worker schedules the sweep of orphan
// content for the directory store; with content in PostgreSQL there is
// nothing to sweep and no job for it.
func TestWorkersSweepTheDirStore(t *testing.T) {
	t.Parallel()
	set, err := mapping.Load(mappings.FS())
	require.NoError(t, err)
	periodic := func(store string) int {
		cfg := config.Default()
		cfg.DatabaseURL = dbtest.URL(t)
		cfg.Files.Store = store
		cfg.Files.Dir = t.TempDir()
		a, err := Open(context.Background(), &cfg, slog.New(slog.DiscardHandler), Mode{Work: true}, Deps{Mappings: set})
		require.NoError(t, err)
		defer a.Close()
		return len(a.jobs.Periodic)
	}
	require.Equal(t, periodic("postgres")+1, periodic("dir"))
}
