// Package ops checks what the chart offers a platform team's monitoring: the PrometheusRule's alerts and the
// Grafana dashboard, rendered by the pinned helm, parse with Prometheus' own PromQL parser, and every metric they
// name is one the end-to-end suite can look for in a live scrape (test/e2e/opsmetrics_test.go). It holds no
// code besides its tests.
package ops
