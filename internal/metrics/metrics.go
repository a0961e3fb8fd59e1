// Package metrics builds Portico's Prometheus registry: Go runtime and
// process collectors, HTTP request counts and latency by route, and River
// job counts by kind and state, read from PostgreSQL at scrape time.
// Subsystems register their own metrics on the registry they are handed.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/porticohq/portico/internal/store"
)

// NewRegistry returns a registry with the runtime collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler serves the registry in the Prometheus text format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// HTTP counts requests and observes their latency, labelled by the chi
// route pattern (never the raw path, which would explode cardinality).
type HTTP struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewHTTP registers the HTTP metrics on reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	h := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_http_requests_total",
			Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portico_http_request_duration_seconds",
			Help:    "HTTP request latency by route and method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(h.requests, h.latency)
	return h
}

// Middleware records every request once it has been routed.
func (h *HTTP) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		h.requests.WithLabelValues(route, r.Method, strconv.Itoa(status)).Inc()
		h.latency.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

// RiverJobs reports river_job counts by kind and state at scrape time.
type RiverJobs struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	desc   *prometheus.Desc
}

// NewRiverJobs returns the collector; register it on a registry.
func NewRiverJobs(pool *pgxpool.Pool, logger *slog.Logger) *RiverJobs {
	return &RiverJobs{
		pool:   pool,
		logger: logger,
		desc: prometheus.NewDesc("portico_river_jobs",
			"River jobs by kind and state.", []string{"kind", "state"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *RiverJobs) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect implements prometheus.Collector. A slow or failed query costs the
// scrape this one metric, never the whole scrape.
func (c *RiverJobs) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := store.RiverJobCounts(ctx, c.pool)
	if err != nil {
		c.logger.WarnContext(ctx, "metrics: counting river jobs", slog.String("error", err.Error()))
		return
	}
	for _, n := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n.Count), n.Kind, n.State)
	}
}

// CacheStats reports an in-memory cache: whether it is live (its
// invalidation listener connected), and its hits and misses so far.
type CacheStats func() (live bool, hits, misses int64)

// RegisterCache exposes a cache as portico_cache_live, and
// portico_cache_hits_total and portico_cache_misses_total, labelled by
// name.
func RegisterCache(reg prometheus.Registerer, name string, stats CacheStats) {
	labels := prometheus.Labels{"cache": name}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "portico_cache_live", Help: "1 while the cache's invalidation listener is connected and it serves from memory.", ConstLabels: labels,
		}, func() float64 {
			if live, _, _ := stats(); live {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "portico_cache_hits_total", Help: "Reads served from memory.", ConstLabels: labels,
		}, func() float64 { _, h, _ := stats(); return float64(h) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "portico_cache_misses_total", Help: "Reads that went to the database.", ConstLabels: labels,
		}, func() float64 { _, _, m := stats(); return float64(m) }),
	)
}
