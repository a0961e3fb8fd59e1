package httpclient

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the series of every connection's client. Breaker state and
// quota are read at scrape time, so an open breaker whose timeout passed
// already shows as half-open.
type Metrics struct {
	requests *prometheus.CounterVec
	breaker  *prometheus.Desc
	quota    *prometheus.Desc

	mu      sync.Mutex
	clients map[string]*Client
}

// NewMetrics creates the series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := newMetrics()
	if err := reg.Register(m.requests); err != nil {
		return nil, err
	}
	if err := reg.Register(m); err != nil {
		return nil, err
	}
	return m, nil
}

func newMetrics() *Metrics {
	return &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_source_requests_total",
			Help: "Requests sent to source systems (every attempt), by connection and HTTP status or failure.",
		}, []string{"connection", "status"}),
		breaker: prometheus.NewDesc("portico_breaker_state",
			"Circuit breaker state per connection: 0 closed, 1 half-open, 2 open.", []string{"connection"}, nil),
		quota: prometheus.NewDesc("portico_quota_remaining",
			"Calls left in the connection's budget per window (minute, day).", []string{"connection", "window"}, nil),
		clients: map[string]*Client{},
	}
}

func (m *Metrics) add(c *Client) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clients[c.name] = c
}

func (m *Metrics) request(connection, status string) {
	m.requests.WithLabelValues(connection, status).Inc()
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.breaker
	ch <- m.quota
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	clients := make([]*Client, 0, len(m.clients))
	for _, c := range m.clients {
		clients = append(clients, c)
	}
	m.mu.Unlock()
	for _, c := range clients {
		ch <- prometheus.MustNewConstMetric(m.breaker, prometheus.GaugeValue, float64(c.Breaker()), c.name)
		r := c.Quota()
		if r.Minute >= 0 {
			ch <- prometheus.MustNewConstMetric(m.quota, prometheus.GaugeValue, float64(r.Minute), c.name, "minute")
		}
		if r.Day >= 0 {
			ch <- prometheus.MustNewConstMetric(m.quota, prometheus.GaugeValue, float64(r.Day), c.name, "day")
		}
	}
}
