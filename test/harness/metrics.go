package harness

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Scrape reads the connector's Prometheus metrics; a connector that does
// not answer is an error.
func (c *Connector) Scrape() (string, error) {
	hc := http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + c.Config.MetricsAddr + "/metrics")
	if err != nil {
		return "", fmt.Errorf("scrape metrics of pid %d: %w", c.Pid(), err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// MetricSum sums, in a scrape, the series of name whose labels contain every
// one of match (e.g. `method="PUT"`); it reports whether any series matched.
func MetricSum(text, name string, match ...string) (float64, bool) {
	var sum float64
	found := false
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, m := range match {
			ok = ok && strings.Contains(line, m)
		}
		f := strings.Fields(line)
		if !ok || len(f) == 0 {
			continue
		}
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
			found = true
		}
	}
	return sum, found
}
