package privacy

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/porticohq/portico/connectors"
	"github.com/porticohq/portico/internal/config"
)

// InsertFunc inserts a River job in the caller's transaction (a River
// client's InsertTx).
type InsertFunc func(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)

// Options are the service's dependencies.
type Options struct {
	Pool     *pgxpool.Pool
	TenantID int64
	Registry *Registry
	// Insert queues the export job with its request.
	Insert InsertFunc
	// Connectors are the opened connections by name, asked to erase
	// their records where they can (connectors.ErasureRequester).
	Connectors map[string]connectors.Connector
	Config     config.PrivacyConfig
	Logger     *slog.Logger
}

// Service runs exports, erasures and the retention purge.
type Service struct{ o Options }

// New returns the service.
func New(o Options) *Service {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = &Registry{}
	}
	if o.Config.ExportTTL <= 0 {
		o.Config.ExportTTL = 24 * time.Hour
	}
	return &Service{o: o}
}

// Registry is the service's parts, for the subsystem that adds one.
func (s *Service) Registry() *Registry { return s.o.Registry }

// TenantID is the tenant the service acts in.
func (s *Service) TenantID() int64 { return s.o.TenantID }
