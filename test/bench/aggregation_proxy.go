package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// The aggregated path: the app cluster serves aggGroup through an
// APIService backed by aggProxy, which keeps nothing and forwards every
// request to the bench's claim kinds (benchGroup) in the one control-plane
// namespace aggNamespace, as the seed (Upbound's MCP Connector) does. A local
// object ns/name is the remote object aggNamespace/ns.name labelled
// appNamespaceLabel=ns; a namespace's list is a label selector on it.
const (
	aggGroup          = "aggregated.bench.example.org"
	aggNamespace      = "bench-aggregated"
	appNamespaceLabel = "bench.example.org/app-namespace"
)

var aggGV = aggGroup + "/" + benchVersion

// aggProxy is the aggregated API server: an HTTPS server that accepts only
// the app cluster's front-proxy client and forwards to the control plane.
type aggProxy struct {
	cp    dynamic.Interface
	disco rest.Interface
	srv   *http.Server
	port  int
	// rejected counts requests refused for a missing or wrong requestheader
	// identity.
	rejected atomic.Int64
}

// startAggProxy serves on a free loopback port with tlsCfg (which demands
// a client certificate of the front-proxy CA); cpCfg reaches the control
// plane.
func startAggProxy(cpCfg *rest.Config, tlsCfg *tls.Config) (*aggProxy, error) {
	cfg := unlimited(cpCfg)
	cfg.UserAgent = "bench-aggregation-proxy"
	cp, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", tlsCfg)
	if err != nil {
		return nil, fmt.Errorf("start aggregation proxy: %w", err)
	}
	p := &aggProxy{cp: cp, disco: dc.RESTClient(), port: ln.Addr().(*net.TCPAddr).Port}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *aggProxy) stop() { _ = p.srv.Close() }

// authenticated checks the requestheader identity: a verified client
// certificate of the front-proxy CA with the allowed name, and the user the
// kube-apiserver authenticated in X-Remote-User.
func authenticated(r *http.Request) bool {
	return r.TLS != nil && len(r.TLS.VerifiedChains) > 0 &&
		r.TLS.PeerCertificates[0].Subject.CommonName == aggregatorClientName &&
		r.Header.Get("X-Remote-User") != ""
}

// aggRequest is a request to a claim resource, parsed from its path.
type aggRequest struct {
	ns, name, sub string
	kind          kind
}

func (p *aggProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !authenticated(r) {
		p.rejected.Add(1)
		writeStatus(w, apierrors.NewUnauthorized("no front-proxy client identity"))
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) < 2 || parts[0] != "apis" || parts[1] != aggGroup:
		writeStatus(w, apierrors.NewNotFound(schemaGR(""), r.URL.Path))
	case len(parts) == 2:
		writeJSON(w, http.StatusOK, aggAPIGroup())
	case len(parts) == 3 && parts[2] == benchVersion:
		p.resources(w, r)
	default:
		req, ok := parseAggPath(parts[3:])
		if !ok || parts[2] != benchVersion {
			writeStatus(w, apierrors.NewNotFound(schemaGR(""), r.URL.Path))
			return
		}
		p.serveResource(w, r, req)
	}
}

func parseAggPath(rest []string) (aggRequest, bool) {
	var req aggRequest
	if len(rest) >= 3 && rest[0] == "namespaces" {
		req.ns, rest = rest[1], rest[2:]
	}
	if len(rest) == 0 || len(rest) > 3 {
		return req, false
	}
	found := false
	for _, k := range kinds {
		if k.Plural == rest[0] {
			req.kind, found = k, true
		}
	}
	if len(rest) > 1 {
		req.name = rest[1]
	}
	if len(rest) > 2 {
		req.sub = rest[2]
	}
	return req, found && (req.sub == "" || req.sub == "status") && (req.name == "" || req.ns != "")
}

func aggAPIGroup() *metav1.APIGroup {
	v := metav1.GroupVersionForDiscovery{GroupVersion: aggGV, Version: benchVersion}
	return &metav1.APIGroup{TypeMeta: metav1.TypeMeta{Kind: "APIGroup", APIVersion: "v1"},
		Name: aggGroup, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v}
}

