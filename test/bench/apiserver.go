package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/kubernetes"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// serverRequests counts what an API server served, by "VERB resource[/sub]",
// from its apiserver_request_total: every client's requests, the server's
// own loopback ones included.
type serverRequests map[string]float64

func readServerRequests(ctx context.Context, env *harness.Env) (serverRequests, error) {
	raw, err := serverMetrics(ctx, env)
	if err != nil {
		return nil, err
	}
	out := serverRequests{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "apiserver_request_total{") {
			continue
		}
		key := label(l, "verb") + " " + label(l, "resource")
		if sub := label(l, "subresource"); sub != "" {
			key += "/" + sub
		}
		out[key] += value(l)
	}
	return out, sc.Err()
}

// top returns the n largest differences a − b, largest first, as
// "VERB resource: count" strings.
func (a serverRequests) top(b serverRequests, n int) []string {
	type kv struct {
		k string
		v float64
	}
	var d []kv
	for k, v := range a {
		if x := v - b[k]; x > 0 {
			d = append(d, kv{k, x})
		}
	}
	slices.SortFunc(d, func(x, y kv) int {
		if x.v != y.v {
			if x.v > y.v {
				return -1
			}
			return 1
		}
		return strings.Compare(x.k, y.k)
	})
	var out []string
	for _, e := range d[:min(n, len(d))] {
		out = append(out, fmt.Sprintf("%s: %.0f", e.k, e.v))
	}
	return out
}

// aggregationFlags turn on API aggregation in a kube-apiserver: it accepts
// requests that the front-proxy client (a certificate of the CA in dir,
// CN aggregatorClientName) passes on with the X-Remote-* headers, and
// presents that certificate to the aggregated servers it proxies to
// (aggregation_tls.go writes the files).
func aggregationFlags(dir string) map[string]string {
	return map[string]string{
		"requestheader-client-ca-file":       filepath.Join(dir, "front-proxy-ca.crt"),
		"requestheader-allowed-names":        aggregatorClientName,
		"requestheader-username-headers":     "X-Remote-User",
		"requestheader-group-headers":        "X-Remote-Group",
		"requestheader-extra-headers-prefix": "X-Remote-Extra-",
		"proxy-client-cert-file":             filepath.Join(dir, "front-proxy-client.crt"),
		"proxy-client-key-file":              filepath.Join(dir, "front-proxy-client.key"),
	}
}

// serverMetrics is the API server's /metrics page.
func serverMetrics(ctx context.Context, env *harness.Env) ([]byte, error) {
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		return nil, err
	}
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("read %s metrics: %w", env.Name, err)
	}
	return raw, nil
}
