package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/orphan"
)

// UninstallOptions are the arguments and flags of `mcp-connector uninstall`.
type UninstallOptions struct {
	Cluster ClusterOptions
	// ControlPlaneNamespace is the argument: which connection to remove.
	ControlPlaneNamespace string
	// ControlPlaneKubeconfig overrides the credentials the release uses.
	ControlPlaneKubeconfig string
	Timeout                time.Duration

	out io.Writer
}

// AddFlags binds the options to a flag set.
func (o *UninstallOptions) AddFlags(fs *pflag.FlagSet) {
	o.Cluster.AddFlags(fs)
	fs.StringVar(&o.ControlPlaneKubeconfig, "control-plane-kubeconfig", o.ControlPlaneKubeconfig, "Kubeconfig of the control plane (default: the credentials the release uses).")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long to wait for the connector to stop and for objects to go, at each step.")
}

// Validate checks the arguments.
func (o *UninstallOptions) Validate() error {
	if o.ControlPlaneNamespace == "" {
		return errors.New("namespace-in-control-plane must not be empty")
	}
	if o.Cluster.Namespace == "" {
		return errors.New("--namespace must not be empty")
	}
	return nil
}

// uninstall is one run of the uninstall, with what it learnt on the way.
type uninstall struct {
	*UninstallOptions
	appCfg   *rest.Config
	app      client.Client
	helm     *action.Configuration
	release  *release.Release
	settings releaseSettings
	// selectors find the connector's pods (step 1); cp is the control plane
	// (step 2).
	selectors []client.MatchingLabels
	cp        client.Client
}

// Run disconnects the app cluster from the control-plane namespace in an
// order that can never delete anything in the control plane: the connector
// stops first; then every remote claim is let go of (orphaned) while the
// local copies still exist; only then do the local copies, their Secrets and
// the mirrored CRDs go; the release goes last.
func (o *UninstallOptions) Run(ctx context.Context) error {
	u, err := o.start(ctx)
	if err != nil {
		return err
	}
	steps := []struct {
		what string
		run  func(context.Context) error
	}{
		{"Stopping the connector", u.stopConnector},
		{"Orphaning the claims in the control plane (they stay, with their composite and cloud resources)", u.orphanRemote},
		{"Removing the local claims, their connection Secrets and the mirrored CRDs", u.cleanLocal},
		{"Removing the Connection and the Helm release", u.removeRelease},
	}
	for i, s := range steps {
		say(o.out, "[%d/%d] %s\n", i+1, len(steps), s.what)
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.what, err)
		}
	}
	say(o.out, "Disconnected from control-plane namespace %s. Its claims are kept there; `mcp-connector install` for the same namespace brings them back.\n", o.ControlPlaneNamespace)
	return nil
}