// resources serves discovery by forwarding it: the control plane's resource
// list of benchGroup, renamed. The aggregator's availability check reads this
// path, so the APIService is Available exactly while the control plane answers.
func (p *aggProxy) resources(w http.ResponseWriter, r *http.Request) {
	raw, err := p.disco.Get().AbsPath("/apis", benchGroup, benchVersion).DoRaw(r.Context())
	if err != nil {
		writeStatus(w, err)
		return
	}
	var list metav1.APIResourceList
	if err := json.Unmarshal(raw, &list); err != nil {
		writeStatus(w, err)
		return
	}
	list.GroupVersion = aggGV
	list.Kind, list.APIVersion = "APIResourceList", "v1"
	for i := range list.APIResources {
		list.APIResources[i].Verbs = trimVerbs(list.APIResources[i].Verbs)
		list.APIResources[i].Categories = nil
	}
	writeJSON(w, http.StatusOK, &list)
}

// trimVerbs leaves out what the proxy does not forward (deletecollection):
// the namespace controller then lists and deletes one by one.
func trimVerbs(verbs metav1.Verbs) metav1.Verbs {
	var out metav1.Verbs
	for _, v := range verbs {
		if v != "deletecollection" {
			out = append(out, v)
		}
	}
	return out
}

func (p *aggProxy) serveResource(w http.ResponseWriter, r *http.Request, req aggRequest) {
	ri := p.cp.Resource(req.kind.GVR()).Namespace(aggNamespace)
	ctx := r.Context()
	var sub []string
	if req.sub != "" {
		sub = []string{req.sub}
	}
	switch {
	case r.Method == http.MethodGet && req.name != "":
		u, err := ri.Get(ctx, remoteAggName(req.ns, req.name), metav1.GetOptions{}, sub...)
		p.reply(w, http.StatusOK, req, u, err)
	case r.Method == http.MethodGet && r.URL.Query().Get("watch") == "true":
		p.watch(w, r, ri, req)
	case r.Method == http.MethodGet:
		p.list(w, r, ri, req)
	case r.Method == http.MethodPost && req.name == "" && req.ns != "":
		u, err := readObject(r, req)
		if err == nil {
			u, err = ri.Create(ctx, u, metav1.CreateOptions{})
		}
		p.reply(w, http.StatusCreated, req, u, err)
	case r.Method == http.MethodPut && req.name != "":
		u, err := readObject(r, req)
		if err == nil {
			u, err = ri.Update(ctx, u, metav1.UpdateOptions{}, sub...)
		}
		p.reply(w, http.StatusOK, req, u, err)
	case r.Method == http.MethodPatch && req.name != "":
		pt := types.PatchType(r.Header.Get("Content-Type"))
		body, err := io.ReadAll(r.Body)
		var u *unstructured.Unstructured
		if err == nil && pt != types.ApplyPatchType {
			u, err = ri.Patch(ctx, remoteAggName(req.ns, req.name), pt, body, metav1.PatchOptions{}, sub...)
		} else if err == nil {
			err = apierrors.NewBadRequest("the aggregation proxy does not forward server-side apply")
		}
		p.reply(w, http.StatusOK, req, u, err)
	case r.Method == http.MethodDelete && req.name != "":
		err := ri.Delete(ctx, remoteAggName(req.ns, req.name), metav1.DeleteOptions{})
		if err != nil {
			writeStatus(w, err)
			return
		}
		writeJSON(w, http.StatusOK, &metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})
	default:
		writeStatus(w, apierrors.NewMethodNotSupported(schemaGR(req.kind.Plural), r.Method))
	}
}

func (p *aggProxy) reply(w http.ResponseWriter, code int, req aggRequest, u *unstructured.Unstructured, err error) {
	if err == nil && u.GetLabels()[appNamespaceLabel] != req.ns {
		err = apierrors.NewNotFound(schemaGR(req.kind.Plural), req.name)
	}
	if err != nil {
		writeStatus(w, err)
		return
	}
	writeJSON(w, code, toLocalAgg(u).Object)
}

