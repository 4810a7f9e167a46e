package soak

import (
	"fmt"
	"strings"
	gosync "sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// violations counts the breaches of one invariant and keeps the first few.
type violations struct {
	Count    int      `json:"count"`
	Examples []string `json:"examples,omitempty"`
	seen     map[string]bool
}

const maxExamples = 10

func (v *violations) add(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if v.seen == nil {
		v.seen = map[string]bool{}
	}
	if v.seen[msg] {
		return
	}
	v.seen[msg] = true
	v.Count++
	if len(v.Examples) < maxExamples {
		v.Examples = append(v.Examples, msg)
	}
}

// The invariants, in the order of issue #13.
const (
	invOneRemote = iota
	invNoUnaskedDelete
	invNoLeakedFinalizer
	invSecretPlacement
	invNoCRDDeleted
	invWritesAtRest
	invCount
)

var invNames = [invCount]string{
	"every local claim has exactly one remote claim with its latest spec",
	"no remote claim deleted that no user asked to delete",
	"no leaked finalizer",
	"no Secret in a namespace it does not belong to",
	"no CRD deleted by an outage",
	"writes at rest back to zero after the last fault",
}

// audit watches both clusters for the whole run and records what breaks the
// invariants that hold all the way (2, 4, 5), and the Lease renewals that
// the writes-at-rest count leaves out.
type audit struct {
	mu  gosync.Mutex
	inv *[invCount]violations
	// allowedGone are local claims (ns/name) the schedule deleted with the
	// default policy: their remote claims may go.
	allowedGone map[string]bool
	// oobDeleted are remote claims the schedule deleted out of band.
	oobDeleted map[types.UID]bool
	// origin is the local claim (ns/name) each remote claim came from.
	origin map[types.UID]string
	// crdDeleted are the uids of the CRDs the schedule deleted.
	crdDeleted map[types.UID]bool
	// appNamespaces are where the connector may write Secrets in the app
	// cluster; cpNamespace is its one namespace in the control plane.
	appNamespaces map[string]bool
	cpNamespace   string
	clusterID     string
	leaseName     string
	leaseWrites   int
	stops         []chan struct{}
}

func newAudit(inv *[invCount]violations, cpNamespace, clusterID string, appNamespaces []string) *audit {
	a := &audit{inv: inv, allowedGone: map[string]bool{}, oobDeleted: map[types.UID]bool{}, origin: map[types.UID]string{},
		crdDeleted: map[types.UID]bool{}, appNamespaces: map[string]bool{}, cpNamespace: cpNamespace, clusterID: clusterID,
		leaseName: "mcp-connector-" + cpNamespace}
	for _, ns := range appNamespaces {
		a.appNamespaces[ns] = true
	}
	return a
}

// start runs the watches; they end with stop.
func (a *audit) start() error {
	secrets := schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	leases := schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}
	for _, w := range []struct {
		dyn       dynamic.Interface
		namespace string
		gvr       schema.GroupVersionResource
		seen      func(u *unstructured.Unstructured, gone bool)
		updated   func()
	}{
		{world.ControlPlane.Dynamic, a.cpNamespace, harness.ExampleClaimGVR(), a.remoteClaim, nil},
		{world.ControlPlane.Dynamic, "", secrets, a.cpSecret, nil},
		{world.App.Dynamic, "", secrets, a.appSecret, nil},
		{world.App.Dynamic, "", crds, a.crd, nil},
		{world.App.Dynamic, "default", leases, nil, a.leaseRenewed},
	} {
		if err := a.watch(w.dyn, w.namespace, w.gvr, w.seen, w.updated); err != nil {
			return err
		}
	}
	return nil
}

