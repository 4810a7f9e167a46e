package e2e

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// scrape reads the connector's metrics; a dead connector is an error.
func scrape(c *harness.Connector) (string, error) {
	hc := http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + c.Config.MetricsAddr + "/metrics")
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// metricSeries returns the values of the series of name whose labels contain
// every one of match, in a scrape, in order. Unparsable values are skipped.
func metricSeries(text, name string, match ...string) []float64 {
	var out []float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(line, m)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// metricValue finds the first series of name whose labels contain every one
// of match, in a scrape.
func metricValue(text, name string, match ...string) (float64, bool) {
	if vs := metricSeries(text, name, match...); len(vs) > 0 {
		return vs[0], true
	}
	return 0, false
}

// metric reads a counter (summed over the series whose labels contain every
// one of match) from the connector's metrics endpoint.
func metric(t *testing.T, c *harness.Connector, name string, match ...string) float64 {
	t.Helper()
	text, err := scrape(c)
	if err != nil {
		t.Fatalf("read metrics: %v", err)
	}
	var sum float64
	for _, v := range metricSeries(text, name, match...) {
		sum += v
	}
	return sum
}
