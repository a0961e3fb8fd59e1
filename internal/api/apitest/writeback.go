package apitest

import (
	"context"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/config"
	"github.com/porticohq/portico/internal/jobs"
	"github.com/porticohq/portico/internal/mapping"
	"github.com/porticohq/portico/internal/writeback"
)

// Writeback is a write-back service that accepts actions, each committed
// with its River job, and applies none: the shipped connections exist but
// have no connector, and no worker runs.
func Writeback(t testing.TB, pool *pgxpool.Pool, set *mapping.Set) *writeback.Service {
	t.Helper()
	var rc *river.Client[pgx.Tx]
	wb := writeback.New(writeback.Options{
		Pool: pool, Mappings: set,
		Connectors: map[string]connectors.Connector{"salesforce": nil, "accounting": nil, "inventory": nil},
		Insert: func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
			return rc.InsertTx(ctx, tx, args, opts)
		},
	})
	reg := jobs.NewRegistry()
	writeback.Register(reg, wb)
	var err error
	rc, err = jobs.NewClient(pool, config.Default().River, reg, jobs.InsertOnly, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	return wb
}