func (o *UninstallOptions) start(ctx context.Context) (*uninstall, error) {
	u := &uninstall{UninstallOptions: o}
	var err error
	if u.appCfg, err = o.Cluster.RESTConfig(); err != nil {
		return nil, err
	}
	if u.app, err = client.New(u.appCfg, client.Options{Scheme: newScheme()}); err != nil {
		return nil, fmt.Errorf("connect to the app cluster: %w", err)
	}
	if u.helm, err = o.Cluster.helmConfig(); err != nil {
		return nil, err
	}
	if u.release, err = findRelease(u.helm, o.ControlPlaneNamespace); err != nil {
		return nil, err
	}
	if u.release == nil {
		return nil, fmt.Errorf("no connector for control-plane namespace %s is installed in namespace %s (no Helm release %s; pass -n for another namespace)",
			o.ControlPlaneNamespace, o.Cluster.Namespace, ReleaseName(o.ControlPlaneNamespace))
	}
	get := action.NewGetValues(u.helm)
	get.AllValues = true
	values, err := get.Run(u.release.Name)
	if err != nil {
		return nil, fmt.Errorf("read the values of Helm release %s: %w", u.release.Name, err)
	}
	u.settings = settingsOf(values, u.release.Namespace)
	if u.settings.ClusterID == "" {
		if u.settings.ClusterID, err = clusterIDOf(ctx, u.appCfg); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// --- Step 1: stop the connector ---------------------------------------------

// stopConnector scales the release's Deployment to zero and waits until no
// pod of it is left and nobody holds the connector's leader-election Lease.
func (u *uninstall) stopConnector(ctx context.Context) error {
	deployments, err := manifestObjects(u.release.Manifest, "Deployment")
	if err != nil {
		return err
	}
	for _, obj := range deployments {
		d := &appsv1.Deployment{}
		key := types.NamespacedName{Namespace: u.release.Namespace, Name: obj.GetName()}
		if err := u.app.Get(ctx, key, d); apierrors.IsNotFound(err) {
			continue
		} else if err != nil {
			return fmt.Errorf("read Deployment %s: %w", key, err)
		}
		if d.Spec.Selector != nil {
			u.selectors = append(u.selectors, d.Spec.Selector.MatchLabels)
		}
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 0 {
			patch := []byte(`{"spec":{"replicas":0}}`)
			if err := u.app.Patch(ctx, d, client.RawPatch(types.MergePatchType, patch)); err != nil {
				return fmt.Errorf("scale Deployment %s to 0: %w", key, err)
			}
		}
		say(u.out, "  Deployment %s scaled to 0\n", key)
	}
	p := &progress{out: u.out}
	err = pollUntil(ctx, u.Timeout, func() (bool, error) { return u.connectorStopped(ctx, p) })
	if err != nil {
		return fmt.Errorf("%w (last: %s); stop every connector of this connection and run uninstall again: nothing was changed in the control plane", err, p.last)
	}
	p.show("stopped", "No connector runs (no pod, Lease free)")
	return nil
}

// connectorStopped says whether no pod of the Deployment remains and the
// Lease is free (released, or expired).
func (u *uninstall) connectorStopped(ctx context.Context, p *progress) (bool, error) {
	for _, sel := range u.selectors {
		pods := &corev1.PodList{}
		if err := u.app.List(ctx, pods, client.InNamespace(u.release.Namespace), sel); err != nil {
			return false, fmt.Errorf("list the connector's pods: %w", err)
		}
		if n := len(pods.Items); n > 0 {
			p.show("pods", fmt.Sprintf("Waiting for %d connector pod(s) to end, e.g. %s", n, pods.Items[0].Name))
			return false, nil
		}
	}
	if !u.settings.LeaderElect {
		return true, nil
	}
	lease := &coordinationv1.Lease{}
	key := types.NamespacedName{Namespace: u.settings.LeaseNamespace, Name: "mcp-connector-" + u.settings.Connection}
	if err := u.app.Get(ctx, key, lease); apierrors.IsNotFound(err) {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("read Lease %s: %w", key, err)
	}
	if holder, held := leaseHeld(lease, time.Now()); held {
		p.show("lease", fmt.Sprintf("Waiting for the connector %q to let go of Lease %s", holder, key))
		return false, nil
	}
	return true, nil
}

// leaseHeld says whether a Lease has a holder whose term has not run out.
func leaseHeld(l *coordinationv1.Lease, now time.Time) (string, bool) {
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return "", false
	}
	holder := *l.Spec.HolderIdentity
	if l.Spec.RenewTime == nil || l.Spec.LeaseDurationSeconds == nil {
		return holder, true
	}
	expiry := l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
	return holder, now.Before(expiry)
}

// pollUntil calls f every 500 ms until it is done, fails, or timeout passes.
func pollUntil(ctx context.Context, timeout time.Duration, f func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := f()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %s", timeout)
		case <-tick.C:
		}
	}
}

// --- Step 4: the Connection and the release -------------------------------

// removeRelease deletes the Connection (and its CRD when no other Connection
// is left), the Lease, the release and the kubeconfig Secret install wrote.
func (u *uninstall) removeRelease(ctx context.Context) error {
	conn := &unstructured.Unstructured{}
	conn.SetGroupVersionKind(connection.GVK)
	conn.SetName(u.settings.Connection)
	if err := u.app.Delete(ctx, conn); client.IgnoreNotFound(err) != nil && !meta.IsNoMatchError(err) {
		return fmt.Errorf("delete Connection %s: %w", u.settings.Connection, err)
	}
	if err := u.removeConnectionCRD(ctx); err != nil {
		return err
	}
	lease := &coordinationv1.Lease{}
	lease.Namespace, lease.Name = u.settings.LeaseNamespace, "mcp-connector-"+u.settings.Connection
	if err := u.app.Delete(ctx, lease); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete Lease %s/%s: %w", lease.Namespace, lease.Name, err)
	}
	un := action.NewUninstall(u.helm)
	un.Wait, un.Timeout = false, u.Timeout
	if _, err := un.Run(u.release.Name); err != nil {
		return fmt.Errorf("uninstall Helm release %s: %w", u.release.Name, err)
	}
	say(u.out, "  Helm release %s uninstalled\n", u.release.Name)
	secret := &corev1.Secret{}
	key := types.NamespacedName{Namespace: u.release.Namespace, Name: kubeconfigSecretName(u.release.Name)}
	if err := u.app.Get(ctx, key, secret); err == nil && secret.Labels[LabelCreatedBy] == "cli" {
		if err := u.app.Delete(ctx, secret); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete Secret %s: %w", key, err)
		}
		say(u.out, "  Secret %s (the control plane's kubeconfig that install stored) deleted\n", key)
	}
	return nil
}

