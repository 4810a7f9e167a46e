package harness

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"
)

// UpboundProxy stands in for Upbound's control-plane proxy: a TLS server
// that serves one control plane under a path prefix to clients presenting
// one bearer token, and forwards with its own credentials.
type UpboundProxy struct {
	// Server is the TLS server; its URL is the base of the prefix.
	Server *httptest.Server
	// CAPEM is the PEM-encoded certificate that verifies Server.
	CAPEM string
	// Served and Refused count the requests forwarded and refused.
	Served, Refused atomic.Int64
}

// StartUpboundProxy serves the control plane of target under prefix to
// clients that present token, forwarding with target's credentials, and
// closes when the test ends. Other paths or tokens get 401.
func StartUpboundProxy(t testing.TB, target *rest.Config, prefix, token string) *UpboundProxy {
	t.Helper()
	transport, err := rest.TransportFor(target)
	if err != nil {
		t.Fatal(err)
	}
	upstream, err := url.Parse(target.Host)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host, r.Out.Host = upstream.Scheme, upstream.Host, upstream.Host
			r.Out.URL.Path, r.Out.URL.RawPath = strings.TrimPrefix(r.In.URL.Path, prefix), ""
			r.Out.Header.Del("Authorization") // the proxy speaks for itself upstream
		},
		Transport:     transport,
		FlushInterval: -1, // watches stream
	}
	p := &UpboundProxy{}
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, prefix+"/") || r.Header.Get("Authorization") != "Bearer "+token {
			p.Refused.Add(1)
			http.Error(rw, "unknown control plane or token", http.StatusUnauthorized)
			return
		}
		p.Served.Add(1)
		rp.ServeHTTP(rw, r)
	}))
	p.Server.StartTLS()
	t.Cleanup(func() {
		p.Server.CloseClientConnections()
		p.Server.Close()
	})
	p.CAPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Server.Certificate().Raw}))
	return p
}
