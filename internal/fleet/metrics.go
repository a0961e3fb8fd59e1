package fleet

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exports the fleet's view of every connection, read from the
// database at scrape time, so any one process's /metrics shows what all
// of them spent and whether any of them tripped the breaker.
type Collector struct {
	f       *Fleet
	spent   *prometheus.Desc
	left    *prometheus.Desc
	source  *prometheus.Desc
	breaker *prometheus.Desc
}

// NewCollector builds the collector; register it once per process.
func NewCollector(f *Fleet) *Collector {
	return &Collector{
		f: f,
		spent: prometheus.NewDesc("portico_fleet_quota_spent",
			"Calls every process took from the connection's shared budget.", []string{"connection"}, nil),
		left: prometheus.NewDesc("portico_fleet_quota_remaining",
			"Calls left in the connection's shared budget per window (minute, day), for all processes.", []string{"connection", "window"}, nil),
		source: prometheus.NewDesc("portico_fleet_source_usage_ratio",
			"The source's own last report of its daily API usage (used / max), over every client of the org.", []string{"connection"}, nil),
		breaker: prometheus.NewDesc("portico_fleet_breaker_state",
			"The fleet's breaker per connection: 0 closed, 1 half-open, 2 open; tripped_by names the process.", []string{"connection", "tripped_by"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.spent
	ch <- c.left
	ch <- c.source
	ch <- c.breaker
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.f.Status(ctx)
	if err != nil {
		c.f.log.Warn("fleet: metrics unavailable", "error", err.Error())
		return
	}
	for name, s := range st {
		ch <- prometheus.MustNewConstMetric(c.spent, prometheus.GaugeValue, float64(s.Spent), name)
		if s.DayLeft >= 0 {
			ch <- prometheus.MustNewConstMetric(c.left, prometheus.GaugeValue, float64(s.DayLeft), name, "day")
		}
		if s.MinuteLeft >= 0 {
			ch <- prometheus.MustNewConstMetric(c.left, prometheus.GaugeValue, float64(s.MinuteLeft), name, "minute")
		}
		if s.SourceMax > 0 {
			ch <- prometheus.MustNewConstMetric(c.source, prometheus.GaugeValue, float64(s.SourceUsed)/float64(s.SourceMax), name)
		}
		v := 0.0
		switch s.Breaker {
		case "half-open":
			v = 1
		case "open":
			v = 2
		}
		ch <- prometheus.MustNewConstMetric(c.breaker, prometheus.GaugeValue, v, name, s.TrippedBy)
	}
}
