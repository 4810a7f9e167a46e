package lifecycle

import (
	"context"
	"fmt"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/crdmirror"
)

// DefaultTokenLifetime is how long the token of a minted identity is valid.
const DefaultTokenLifetime = 365 * 24 * time.Hour

// identityFieldManager owns the identity's objects (server-side apply).
const identityFieldManager = "mcp-connector-cli"

// mintRights are what credentials need to mint an identity in namespace.
func mintRights(namespace string) []authorizationv1.ResourceAttributes {
	return []authorizationv1.ResourceAttributes{
		{Namespace: namespace, Verb: "create", Resource: "serviceaccounts"},
		{Namespace: namespace, Verb: "create", Resource: "serviceaccounts", Subresource: "token"},
		{Namespace: namespace, Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "roles"},
		{Namespace: namespace, Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings"},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"},
		{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"},
		{Verb: "list", Group: crdmirror.XRDGVK.Group, Resource: "compositeresourcedefinitions"},
	}
}

// missingMintRights asks the control plane (SelfSubjectAccessReview) which of
// the rights to mint an identity the credentials lack, as "verb resource".
func missingMintRights(ctx context.Context, cp client.Client, namespace string) ([]string, error) {
	var missing []string
	for _, attr := range mintRights(namespace) {
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attr}}
		if err := cp.Create(ctx, review); err != nil {
			return nil, fmt.Errorf("ask the control plane what the credentials may do: %w", err)
		}
		if !review.Status.Allowed {
			res := attr.Resource
			if attr.Subresource != "" {
				res += "/" + attr.Subresource
			}
			missing = append(missing, attr.Verb+" "+res)
		}
	}
	return missing, nil
}

// xrdGroups lists the claim groups of the control plane's XRDs.
func xrdGroups(ctx context.Context, cp client.Client) ([]string, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(crdmirror.XRDGVK.GroupVersion().WithKind("CompositeResourceDefinitionList"))
	if err := cp.List(ctx, list); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list the control plane's XRDs: %w", err)
	}
	var groups []string
	for _, x := range list.Items {
		g, _, _ := unstructured.NestedString(x.Object, "spec", "group")
		groups = append(groups, g)
	}
	return ClaimGroups(groups), nil
}

// mintIdentity creates, or brings up to date, the identity of the app
// cluster holding namespace and returns a token for it valid for lifetime.
// The Role and the RoleBinding are owned by the ServiceAccount, the
// ClusterRoleBinding by the ClusterRole, so that deleting those two removes
// the whole identity. An object of the identity's name that is not marked
// as one refuses.
func mintIdentity(ctx context.Context, cp client.Client, namespace string, groups []string, lifetime time.Duration) (*authenticationv1.TokenRequest, error) {
	owners := map[string]client.Object{}
	for _, o := range IdentityObjects(namespace, groups) {
		kind := o.GetObjectKind().GroupVersionKind().Kind
		if owner := owners[identityOwnerKind[kind]]; owner != nil {
			o.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: owner.GetObjectKind().GroupVersionKind().GroupVersion().String(),
				Kind: owner.GetObjectKind().GroupVersionKind().Kind, Name: owner.GetName(), UID: owner.GetUID()}})
		}
		if err := applyIdentityObject(ctx, cp, o, namespace); err != nil {
			return nil, err
		}
		owners[kind] = o
	}
	secs := int64(lifetime.Seconds())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}
	if err := cp.SubResource("token").Create(ctx, owners["ServiceAccount"], tr); err != nil {
		return nil, fmt.Errorf("create a token for ServiceAccount %s/%s: %w", namespace, IdentityName, err)
	}
	return tr, nil
}

// identityOwnerKind says which object of the identity owns which.
var identityOwnerKind = map[string]string{"Role": "ServiceAccount", "RoleBinding": "ServiceAccount", "ClusterRoleBinding": "ClusterRole"}

// applyIdentityObject server-side applies one object of the identity, after
// checking that an object of that name, if any, is one.
func applyIdentityObject(ctx context.Context, cp client.Client, o client.Object, namespace string) error {
	gvk := o.GetObjectKind().GroupVersionKind()
	what := gvk.Kind + " " + client.ObjectKeyFromObject(o).String()
	cur := &unstructured.Unstructured{}
	cur.SetGroupVersionKind(gvk)
	err := cp.Get(ctx, client.ObjectKeyFromObject(o), cur)
	switch {
	case err == nil && cur.GetLabels()[LabelIdentityFor] != namespace:
		return fmt.Errorf("the control plane has a %s that install did not mint; delete it or install with --use-given-credentials", what)
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("read %s in the control plane: %w", what, err)
	}
	u, err := toUnstructured(o)
	if err != nil {
		return err
	}
	if err := cp.Patch(ctx, u, client.Apply, client.FieldOwner(identityFieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s in the control plane: %w", what, err)
	}
	o.SetUID(u.GetUID())
	return nil
}

func toUnstructured(o client.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
	if err != nil {
		return nil, fmt.Errorf("convert %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	return u, nil
}

// tokenKubeconfig is kubeconfig (self-contained, one context) with its
// user's credentials replaced by token: what the app cluster stores.
func tokenKubeconfig(kubeconfig []byte, token string) ([]byte, error) {
	cfg, err := clientcmd.Load(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("read the control plane's kubeconfig: %w", err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil {
		return nil, fmt.Errorf("the control plane's kubeconfig has no context %q", cfg.CurrentContext)
	}
	user := IdentityName
	cfg.AuthInfos = map[string]*clientcmdapi.AuthInfo{user: {Token: token}}
	ctx.AuthInfo = user
	return clientcmd.Write(*cfg)
}

// removeIdentityAdvice says how to remove an identity by hand.
func removeIdentityAdvice(namespace string) string {
	return fmt.Sprintf("kubectl delete clusterrole %s; kubectl -n %s delete serviceaccount %s (their bindings and the Role go with them)",
		IdentityClusterRoleName(namespace), namespace, IdentityName)
}
