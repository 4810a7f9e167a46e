package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/orphan"
)

// MigrateUpbound takes over, in place, the claims and the namespaced XRs
// (Crossplane v2) that Upbound's MCP Connector made for this app cluster in
// its control-plane namespace (docs/migrate-from-upbound.md). Without Yes it
// only prints the plan. With Yes it marks each object to import as an
// uninstall of this cluster would have (sync/orphan's marks, under the name
// it has): the next connector started for the namespace imports it through
// the ordinary import path, bound to the very same remote object.
type MigrateUpbound struct {
	Cluster                Cluster
	ControlPlaneNamespace  string
	ControlPlaneKubeconfig string
	// UpboundClusterID is the cluster id Upbound's connector used (its
	// label mcp-connector.upbound.io/app-cluster).
	UpboundClusterID string
	// ClusterID is this cluster's id for mcp-connector (ClusterIDOf when empty).
	ClusterID   string
	ClusterIDOf func(context.Context, *rest.Config) (string, error)
	Yes         bool
	Out         io.Writer
}

// Run prints the plan and, with Yes, carries it out.
func (m *MigrateUpbound) Run(ctx context.Context) error {
	appCfg, app, err := m.Cluster.client()
	if err != nil {
		return err
	}
	if m.ClusterID == "" {
		if m.ClusterID, err = m.ClusterIDOf(ctx, appCfg); err != nil {
			return err
		}
	}
	kc, _, err := selfContainedKubeconfig(m.ControlPlaneKubeconfig, "")
	if err != nil {
		return err
	}
	cfg, err := kubeconfigConfig(kc, m.Cluster.Version)
	if err != nil {
		return err
	}
	cp, err := newClient(cfg)
	if err != nil {
		return fmt.Errorf("connect to the control plane: %w", err)
	}
	objs, err := m.upboundObjects(ctx, cp)
	if err != nil {
		return err
	}
	plan, err := m.plan(ctx, app, objs)
	if err != nil {
		return err
	}
	say(m.Out, "Claims and namespaced XRs of Upbound's MCP Connector for app cluster %s in control-plane namespace %s:\n", m.UpboundClusterID, m.ControlPlaneNamespace)
	sayln(m.Out, FormatMigrationPlan(plan))
	if !m.Yes {
		say(m.Out, "Nothing was changed. Run again with --yes to mark them to import; then `mcp-connector install ... %s` imports them.\n", m.ControlPlaneNamespace)
		return nil
	}
	return m.mark(ctx, cp, objs, plan)
}

// upboundObject is one remote object of Upbound's connector (a claim or a
// namespaced XR), with its kind.
type upboundObject struct {
	obj  unstructured.Unstructured
	gvk  schema.GroupVersionKind
	kind sync.Kind
}

// objectKey is a remote object of a kind in the control-plane namespace.
type objectKey struct {
	kind schema.GroupKind
	name string
}

