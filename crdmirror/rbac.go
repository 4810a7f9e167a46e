package crdmirror

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// Verbs of the aggregated roles, as Crossplane grants them for claims.
var (
	editVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
	viewVerbs = []string{"get", "list", "watch"}
)

// Roles returns the ClusterRoles that give the built-in admin, edit and view
// roles access to a mirrored claim API, so that a namespace user with "edit"
// can create claims. They are owned by the CRD and go with it.
func Roles(crd *apiextensionsv1.CustomResourceDefinition) []*rbacv1.ClusterRole {
	owner := metav1.OwnerReference{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: crd.Name, UID: crd.UID}
	role := func(suffix string, verbs []string, aggregateTo ...string) *rbacv1.ClusterRole {
		labels := map[string]string{conflict.LabelManaged: "true"}
		for _, to := range aggregateTo {
			labels["rbac.authorization.k8s.io/aggregate-to-"+to] = "true"
		}
		return &rbacv1.ClusterRole{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
			ObjectMeta: metav1.ObjectMeta{Name: "mcp-connector:" + crd.Name + ":" + suffix, Labels: labels, OwnerReferences: []metav1.OwnerReference{owner}},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{crd.Spec.Group}, Resources: []string{crd.Spec.Names.Plural}, Verbs: verbs},
				{APIGroups: []string{crd.Spec.Group}, Resources: []string{crd.Spec.Names.Plural + "/status"}, Verbs: viewVerbs}},
		}
	}
	return []*rbacv1.ClusterRole{role("edit", editVerbs, "admin", "edit"), role("view", viewVerbs, "view")}
}

// applyRoles writes the aggregated roles of a mirrored CRD.
func (r *Reconciler) applyRoles(ctx context.Context, crd *apiextensionsv1.CustomResourceDefinition) error {
	if crd.UID == "" {
		return nil
	}
	for _, role := range Roles(crd) {
		existing := &rbacv1.ClusterRole{}
		if err := r.Clusters.Local.GetClient().Get(ctx, client.ObjectKeyFromObject(role), existing); err == nil && rolesEqual(existing, role) {
			continue
		}
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(role)
		if err != nil {
			return err
		}
		obj := &unstructured.Unstructured{Object: u}
		unstructured.RemoveNestedField(obj.Object, "metadata", "creationTimestamp")
		if err := r.Clusters.Local.GetClient().Apply(ctx, client.ApplyConfigurationFromUnstructured(obj),
			client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply role %s: %w", role.Name, err)
		}
	}
	return nil
}

func rolesEqual(a, b *rbacv1.ClusterRole) bool {
	return equality.Semantic.DeepEqual(a.Rules, b.Rules) && equality.Semantic.DeepEqual(a.Labels, b.Labels) &&
		equality.Semantic.DeepEqual(a.OwnerReferences, b.OwnerReferences)
}
