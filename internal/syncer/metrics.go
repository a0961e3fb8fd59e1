package syncer

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/porticohq/portico/internal/store"
)

// Metrics are the sync metrics. A nil *Metrics records nothing.
type Metrics struct {
	recordsVec *prometheus.CounterVec
	runs       *prometheus.CounterVec
	lag        *prometheus.Desc
	pool       *pgxpool.Pool
	tenant     int64
}

// NewMetrics registers the sync metrics on reg. The lag gauge is read from
// the cursors at scrape time, so every instance reports the same value.
func NewMetrics(reg prometheus.Registerer, pool *pgxpool.Pool, tenant int64) *Metrics {
	m := &Metrics{
		recordsVec: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_sync_records_total",
			Help: "Records stored by sync runs.",
		}, []string{"connection", "object"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_sync_runs_total",
			Help: "Sync runs by kind and result (succeeded or failed).",
		}, []string{"connection", "object", "kind", "result"}),
		lag: prometheus.NewDesc("portico_sync_lag_seconds",
			"Seconds since the cache last covered every change of the object.", []string{"connection", "object"}, nil),
		pool:   pool,
		tenant: tenant,
	}
	reg.MustRegister(m.recordsVec, m.runs, m)
	return m
}

func (m *Metrics) records(connection, object string, n int) {
	if m != nil {
		m.recordsVec.WithLabelValues(connection, object).Add(float64(n))
	}
}

func (m *Metrics) run(connection, object string, kind Kind, err error) {
	if m == nil {
		return
	}
	result := "succeeded"
	if err != nil {
		result = "failed"
	}
	m.runs.WithLabelValues(connection, object, string(kind), result).Inc()
}

// Describe implements prometheus.Collector for the lag gauge.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.lag }

// Collect implements prometheus.Collector for the lag gauge.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lags, err := store.SyncCursorLags(ctx, m.pool, m.tenant)
	if err != nil {
		return
	}
	for _, l := range lags {
		ch <- prometheus.MustNewConstMetric(m.lag, prometheus.GaugeValue, l.LagSeconds, l.Connection, l.Object)
	}
}
