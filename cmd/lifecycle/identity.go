package lifecycle

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// The identity install mints for one app cluster in the control plane: a
// ServiceAccount in the cluster's control-plane namespace, a Role there, a
// ClusterRole that only reads what mirroring reads, and their bindings.
const (
	// IdentityName names the ServiceAccount, the Role and the RoleBinding in
	// the control-plane namespace.
	IdentityName = "mcp-connector"
	// identityClusterPrefix + namespace names the ClusterRole and its binding.
	identityClusterPrefix = "mcp-connector:"
	// LabelIdentityFor marks every object of an identity with its namespace.
	LabelIdentityFor = "mcp-connector.io/identity-for"
)

// IdentityClusterRoleName is the name of the ClusterRole (and its binding)
// of the identity of the app cluster holding namespace.
func IdentityClusterRoleName(namespace string) string { return identityClusterPrefix + namespace }

var (
	claimVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	readVerbs  = []string{"get", "list", "watch"}
)

// NamespaceRules are what the connector does in its control-plane
// namespace, derived from the code:
//   - claims of the claim groups (sync: spec up by server-side apply,
//     origin and orphan marks patched, a remote claim deleted when the user
//     deleted its local claim; uninstall orphans them by patch);
//   - connection Secrets: only read (sync/secret.go);
//   - the holder ConfigMap (sync/controlplane/monitor.go): created once,
//     then read and updated by name;
//   - the cluster-id Lease (sync/controlplane/lease.go): created, read,
//     renewed;
//   - its token: a TokenRequest for its own ServiceAccount, to renew it
//     (cmd/mcp-connector/tokenrenew.go);
//   - itself: its own ServiceAccount and ClusterRole may be read and deleted, so that
//     uninstall removes the identity with the identity's own token (their
//     owned bindings and the Role go with them through the garbage collector).
func NamespaceRules(claimGroups []string) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	if len(claimGroups) > 0 {
		rules = append(rules, rbacv1.PolicyRule{APIGroups: sorted(claimGroups), Resources: []string{"*"}, Verbs: claimVerbs})
	}
	return append(rules,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: readVerbs},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{controlplane.HolderName}, Verbs: []string{"get", "update"}},
		rbacv1.PolicyRule{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, ResourceNames: []string{IdentityName}, Verbs: []string{"get", "delete"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"serviceaccounts/token"}, ResourceNames: []string{IdentityName}, Verbs: []string{"create"}},
	)
}

// ClusterRules are what mirroring reads cluster-wide: the XRDs and the CRDs
// Crossplane generates from them (crdmirror), metadata and schemas only,
// and its own ClusterRole, which it may read and delete (see NamespaceRules).
func ClusterRules(namespace string) []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		{APIGroups: []string{"apiextensions.crossplane.io"}, Resources: []string{"compositeresourcedefinitions"}, Verbs: readVerbs},
		{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: readVerbs},
		{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"}, ResourceNames: []string{IdentityClusterRoleName(namespace)}, Verbs: []string{"get", "delete"}},
	}
}

// IdentityObjects are the objects of the identity of the app cluster holding
// namespace, in the order they are created: the ServiceAccount first (it
// owns the Role and the RoleBinding), the ClusterRole before its binding
// (which it owns). Owners' uids are filled in at creation.
func IdentityObjects(namespace string, claimGroups []string) []client.Object {
	labels := map[string]string{LabelCreatedBy: "cli", LabelIdentityFor: namespace}
	meta := func(ns, name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: IdentityName}}
	cluster := IdentityClusterRoleName(namespace)
	return []client.Object{
		&corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: meta(namespace, IdentityName)},
		&rbacv1.Role{TypeMeta: typeMeta(rbacv1.SchemeGroupVersion.String(), "Role"), ObjectMeta: meta(namespace, IdentityName), Rules: NamespaceRules(claimGroups)},
		&rbacv1.RoleBinding{TypeMeta: typeMeta(rbacv1.SchemeGroupVersion.String(), "RoleBinding"), ObjectMeta: meta(namespace, IdentityName), Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: IdentityName}},
		&rbacv1.ClusterRole{TypeMeta: typeMeta(rbacv1.SchemeGroupVersion.String(), "ClusterRole"), ObjectMeta: meta("", cluster), Rules: ClusterRules(namespace)},
		&rbacv1.ClusterRoleBinding{TypeMeta: typeMeta(rbacv1.SchemeGroupVersion.String(), "ClusterRoleBinding"), ObjectMeta: meta("", cluster), Subjects: subject,
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: cluster}},
	}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// ClaimGroups are the distinct API groups of the XRDs' claims, sorted.
func ClaimGroups(xrdGroups []string) []string {
	var out []string
	for _, g := range xrdGroups {
		if g != "" && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return sorted(out)
}

func sorted(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
