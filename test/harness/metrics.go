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

// Writes is the number of write requests (POST, PUT, PATCH, DELETE) the
// connector made, less the requests for its cluster-id Lease in the control
// plane (a heartbeat, not a write of claims: docs/offline.md gives its cost).
// The Lease's counter is bumped just after client-go counts the request, so
// one scrape may fall between the two: Writes scrapes until two scrapes in a
// row agree (a Lease renewal every few seconds cannot split both).
func Writes(c *Connector) (float64, error) {
	count := func() (float64, error) {
		text, err := c.Scrape()
		if err != nil {
			return 0, err
		}
		var n float64
		for _, m := range []string{`method="POST"`, `method="PUT"`, `method="PATCH"`, `method="DELETE"`} {
			v, _ := MetricSum(text, "rest_client_requests_total", m)
			n += v
		}
		for _, verb := range []string{`verb="create"`, `verb="update"`} {
			v, _ := MetricSum(text, "mcp_connector_control_plane_lease_requests_total", verb)
			n -= v
		}
		return n, nil
	}
	last, err := count()
	if err != nil {
		return 0, err
	}
	for range 5 {
		n, err := count()
		if err != nil {
			return 0, err
		}
		if n == last {
			return n, nil
		}
		last = n
	}
	return last, nil
}