func (a *audit) watch(dyn dynamic.Interface, ns string, gvr schema.GroupVersionResource, seen func(*unstructured.Unstructured, bool), updated func()) error {
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, ns, nil)
	inf := f.ForResource(gvr).Informer()
	call := func(o any, gone bool) {
		if tomb, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = tomb.Obj
		}
		if u, ok := o.(*unstructured.Unstructured); ok && seen != nil {
			seen(u, gone)
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { call(o, false) },
		UpdateFunc: func(old, o any) {
			call(o, false)
			if u, ok := o.(*unstructured.Unstructured); ok && updated != nil && u.GetName() == a.leaseName &&
				old.(*unstructured.Unstructured).GetResourceVersion() != u.GetResourceVersion() {
				updated()
			}
		},
		DeleteFunc: func(o any) { call(o, true) },
	}); err != nil {
		return err
	}
	stop := make(chan struct{})
	a.stops = append(a.stops, stop)
	f.Start(stop)
	if !cache.WaitForCacheSync(stop, inf.HasSynced) {
		return fmt.Errorf("the watch of %s did not sync", gvr)
	}
	return nil
}

func (a *audit) stop() {
	for _, s := range a.stops {
		close(s)
	}
}

// setUserDeleted records, before the delete, that the schedule deletes a
// local claim with the default policy (or, after a delete that found
// nothing, that it did not).
func (a *audit) setUserDeleted(key string, deleted bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.allowedGone[key] = deleted
}

func (a *audit) deletesRemote(uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.oobDeleted[uid] = true
}

func (a *audit) deletesCRD(uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.crdDeleted[uid] = true
}

// sawRemote says whether a remote claim of the local claim key was ever seen.
// sawRemote says whether a remote claim of the local claim key was seen
// that the schedule did not delete out of band: one that must still be
// there if the local claim was deleted with the Orphan policy. A remote
// claim deleted out of band and not re-created before the local claim went
// leaves nothing to keep.
func (a *audit) sawRemote(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for uid, k := range a.origin {
		if k == key && !a.oobDeleted[uid] {
			return true
		}
	}
	return false
}

func (a *audit) leaseRenewals() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.leaseWrites
}

func (a *audit) leaseRenewed() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.leaseWrites++
}

// remoteClaim checks invariant 2: a remote claim goes only if its local
// claim was deleted with the default policy or the schedule deleted it.
func (a *audit) remoteClaim(u *unstructured.Unstructured, gone bool) {
	ann := u.GetAnnotations()
	a.mu.Lock()
	defer a.mu.Unlock()
	if o, ok := conflict.OriginOf(u.GetLabels(), ann); ok && o.ClusterID == a.clusterID {
		a.origin[u.GetUID()] = o.Namespace + "/" + o.Name
	}
	key, known := a.origin[u.GetUID()]
	if !known || (!gone && u.GetDeletionTimestamp() == nil) {
		return
	}
	if !a.allowedGone[key] && !a.oobDeleted[u.GetUID()] {
		a.inv[invNoUnaskedDelete].add("remote claim %s (uid %s) of local claim %s deleted; no user asked", u.GetName(), u.GetUID(), key)
	}
}

// writtenByConnector says whether a field manager of the connector wrote o.
func writtenByConnector(u *unstructured.Unstructured) bool {
	for _, mf := range u.GetManagedFields() {
		if strings.HasPrefix(mf.Manager, "mcp-connector") {
			return true
		}
	}
	return u.GetLabels()[conflict.LabelManaged] == "true"
}

// appSecret and cpSecret check invariant 4.
func (a *audit) appSecret(u *unstructured.Unstructured, gone bool) {
	if gone || !writtenByConnector(u) || a.appNamespaces[u.GetNamespace()] {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inv[invSecretPlacement].add("app cluster: Secret %s/%s written by the connector outside the claims' namespaces", u.GetNamespace(), u.GetName())
}

func (a *audit) cpSecret(u *unstructured.Unstructured, gone bool) {
	if gone || !writtenByConnector(u) || u.GetNamespace() == a.cpNamespace {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inv[invSecretPlacement].add("control plane: Secret %s/%s written by the connector outside %s", u.GetNamespace(), u.GetName(), a.cpNamespace)
}

// crd checks invariant 5: a CRD the connector wrote is deleted only by the
// schedule's CRD deletion.
func (a *audit) crd(u *unstructured.Unstructured, gone bool) {
	if !writtenByConnector(u) || (!gone && u.GetDeletionTimestamp() == nil) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.crdDeleted[u.GetUID()] {
		a.inv[invNoCRDDeleted].add("CRD %s (uid %s) deleted in the app cluster; the schedule did not delete it", u.GetName(), u.GetUID())
	}
}
