package files_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/internal/dbtest"
	"github.com/porticohq/portico/internal/files"
	"github.com/porticohq/portico/internal/jobs"
)

// TestSweepJob: the sweep is scheduled only for a store that has content
// to sweep; its job removes the old orphans and says how many at INFO,
// and a failed sweep is a WARN, the job ending (the next run retries).
func TestSweepJob(t *testing.T) {
	t.Parallel()
	owner, url := dbtest.PoolURL(t)
	ctx := context.Background()
	reg := jobs.NewRegistry()
	files.RegisterSweep(reg, files.New(files.Options{Pool: owner}), files.SweepOptions{})
	require.Empty(t, reg.Periodic, "content in PostgreSQL: nothing to sweep")

	root := t.TempDir()
	blobs, err := files.NewDirBlobs(root)
	require.NoError(t, err)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	svc := files.New(files.Options{Pool: owner, Blobs: blobs, Logger: logger})
	files.RegisterSweep(reg, svc, files.SweepOptions{})
	require.Len(t, reg.Periodic, 1)

	key := randomKey(t)
	orphan(t, blobs, key)
	p := filepath.Join(root, key[:2], key[2:4], key)
	old := time.Now().Add(-3 * time.Hour)
	require.NoError(t, os.Chtimes(p, old, old))
	work := func(svc *files.Service) {
		t.Helper()
		w := rivertest.NewWorker(t, riverpgxv5.New(owner), &river.Config{}, &files.SweepWorker{Service: svc})
		require.NoError(t, pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
			_, err := w.Work(ctx, t, tx, files.SweepArgs{}, nil)
			return err
		}))
	}
	work(svc)
	require.NoFileExists(t, p)
	require.Contains(t, logs.String(), `level=INFO msg="files: swept orphan content" removed=1`)

	// Under the API's role the sweep refuses to run: a WARN.
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["role"] = "portico_api"
	api, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(api.Close)
	logs.Reset()
	work(files.New(files.Options{Pool: api, Blobs: blobs, Logger: logger}))
	require.Contains(t, logs.String(), `level=WARN msg="files: sweeping orphan content"`)
}
