package writeback

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the write-back's Prometheus series. A nil *Metrics records
// nothing.
type Metrics struct {
	actions     *prometheus.CounterVec
	latency     prometheus.Histogram
	authFailing *prometheus.GaugeVec
}

// NewMetrics registers the write-back series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_writeback_actions_total",
			Help: "Customer actions entering a state (pending when accepted; applied, conflict, failed, rejected when settled).",
		}, []string{"kind", "state"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "portico_writeback_latency_seconds",
			Help:    "Time from accepting an action to its being applied at the source.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		authFailing: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "portico_writeback_auth_failing",
			Help: "1 while a connection's actions wait because re-authentication failed: an operator must reconnect it.",
		}, []string{"connection"}),
	}
	reg.MustRegister(m.actions, m.latency, m.authFailing)
	return m
}

func (m *Metrics) transition(kind, state string) {
	if m != nil {
		m.actions.WithLabelValues(kind, state).Inc()
	}
}

func (m *Metrics) applied(kind string, since time.Time) {
	if m != nil {
		m.actions.WithLabelValues(kind, StateApplied).Inc()
		m.latency.Observe(time.Since(since).Seconds())
	}
}

func (m *Metrics) auth(connection string, failing bool) {
	if m == nil {
		return
	}
	v := 0.0
	if failing {
		v = 1
	}
	m.authFailing.WithLabelValues(connection).Set(v)
}
