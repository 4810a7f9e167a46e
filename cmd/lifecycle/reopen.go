package lifecycle

import (
	"context"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// A control-plane namespace that the cluster held and that its administrator
// deleted is not re-created by the connector (it stops with NamespaceDeleted).
// `mcp-connector install` run again is how a person asks for it: install
// creates the namespace and resets the connector's local record, and the
// running connector then takes the missing holder record for a first install.

// ResetState deletes the connector's local record (the ConfigMap
// controlplane.StateName(connection) in its namespace), so that the connector
// treats the control-plane namespace as never held: it claims a missing
// holder record (and creates the namespace if it may) instead of stopping.
// It reports whether there was a record.
func ResetState(ctx context.Context, app client.Client, namespace, connection string) (bool, error) {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: controlplane.StateName(connection)}}
	err := app.Delete(ctx, cm)
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("reset the connector's record ConfigMap %s/%s: %w", namespace, cm.Name, err)
	}
	return true, nil
}

// ReopenNamespace is install's answer for a connection whose control-plane
// namespace is gone: create the namespace (as far as the credentials allow)
// and reset the connector's record. It reports whether the namespace was
// gone: the holder record missing, or not the one the connector recorded (a
// namespace re-created by someone else); otherwise it does nothing.
func ReopenNamespace(ctx context.Context, cp, app client.Client, cpNamespace, stateNamespace, connection string, out func(string)) (bool, error) {
	gone, err := namespaceGone(ctx, cp, app, cpNamespace, stateNamespace, connection)
	if !gone || err != nil {
		return false, err
	}
	outcome, err := ensureControlPlaneNamespace(ctx, cp, cpNamespace)
	if err != nil {
		return true, err
	}
	switch outcome {
	case namespaceCreated:
		out(fmt.Sprintf("Re-created namespace %s in the control plane", cpNamespace))
	case namespaceForbidden:
		out(namespaceAdvice(cpNamespace))
	}
	if _, err := ResetState(ctx, app, stateNamespace, connection); err != nil {
		return true, err
	}
	out(fmt.Sprintf("The connector claims namespace %s again and pushes every claim as a new remote claim (what the deleted namespace held is gone)", cpNamespace))
	return true, nil
}

// namespaceGone says whether the connector would stop with NamespaceDeleted:
// the holder record is missing, or it is another one than the one recorded.
func namespaceGone(ctx context.Context, cp, app client.Client, cpNamespace, stateNamespace, connection string) (bool, error) {
	holder := &corev1.ConfigMap{}
	err := cp.Get(ctx, client.ObjectKey{Namespace: cpNamespace, Name: controlplane.HolderName}, holder)
	switch {
	case apierrors.IsNotFound(err):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("read holder record %s in control-plane namespace %s: %w", controlplane.HolderName, cpNamespace, err)
	}
	store := &controlplane.StateStore{Reader: app, Writer: app, Namespace: stateNamespace, Name: controlplane.StateName(connection)}
	rec, err := store.Load(ctx)
	if err != nil {
		return false, err
	}
	return rec.Namespace == cpNamespace && rec.HolderUID != "" && rec.HolderUID != holder.UID, nil
}

// reopen handles install run again for an installed connection: when its
// control-plane namespace lost its holder record, re-open it. It reports
// whether it did; if not, the install is refused as a second one.
func (in *Install) reopen(ctx context.Context, hcfg *action.Configuration, app client.Client, rel *release.Release) (bool, error) {
	get := action.NewGetValues(hcfg)
	get.AllValues = true
	values, err := get.Run(rel.Name)
	if err != nil {
		return false, fmt.Errorf("read the values of Helm release %s: %w", rel.Name, err)
	}
	settings := settingsOf(values, rel.Namespace)
	cfg, err := settings.controlPlaneConfig(ctx, app, rel.Namespace, in.Cluster.Version)
	if err != nil {
		return false, err
	}
	cp, err := newClient(cfg)
	if err != nil {
		return false, fmt.Errorf("connect to the control plane: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return ReopenNamespace(ctx, cp, app, settings.ControlPlaneNamespace, rel.Namespace, settings.Connection,
		func(line string) { sayln(in.Out, line) })
}
