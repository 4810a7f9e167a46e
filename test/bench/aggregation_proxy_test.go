package main

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseAggPath(t *testing.T) {
	cases := map[string]struct {
		path string
		want aggRequest
		ok   bool
	}{
		"namespaced object":         {"namespaces/a/databases/db", aggRequest{ns: "a", name: "db", kind: kinds[0]}, true},
		"status":                    {"namespaces/a/buckets/b/status", aggRequest{ns: "a", name: "b", sub: "status", kind: kinds[1]}, true},
		"namespace list":            {"namespaces/a/queues", aggRequest{ns: "a", kind: kinds[2]}, true},
		"all namespaces":            {"databases", aggRequest{kind: kinds[0]}, true},
		"unknown resource":          {"namespaces/a/widgets", aggRequest{ns: "a"}, false},
		"unknown subresource":       {"namespaces/a/databases/db/scale", aggRequest{ns: "a", name: "db", sub: "scale", kind: kinds[0]}, false},
		"named without a namespace": {"databases/db", aggRequest{name: "db", kind: kinds[0]}, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok := parseAggPath(strings.Split(tc.path, "/"))
			if ok != tc.ok {
				t.Errorf("ok: want %v, got %v", tc.ok, ok)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(aggRequest{}, kind{})); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestListOptionsNarrowToTheNamespace(t *testing.T) {
	cases := map[string]struct {
		query, ns         string
		wantLabel, wantFS string
	}{
		"namespace":                {"limit=500", "a", appNamespaceLabel + "=a", ""},
		"all namespaces":           {"limit=500", "", appNamespaceLabel, ""},
		"the client's selector":    {"labelSelector=x%3Dy", "a", appNamespaceLabel + "=a,x=y", ""},
		"one object, by name":      {"fieldSelector=metadata.name%3Ddb", "a", appNamespaceLabel + "=a", "metadata.name=a.db"},
		"other field selectors go": {"fieldSelector=metadata.namespace%3Da", "a", appNamespaceLabel + "=a", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/x?"+tc.query, nil)
			opts, err := listOptions(r, aggRequest{ns: tc.ns})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.wantLabel, tc.wantFS}, []string{opts.LabelSelector, opts.FieldSelector}); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestObjectMappingRoundTrips(t *testing.T) {
	local := newClaim(claimRef{kind: kinds[0], namespace: "team-a", name: "db"}, 1)
	local.SetAPIVersion(aggGV)
	body, err := local.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(string(body)))
	remote, err := readObject(r, aggRequest{ns: "team-a", kind: kinds[0]})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{benchGroup + "/" + benchVersion, aggNamespace, "team-a.db", "team-a"}
	got := []string{remote.GetAPIVersion(), remote.GetNamespace(), remote.GetName(), remote.GetLabels()[appNamespaceLabel]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("remote object: -want +got:\n%s", diff)
	}
	back := toLocalAgg(remote.DeepCopy())
	if diff := cmp.Diff(local.Object, back.Object); diff != "" {
		t.Errorf("back in the app cluster: -want +got:\n%s", diff)
	}
}

func TestAuthenticatedWantsTheFrontProxyIdentity(t *testing.T) {
	verified := func(cn string) *tls.ConnectionState {
		cert := &x509.Certificate{Subject: pkix.Name{CommonName: cn}}
		return &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}, VerifiedChains: [][]*x509.Certificate{{cert}}}
	}
	cases := map[string]struct {
		tls  *tls.ConnectionState
		user string
		want bool
	}{
		"the aggregator, for a user": {verified(aggregatorClientName), "admin", true},
		"no client certificate":      {&tls.ConnectionState{}, "admin", false},
		"another client's name":      {verified("someone"), "admin", false},
		"no user header":             {verified(aggregatorClientName), "", false},
		"plain HTTP":                 {nil, "admin", false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/apis", nil)
			r.TLS = tc.tls
			if tc.user != "" {
				r.Header.Set("X-Remote-User", tc.user)
			}
			if got := authenticated(r); got != tc.want {
				t.Errorf("want %v, got %v", tc.want, got)
			}
		})
	}
}
