package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/imsps/imsps/as"
	"github.com/imsps/imsps/isc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsConfig is the metrics section of the configuration.
type MetricsConfig struct {
	// Listen is the address of the Prometheus endpoint /metrics and of /debug/pprof/;
	// empty disables both.
	Listen string `yaml:"listen"`
}

// metrics is one process's Prometheus registry (never the library's global one).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "imsps_sip_requests_total",
			Help: "PUBLISH and SUBSCRIBE requests the presence core handled, by method and outcome.",
		}, []string{"method", "outcome"}),
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), m.requests)
	return m
}

// watchAgent exports the agent's state, counted at scrape time.
func (m *metrics) watchAgent(a *as.Agent) {
	m.reg.MustRegister(agentCollector{a})
}

var (
	descPresentities  = prometheus.NewDesc("imsps_presentities", "Presentities with state or watchers.", nil, nil)
	descPublications  = prometheus.NewDesc("imsps_publications", "Live RFC 3903 publications.", nil, nil)
	descSubscriptions = prometheus.NewDesc("imsps_subscriptions", "Live subscriptions.", nil, nil)
	descNotifies      = prometheus.NewDesc("imsps_notifies_total", "NOTIFY transactions by result.", []string{"result"}, nil)
)

type agentCollector struct{ a *as.Agent }

func (c agentCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPresentities
	ch <- descPublications
	ch <- descSubscriptions
	ch <- descNotifies
}

func (c agentCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.a.Stats()
	ch <- prometheus.MustNewConstMetric(descPresentities, prometheus.GaugeValue, float64(st.Presentities))
	ch <- prometheus.MustNewConstMetric(descPublications, prometheus.GaugeValue, float64(st.Publications))
	ch <- prometheus.MustNewConstMetric(descSubscriptions, prometheus.GaugeValue, float64(st.Subscriptions))
	ch <- prometheus.MustNewConstMetric(descNotifies, prometheus.CounterValue, float64(st.Notifies), "ok")
	ch <- prometheus.MustNewConstMetric(descNotifies, prometheus.CounterValue, float64(st.NotifyFailures), "failed")
}

// countedPresence counts the presence core's answers to the SIP adapter.
type countedPresence struct {
	*as.Agent
	requests *prometheus.CounterVec
}

var _ isc.Presence = countedPresence{}

func (p countedPresence) Publish(ctx context.Context, r as.PublishRequest) (as.PublishResult, error) {
	res, err := p.Agent.Publish(ctx, r)
	p.requests.WithLabelValues("PUBLISH", outcome(err)).Inc()
	return res, err
}

func (p countedPresence) Subscribe(ctx context.Context, r as.SubscribeRequest) (as.SubscribeResult, error) {
	res, err := p.Agent.Subscribe(ctx, r)
	p.requests.WithLabelValues("SUBSCRIBE", outcome(err)).Inc()
	return res, err
}

// outcome names the class of a presence-core result for the metric label.
func outcome(err error) string {
	var brief *as.IntervalTooBriefError
	var bad *as.BadRequestError
	var unavailable *as.DirectoryUnavailableError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, as.ErrNotServed), errors.Is(err, as.ErrUnknownUser):
		return "not_found"
	case errors.Is(err, as.ErrNoSuchETag), errors.Is(err, as.ErrNoSuchSubscription):
		return "no_such_state"
	case errors.Is(err, as.ErrForbidden):
		return "forbidden"
	case errors.Is(err, as.ErrOverloaded), errors.As(err, &unavailable):
		return "unavailable"
	case errors.Is(err, as.ErrBadEvent), errors.Is(err, as.ErrUnsupportedMediaType),
		errors.Is(err, as.ErrNotAcceptable), errors.As(err, &brief), errors.As(err, &bad):
		return "rejected"
	}
	return "error"
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