// listOptions are the client's, narrowed to the request's namespace.
func listOptions(r *http.Request, req aggRequest) (metav1.ListOptions, error) {
	var opts metav1.ListOptions
	query := r.URL.Query()
	if err := metav1.Convert_url_Values_To_v1_ListOptions(&query, &opts, nil); err != nil {
		return opts, apierrors.NewBadRequest(err.Error())
	}
	sel := appNamespaceLabel
	if req.ns != "" {
		sel += "=" + req.ns
	}
	if opts.LabelSelector != "" {
		sel += "," + opts.LabelSelector
	}
	opts.LabelSelector = sel
	if name, ok := strings.CutPrefix(opts.FieldSelector, "metadata.name="); ok && req.ns != "" {
		opts.FieldSelector = "metadata.name=" + remoteAggName(req.ns, name)
	} else {
		opts.FieldSelector = ""
	}
	return opts, nil
}

func (p *aggProxy) list(w http.ResponseWriter, r *http.Request, ri dynamic.ResourceInterface, req aggRequest) {
	opts, err := listOptions(r, req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	ul, err := ri.List(r.Context(), opts)
	if err != nil {
		writeStatus(w, err)
		return
	}
	items := make([]any, len(ul.Items))
	for i := range ul.Items {
		items[i] = toLocalAgg(&ul.Items[i]).Object
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"apiVersion": aggGV, "kind": req.kind.Kind + "List", "metadata": ul.Object["metadata"], "items": items,
	})
}

// watch forwards a watch event by event, each object renamed.
func (p *aggProxy) watch(w http.ResponseWriter, r *http.Request, ri dynamic.ResourceInterface, req aggRequest) {
	opts, err := listOptions(r, req)
	if err != nil {
		writeStatus(w, err)
		return
	}
	wi, err := ri.Watch(r.Context(), opts)
	if err != nil {
		writeStatus(w, err)
		return
	}
	defer wi.Stop()
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return
			}
			var obj any = ev.Object
			if u, isU := ev.Object.(*unstructured.Unstructured); isU && ev.Type != watch.Error {
				obj = toLocalAgg(u).Object
			}
			if enc.Encode(map[string]any{"type": ev.Type, "object": obj}) != nil {
				return
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
	}
}

// readObject decodes a request body and maps it to the remote object.
func readObject(r *http.Request, req aggRequest) (*unstructured.Unstructured, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(body); err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	name := u.GetName()
	if req.name != "" {
		name = req.name
	}
	u.SetAPIVersion(benchGroup + "/" + benchVersion)
	u.SetNamespace(aggNamespace)
	u.SetName(remoteAggName(req.ns, name))
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[appNamespaceLabel] = req.ns
	u.SetLabels(labels)
	return u, nil
}

func remoteAggName(ns, name string) string { return ns + "." + name }

// toLocalAgg maps a remote object to what the app cluster shows.
func toLocalAgg(u *unstructured.Unstructured) *unstructured.Unstructured {
	u.SetAPIVersion(aggGV)
	labels := u.GetLabels()
	ns, ok := labels[appNamespaceLabel]
	if !ok {
		return u // a bookmark
	}
	delete(labels, appNamespaceLabel)
	if len(labels) == 0 {
		labels = nil
	}
	u.SetLabels(labels)
	u.SetNamespace(ns)
	u.SetName(strings.TrimPrefix(u.GetName(), ns+"."))
	return u
}

func schemaGR(resource string) schema.GroupResource {
	return schema.GroupResource{Group: aggGroup, Resource: resource}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeStatus answers with the control plane's error, or 503 when it could
// not be reached (what a client of the seed sees while it is away).
func writeStatus(w http.ResponseWriter, err error) {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || st.Status().Code == 0 {
		st = apierrors.NewServiceUnavailable("control plane unreachable: " + err.Error())
	}
	s := st.Status()
	s.Kind, s.APIVersion = "Status", "v1"
	writeJSON(w, int(s.Code), &s)
}