// upboundObjects lists, for every kind the control plane's XRDs offer an
// app cluster (crdmirror.OfferedKind: the claim kind of a LegacyCluster XRD,
// the XR kind of a Namespaced one), the objects of the control-plane
// namespace labelled as Upbound's connector's for this app cluster.
func (m *MigrateUpbound) upboundObjects(ctx context.Context, cp client.Client) (map[objectKey]upboundObject, error) {
	xrds := &unstructured.UnstructuredList{}
	xrds.SetGroupVersionKind(crdmirror.XRDGVK.GroupVersion().WithKind("CompositeResourceDefinitionList"))
	if err := cp.List(ctx, xrds); err != nil {
		return nil, fmt.Errorf("list the control plane's XRDs: %w", err)
	}
	out := map[objectKey]upboundObject{}
	for i := range xrds.Items {
		gvk, kind, ok := crdmirror.OfferedKind(&xrds.Items[i])
		if !ok {
			continue
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := cp.List(ctx, list, client.InNamespace(m.ControlPlaneNamespace), client.MatchingLabels{sync.UpboundLabelAppCluster: m.UpboundClusterID}); err != nil {
			return nil, fmt.Errorf("list %s objects in control-plane namespace %s: %w", gvk.Kind, m.ControlPlaneNamespace, err)
		}
		for _, o := range list.Items {
			out[objectKey{kind: gvk.GroupKind(), name: o.GetName()}] = upboundObject{obj: o, gvk: gvk, kind: kind}
		}
	}
	return out, nil
}

// plan reads the app cluster (its namespaces, the local objects of those
// names) and decides (PlanUpboundMigration).
func (m *MigrateUpbound) plan(ctx context.Context, app client.Client, objs map[objectKey]upboundObject) ([]MigrationItem, error) {
	nsList := &corev1.NamespaceList{}
	if err := app.List(ctx, nsList); err != nil {
		return nil, fmt.Errorf("list the app cluster's namespaces: %w", err)
	}
	namespaces := map[string]bool{}
	for _, ns := range nsList.Items {
		namespaces[ns.Name] = ns.DeletionTimestamp.IsZero()
	}
	locals := map[LocalKey]bool{}
	var remotes []UpboundObject
	for _, o := range objs {
		l := o.obj.GetLabels()
		key := types.NamespacedName{Namespace: l[sync.UpboundLabelAppNamespace], Name: l[sync.UpboundLabelAppName]}
		if key.Namespace != "" && key.Name != "" && namespaces[key.Namespace] {
			local := &unstructured.Unstructured{}
			local.SetGroupVersionKind(o.gvk)
			err := app.Get(ctx, key, local)
			switch {
			case err == nil:
				locals[LocalKey{Kind: o.gvk.GroupKind(), NamespacedName: key}] = true
			case client.IgnoreNotFound(err) != nil && !meta.IsNoMatchError(err):
				return nil, fmt.Errorf("read local %s %s: %w", o.gvk.Kind, key, err)
			}
		}
		remotes = append(remotes, UpboundObject{Kind: o.gvk.GroupKind(), Name: o.obj.GetName(), Labels: l, Annotations: o.obj.GetAnnotations(), NamespacedXR: o.kind == sync.KindXR})
	}
	return PlanUpboundMigration(m.UpboundClusterID, remotes, namespaces, locals), nil
}

// mark carries out the plan: each object to import gets the marks an
// uninstall of this cluster leaves (orphaned, the origin, the local Secret
// name), so that the connector's importer takes it (sync/importer.go).
func (m *MigrateUpbound) mark(ctx context.Context, cp client.Client, objs map[objectKey]upboundObject, plan []MigrationItem) error {
	marked := 0
	for _, it := range plan {
		if !it.Action.Marks() {
			continue
		}
		o := objs[objectKey{kind: it.Kind, name: it.Remote}]
		patch, err := migrationPatch(m.ClusterID, it.Local, o.obj)
		if err != nil {
			return err
		}
		if err := cp.Patch(ctx, &o.obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
			return fmt.Errorf("mark %s %s/%s to import: %w", it.Kind.Kind, m.ControlPlaneNamespace, it.Remote, err)
		}
		marked++
	}
	say(m.Out, "Marked %d object(s) to import. Install the connector for %s now (or restart it): it imports them under their names, each one whose namespace is missing once the namespace is created.\n", marked, m.ControlPlaneNamespace)
	return nil
}

// migrationPatch is the merge patch that makes an Upbound claim or XR
// importable by the app cluster clusterID as local: the marks
// orphan.ImportCandidate reads, and a claim's connection Secret name as the
// local one (an XR names none: its composed Secrets are copied by owner).
func migrationPatch(clusterID string, local types.NamespacedName, remote unstructured.Unstructured) ([]byte, error) {
	secret, _, _ := unstructured.NestedString(remote.Object, "spec", "writeConnectionSecretToRef", "name")
	annotations := map[string]any{
		conflict.AnnotationClusterID:      clusterID,
		conflict.AnnotationClaimNamespace: local.Namespace,
		conflict.AnnotationClaimName:      local.Name,
		conflict.AnnotationOrphaned:       orphan.OrphanedByUninstall,
	}
	if secret != "" {
		annotations[orphan.AnnotationLocalSecretName] = secret
	}
	return json.Marshal(map[string]any{"metadata": map[string]any{
		"labels":      map[string]any{conflict.LabelClaimNamespace: local.Namespace},
		"annotations": annotations,
	}})
}
