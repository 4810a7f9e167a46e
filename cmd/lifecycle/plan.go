package lifecycle

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/orphan"
)

// The decisions of the uninstall, apart from the calls that carry them out:
// which kinds it works on, which patch orphans which remote claim, what goes
// from the app cluster, and the rule that nothing local goes before every
// remote claim of its kind is confirmed orphaned.

// claimKind is one mirrored claim API of the connection.
type claimKind struct {
	// crd is the name of the mirrored CRD.
	crd string
	gvk schema.GroupVersionKind
}

func (k claimKind) list() *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
	return l
}

// claimKinds picks the claim kinds of a connection from the CRDs labelled as
// its own: only those conflict.ClassifyCRD calls ours, never the Connection
// CRD; each in its storage version.
func claimKinds(crds []apiextensionsv1.CustomResourceDefinition, conn string) []claimKind {
	var out []claimKind
	for i := range crds {
		crd := &crds[i]
		if conflict.ClassifyCRD(true, crd.Labels, conn) != conflict.LocalOurs || crd.Name == connection.CRD().Name {
			continue
		}
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: crdmirror.StorageVersion(crd), Kind: crd.Spec.Names.Kind}
		out = append(out, claimKind{crd: crd.Name, gvk: gvk})
	}
	return out
}

// addLocalSecretNames maps the remote name of each local claim to the name
// of its local connection Secret, which the remote claim does not carry.
func addLocalSecretNames(secrets map[string]string, clusterID string, locals []unstructured.Unstructured) {
	for i := range locals {
		c := &locals[i]
		if name, _, _ := unstructured.NestedString(c.Object, "spec", "writeConnectionSecretToRef", "name"); name != "" {
			secrets[sync.RemoteNameOf(clusterID, c)] = name
		}
	}
}

// orphanStep is the merge patch that orphans one remote claim.
type orphanStep struct {
	Name  string
	Patch string
}

// orphanPlan is the patch of each remote claim of this cluster: every one is
// orphaned, whether a local copy still exists or not. A remote claim whose
// local claim was deleted with deletion policy Orphan (or released) while
// the control plane did not answer (an entry of pending, the record of
// pending orphans, that sync.DecidePending would act on) is marked deleted,
// never to be imported again, with its uid and resourceVersion as
// preconditions; every other one is marked uninstalled (orphan.OrphanPatch),
// with the name of its local Secret recorded when there is one.
func orphanPlan(remote []unstructured.Unstructured, secrets map[string]string, pending []sync.PendingOrphan) ([]orphanStep, error) {
	released := map[string]sync.PendingOrphan{}
	for _, p := range pending {
		released[p.Name] = p
	}
	out := make([]orphanStep, 0, len(remote))
	for i := range remote {
		r := &remote[i]
		name := r.GetName()
		var patch []byte
		var err error
		if p, ok := released[name]; ok && deletedLocally(p, r) {
			patch, err = sync.PendingOrphanPatch(r.GetUID(), r.GetResourceVersion())
		} else {
			patch, err = orphan.OrphanPatch(secrets[name])
		}
		if err != nil {
			return nil, fmt.Errorf("orphan patch of claim %s: %w", name, err)
		}
		out = append(out, orphanStep{Name: name, Patch: string(patch)})
	}
	return out, nil
}

// deletedLocally says whether the remote claim is the one a pending orphan
// left behind.
func deletedLocally(p sync.PendingOrphan, r *unstructured.Unstructured) bool {
	a, _ := sync.DecidePending(p, sync.RemoteFacts{Exists: true, UID: r.GetUID(), Labels: r.GetLabels(), Annotations: r.GetAnnotations()})
	return a == sync.PendingOrphanIt
}

// confirmOrphaned is the rule that guards the app cluster's clean-up: the
// local copies of a kind may go only when no remote claim of the kind is
// left marked as this cluster's (marked names those still marked).
func confirmOrphaned(ns string, marked []string) error {
	if len(marked) > 0 {
		return fmt.Errorf("claim %s/%s carries this cluster's label again; is a connector running? Stop it and run uninstall again", ns, marked[0])
	}
	return nil
}

// cleanAllowed decides, right before the local copies of a kind go, whether
// they may: no connector runs again (it could import the claims back) and
// every remote claim of the kind is confirmed orphaned.
func cleanAllowed(stopped bool, ns string, marked []string) error {
	if !stopped {
		return errors.New("a connector runs again; stop it (keep the Deployment at 0 replicas) and run uninstall again")
	}
	return confirmOrphaned(ns, marked)
}

// connectionSecrets picks the connection Secrets the connector wrote for
// claims of a kind: ours by label, controlled by a claim of the kind.
func connectionSecrets(secrets []corev1.Secret, gvk schema.GroupVersionKind) []types.NamespacedName {
	var out []types.NamespacedName
	for i := range secrets {
		s := &secrets[i]
		if s.Labels[conflict.LabelManaged] != "true" {
			continue
		}
		owner := metav1.GetControllerOf(s)
		if owner == nil || owner.Kind != gvk.Kind || !strings.HasPrefix(owner.APIVersion, gvk.Group+"/") {
			continue
		}
		out = append(out, types.NamespacedName{Namespace: s.Namespace, Name: s.Name})
	}
	return out
}

// mirroredRoles names the aggregated ClusterRoles the mirror writes for a
// claim CRD; they go with it.
func mirroredRoles(crd string) []string {
	return []string{"mcp-connector:" + crd + ":edit", "mcp-connector:" + crd + ":view"}
}

// names returns the names of objects.
func names(items []unstructured.Unstructured) []string {
	out := make([]string, 0, len(items))
	for i := range items {
		out = append(out, items[i].GetName())
	}
	return out
}