// removeConnectionCRD deletes the Connection CRD once no Connection is left
// (another connector of this cluster may still use it).
func (u *uninstall) removeConnectionCRD(ctx context.Context) error {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(connection.GVK.GroupVersion().WithKind("ConnectionList"))
	err := u.app.List(ctx, list)
	switch {
	case meta.IsNoMatchError(err) || apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("list Connections: %w", err)
	}
	for _, c := range list.Items {
		if c.GetName() != u.settings.Connection && c.GetDeletionTimestamp().IsZero() {
			return nil
		}
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	crd.Name = connection.CRD().Name
	if err := u.app.Delete(ctx, crd); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete CRD %s: %w", crd.Name, err)
	}
	return nil
}

func newUninstallCommand() *cobra.Command {
	o := &UninstallOptions{Cluster: ClusterOptions{Namespace: DefaultReleaseNamespace}, Timeout: 2 * time.Minute, out: os.Stdout}
	cmd := &cobra.Command{
		Use:   "uninstall <namespace-in-control-plane>",
		Short: "Disconnect this cluster from a control-plane namespace, keeping every claim in the control plane",
		Long: `Disconnect this cluster from a control-plane namespace. Nothing is deleted in the control plane:
1. the connector is stopped (its Deployment scaled to 0; uninstall waits until no pod runs and the Lease is free);
2. every claim of this cluster in the control-plane namespace is orphaned: it keeps its spec, composite and
   cloud resources, loses the label mcp-connector.io/cluster-id and gets mcp-connector.io/orphaned=uninstalled;
3. the local claims lose their finalizer and are deleted, with their connection Secrets and the mirrored CRDs;
4. the Connection and the Helm release are removed.
Installing again for the same namespace brings the claims back.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ControlPlaneNamespace = args[0]
			o.out = cmd.OutOrStdout()
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}

// --- Step 2: orphan the remote claims ---------------------------------------

// claimKind is one mirrored claim API of the connection.
type claimKind struct {
	crd *apiextensionsv1.CustomResourceDefinition
	gvk schema.GroupVersionKind
}

func (k claimKind) list() *unstructured.UnstructuredList {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(k.gvk.GroupVersion().WithKind(k.gvk.Kind + "List"))
	return l
}

// mirroredKinds lists the claim CRDs this connection mirrored (and only
// those: conflict.ClassifyCRD must call them ours).
func (u *uninstall) mirroredKinds(ctx context.Context) ([]claimKind, error) {
	crds := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := u.app.List(ctx, crds, client.MatchingLabels{conflict.LabelManaged: "true", conflict.LabelConnection: u.settings.Connection}); err != nil {
		return nil, fmt.Errorf("list the mirrored CRDs: %w", err)
	}
	var out []claimKind
	for i := range crds.Items {
		crd := &crds.Items[i]
		if conflict.ClassifyCRD(true, crd.Labels, u.settings.Connection) != conflict.LocalOurs || crd.Name == connection.CRD().Name {
			continue
		}
		out = append(out, claimKind{crd: crd, gvk: schema.GroupVersionKind{Group: crd.Spec.Group, Version: crdmirror.StorageVersion(crd), Kind: crd.Spec.Names.Kind}})
	}
	return out, nil
}

// orphanRemote lets go of every remote claim of this cluster in the
// control-plane namespace: the cluster-id label goes (no connector of this
// cluster touches it again, and deleting the local copy can never delete
// it), the orphaned annotation says "uninstalled" (install brings it back),
// and the origin annotations stay. The local Secret name is recorded, so
// that the claim comes back exactly as it was.
func (u *uninstall) orphanRemote(ctx context.Context) error {
	cp, err := u.controlPlane(ctx)
	if err != nil {
		return err
	}
	u.cp = cp
	kinds, err := u.mirroredKinds(ctx)
	if err != nil {
		return err
	}
	for _, k := range kinds {
		secrets, err := u.localSecretNames(ctx, k)
		if err != nil {
			return err
		}
		n, err := orphanKind(ctx, cp, u.settings.ControlPlaneNamespace, u.settings.ClusterID, k, secrets)
		if err != nil {
			return fmt.Errorf("%w; the connector stays stopped: run uninstall again once this is fixed", err)
		}
		say(u.out, "  %s: %d claim(s) orphaned in %s\n", k.crd.Name, n, u.settings.ControlPlaneNamespace)
	}
	return nil
}

func (u *uninstall) controlPlane(ctx context.Context) (client.Client, error) {
	var cfg *rest.Config
	var err error
	if u.ControlPlaneKubeconfig != "" {
		kc, _, rerr := selfContainedKubeconfig(u.ControlPlaneKubeconfig, u.settings.ControlPlaneName)
		if rerr != nil {
			return nil, rerr
		}
		cfg, err = kubeconfigConfig(kc)
	} else {
		cfg, err = u.settings.controlPlaneConfig(ctx, u.app, u.release.Namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("%w (pass --control-plane-kubeconfig)", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: newScheme()})
	if err != nil {
		return nil, fmt.Errorf("connect to the control plane: %w", err)
	}
	return c, nil
}

// localSecretNames maps the remote name of each local claim of a kind to the
// name of its local connection Secret.
func (u *uninstall) localSecretNames(ctx context.Context, k claimKind) (map[string]string, error) {
	out := map[string]string{}
	err := eachPage(ctx, u.app, k.list(), nil, func(c *unstructured.Unstructured) error {
		if name, _, _ := unstructured.NestedString(c.Object, "spec", "writeConnectionSecretToRef", "name"); name != "" {
			out[sync.RemoteName(u.settings.ClusterID, c.GetNamespace(), c.GetName())] = name
		}
		return nil
	})
	return out, err
}

// orphanKind orphans the remote claims of one kind and checks that none
// with our label is left. It returns how many it orphaned.
func orphanKind(ctx context.Context, cp client.Client, ns, clusterID string, k claimKind, secrets map[string]string) (int, error) {
	ours := []client.ListOption{client.InNamespace(ns), client.MatchingLabels{conflict.LabelClusterID: clusterID}}
	n := 0
	err := eachPage(ctx, cp, k.list(), ours, func(c *unstructured.Unstructured) error {
		patch, err := OrphanPatch(secrets[c.GetName()])
		if err != nil {
			return err
		}
		if err := cp.Patch(ctx, c, client.RawPatch(types.MergePatchType, patch)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("orphan claim %s/%s in the control plane: %w", ns, c.GetName(), err)
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, noneMarked(ctx, cp, ns, clusterID, k)
}

// noneMarked checks that no remote claim of a kind carries this cluster's
// label: then deleting its local copies cannot delete it.
func noneMarked(ctx context.Context, cp client.Client, ns, clusterID string, k claimKind) error {
	left := k.list()
	if err := cp.List(ctx, left, client.InNamespace(ns), client.MatchingLabels{conflict.LabelClusterID: clusterID}, client.Limit(1)); err != nil {
		return fmt.Errorf("check that no %s claim is left marked as this cluster's: %w", k.gvk.Kind, err)
	}
	if len(left.Items) > 0 {
		return fmt.Errorf("claim %s/%s carries this cluster's label again; is a connector running? Stop it and run uninstall again", ns, left.Items[0].GetName())
	}
	return nil
}

// OrphanPatch is the merge patch that orphans a remote claim on uninstall:
// the cluster-id label goes, the orphaned annotation says "uninstalled", the
// local Secret name is recorded when known; everything else stays. It is
// what a failed import undoes to (orphan.MarkPatch).
func OrphanPatch(localSecret string) ([]byte, error) {
	return orphan.MarkPatch("", localSecret, false)
}

// eachPage lists objects page by page (500 at a time) and calls f for each.
func eachPage(ctx context.Context, c client.Client, list *unstructured.UnstructuredList, opts []client.ListOption, f func(*unstructured.Unstructured) error) error {
	for {
		page := append(append([]client.ListOption{}, opts...), client.Limit(500), client.Continue(list.GetContinue()))
		if err := c.List(ctx, list, page...); err != nil {
			return fmt.Errorf("list %s: %w", list.GetKind(), err)
		}
		for i := range list.Items {
			if err := f(&list.Items[i]); err != nil {
				return err
			}
		}
		if list.GetContinue() == "" {
			return nil
		}
	}
}

// --- Step 3: clean the app cluster -----------------------------------------

// cleanLocal removes, per mirrored kind, the connection Secrets the
// connector wrote, then the finalizers and the local claims, then the
// mirrored CRD and its roles. The remote claims are orphaned already: none of this
// can reach the control plane.
func (u *uninstall) cleanLocal(ctx context.Context) error {
	kinds, err := u.mirroredKinds(ctx)
	if err != nil {
		return err
	}
	for _, k := range kinds {
		if err := u.stillSafe(ctx, k); err != nil {
			return err
		}
		// Secrets first: their owner references would let the garbage
		// collector take them anyway, but not before the count is in.
		s, err := u.deleteSecrets(ctx, k)
		if err != nil {
			return err
		}
		n, err := u.deleteClaims(ctx, k)
		if err != nil {
			return err
		}
		if err := u.deleteCRD(ctx, k); err != nil {
			return err
		}
		say(u.out, "  %s: %d local claim(s) and %d connection Secret(s) removed, CRD deleted\n", k.crd.Name, n, s)
	}
	return nil
}

// stillSafe checks again, right before the local copies of a kind go, that
// no connector has come back and no remote claim of the kind is marked as
// this cluster's: a connector started meanwhile could have imported them.
func (u *uninstall) stillSafe(ctx context.Context, k claimKind) error {
	stopped, err := u.connectorStopped(ctx, &progress{out: io.Discard})
	if err != nil {
		return err
	}
	if !stopped {
		return errors.New("a connector runs again; stop it (keep the Deployment at 0 replicas) and run uninstall again")
	}
	return noneMarked(ctx, u.cp, u.settings.ControlPlaneNamespace, u.settings.ClusterID, k)
}

// deleteClaims removes our finalizer from every local claim of a kind and
// deletes it, then waits until none is left.
func (u *uninstall) deleteClaims(ctx context.Context, k claimKind) (int, error) {
	n := 0
	err := eachPage(ctx, u.app, k.list(), nil, func(c *unstructured.Unstructured) error {
		if controllerutil.ContainsFinalizer(c, conflict.Finalizer) {
			base := c.DeepCopy()
			controllerutil.RemoveFinalizer(c, conflict.Finalizer)
			if err := u.app.Patch(ctx, c, client.MergeFromWithOptions(base, client.MergeFromWithOptimisticLock{})); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("remove the finalizer of %s %s/%s: %w", k.gvk.Kind, c.GetNamespace(), c.GetName(), err)
			}
		}
		if err := u.app.Delete(ctx, c); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete %s %s/%s: %w", k.gvk.Kind, c.GetNamespace(), c.GetName(), err)
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, pollUntil(ctx, u.Timeout, func() (bool, error) {
		left := k.list()
		if err := u.app.List(ctx, left, client.Limit(1)); err != nil {
			return false, err
		}
		return len(left.Items) == 0, nil
	})
}

// deleteSecrets deletes the connection Secrets the connector wrote for
// claims of a kind (ours by label and controller reference).
func (u *uninstall) deleteSecrets(ctx context.Context, k claimKind) (int, error) {
	secrets := &corev1.SecretList{}
	if err := u.app.List(ctx, secrets, client.MatchingLabels{conflict.LabelManaged: "true"}); err != nil {
		return 0, fmt.Errorf("list connection Secrets: %w", err)
	}
	n := 0
	for i := range secrets.Items {
		s := &secrets.Items[i]
		owner := metav1.GetControllerOf(s)
		if owner == nil || owner.Kind != k.gvk.Kind || !strings.HasPrefix(owner.APIVersion, k.gvk.Group+"/") {
			continue
		}
		if err := u.app.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			return n, fmt.Errorf("delete connection Secret %s/%s: %w", s.Namespace, s.Name, err)
		}
		n++
	}
	return n, nil
}

// deleteCRD deletes a mirrored CRD (checked to be ours once more) with its
// aggregated roles, and waits until it is gone.
func (u *uninstall) deleteCRD(ctx context.Context, k claimKind) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := u.app.Get(ctx, client.ObjectKey{Name: k.crd.Name}, crd); apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("read CRD %s: %w", k.crd.Name, err)
	}
	if conflict.ClassifyCRD(true, crd.Labels, u.settings.Connection) != conflict.LocalOurs {
		return nil
	}
	for _, suffix := range []string{"edit", "view"} {
		role := &rbacv1.ClusterRole{}
		key := client.ObjectKey{Name: "mcp-connector:" + crd.Name + ":" + suffix}
		if err := u.app.Get(ctx, key, role); err == nil && role.Labels[conflict.LabelManaged] == "true" {
			if err := u.app.Delete(ctx, role); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete ClusterRole %s: %w", key.Name, err)
			}
		}
	}
	uid := crd.UID
	if err := u.app.Delete(ctx, crd, client.Preconditions{UID: &uid}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete CRD %s: %w", crd.Name, err)
	}
	return pollUntil(ctx, u.Timeout, func() (bool, error) {
		err := u.app.Get(ctx, client.ObjectKey{Name: crd.Name}, &apiextensionsv1.CustomResourceDefinition{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return false, client.IgnoreNotFound(err)
	})
}
