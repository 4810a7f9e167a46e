package lifecycle

import (
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync"
)

var kindDB = schema.GroupVersionKind{Group: "db.example.org", Version: "v1beta1", Kind: "Database"}

func TestClaimKinds(t *testing.T) {
	crd := func(name, conn string, managed bool, versions ...string) apiextensionsv1.CustomResourceDefinition {
		c := apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{conflict.LabelConnection: conn}}}
		if managed {
			c.Labels[conflict.LabelManaged] = "true"
		}
		c.Spec.Group, c.Spec.Names.Kind = "db.example.org", "Database"
		for i, v := range versions {
			c.Spec.Versions = append(c.Spec.Versions, apiextensionsv1.CustomResourceDefinitionVersion{Name: v, Storage: i == len(versions)-1})
		}
		return c
	}
	conn := crd(connection.CRD().Name, "team-a", true, "v1alpha1")
	cases := map[string]struct {
		crds []apiextensionsv1.CustomResourceDefinition
		want []claimKind
	}{
		"OursInStorageVersion": {
			crds: []apiextensionsv1.CustomResourceDefinition{crd("databases.db.example.org", "team-a", true, "v1alpha1", "v1beta1")},
			want: []claimKind{{crd: "databases.db.example.org", gvk: kindDB}},
		},
		"OtherConnection":       {crds: []apiextensionsv1.CustomResourceDefinition{crd("databases.db.example.org", "team-b", true, "v1beta1")}},
		"NotManaged":            {crds: []apiextensionsv1.CustomResourceDefinition{crd("databases.db.example.org", "team-a", false, "v1beta1")}},
		"NeverTheConnectionCRD": {crds: []apiextensionsv1.CustomResourceDefinition{conn}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := claimKinds(tc.crds, "team-a")
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(claimKind{})); diff != "" {
				t.Errorf("claimKinds (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAddLocalSecretNames(t *testing.T) {
	claim := func(ns, name, secret string) unstructured.Unstructured {
		u := unstructured.Unstructured{Object: map[string]any{}}
		u.SetNamespace(ns)
		u.SetName(name)
		if secret != "" {
			_ = unstructured.SetNestedField(u.Object, secret, "spec", "writeConnectionSecretToRef", "name")
		}
		return u
	}
	cases := map[string]struct {
		locals []unstructured.Unstructured
		want   map[string]string
	}{
		"ByRemoteName": {
			locals: []unstructured.Unstructured{claim("app", "db", "db-conn")},
			want:   map[string]string{sync.RemoteName("c1", "app", "db"): "db-conn"},
		},
		"NoSecret": {locals: []unstructured.Unstructured{claim("app", "db", "")}, want: map[string]string{}},
		"SameNameOtherNamespace": {
			locals: []unstructured.Unstructured{claim("app", "db", "a"), claim("web", "db", "b")},
			want:   map[string]string{sync.RemoteName("c1", "app", "db"): "a", sync.RemoteName("c1", "web", "db"): "b"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := map[string]string{}
			addLocalSecretNames(got, "c1", tc.locals)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("addLocalSecretNames (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrphanPlan(t *testing.T) {
	remote := func(names ...string) []unstructured.Unstructured {
		var out []unstructured.Unstructured
		for _, n := range names {
			u := unstructured.Unstructured{Object: map[string]any{}}
			u.SetName(n)
			out = append(out, u)
		}
		return out
	}
	// patch is the orphan patch as data: the cluster-id label goes, the
	// orphaned annotation says "uninstalled", the local Secret name is
	// recorded (or cleared when there is none).
	patch := func(secret any) map[string]any {
		return map[string]any{"metadata": map[string]any{
			"labels":      map[string]any{conflict.LabelClusterID: nil},
			"annotations": map[string]any{conflict.AnnotationOrphaned: "uninstalled", conflict.Prefix + "claim-secret-name": secret},
		}}
	}
	// released is the pending orphan of local claim team/db-3 (deleted with
	// policy Orphan while the control plane was away), and left its remote
	// claim as the control plane holds it: ours, with uid remote-uid.
	cfg := sync.Config{ClusterID: "c1", Namespace: "cp"}
	released := sync.NewPendingOrphan(cfg, schema.GroupVersionKind{Group: "g", Version: "v1", Kind: "DB"}, "team", "db-3", "local-uid", time.Unix(0, 0), "unreachable")
	released.UID = "remote-uid"
	left := func(uid, claimUID string) unstructured.Unstructured {
		u := unstructured.Unstructured{Object: map[string]any{}}
		u.SetName(released.Name)
		u.SetUID(types.UID(uid))
		u.SetResourceVersion("7")
		o := released.Origin()
		o.UID = claimUID
		u.SetLabels(o.Labels())
		u.SetAnnotations(o.Annotations())
		return u
	}
	deleted := func(uid string) map[string]any {
		return map[string]any{"metadata": map[string]any{
			"uid": uid, "resourceVersion": "7",
			"labels":      map[string]any{conflict.LabelClusterID: nil},
			"annotations": map[string]any{conflict.AnnotationOrphaned: "claim-deleted"},
		}}
	}
	cases := map[string]struct {
		remote  []unstructured.Unstructured
		secrets map[string]string
		pending []sync.PendingOrphan
		want    map[string]map[string]any
	}{
		"ReleasedMarkedDeleted": {
			remote: append(remote("db-1"), left("remote-uid", "local-uid")), secrets: map[string]string{"db-1": "db-conn"},
			pending: []sync.PendingOrphan{released},
			want:    map[string]map[string]any{"db-1": patch("db-conn"), released.Name: deleted("remote-uid")},
		},
		// The remote claim was replaced since (another uid): the entry
		// does not apply to it, it is uninstalled like any other.
		"ReleasedButReplaced": {
			remote: []unstructured.Unstructured{left("other-uid", "local-uid")}, pending: []sync.PendingOrphan{released},
			want: map[string]map[string]any{released.Name: patch(nil)},
		},
		// A new local claim of the name took the remote claim over: it is
		// that claim's now, uninstalled, to come back on reinstall.
		"ReleasedButTakenByNewClaim": {
			remote: []unstructured.Unstructured{left("remote-uid", "new-local-uid")}, pending: []sync.PendingOrphan{released},
			want: map[string]map[string]any{released.Name: patch(nil)},
		},
		"WithLocalSecret": {
			remote: remote("db-1"), secrets: map[string]string{"db-1": "db-conn"},
			want: map[string]map[string]any{"db-1": patch("db-conn")},
		},
		"LocalCopyGoneStillOrphaned": {
			remote: remote("db-1", "db-2"), secrets: map[string]string{"db-1": "db-conn"},
			want: map[string]map[string]any{"db-1": patch("db-conn"), "db-2": patch(nil)},
		},
		"None": {want: map[string]map[string]any{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			plan, err := orphanPlan(tc.remote, tc.secrets, tc.pending)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]any{}
			for _, s := range plan {
				var p map[string]any
				if err := json.Unmarshal([]byte(s.Patch), &p); err != nil {
					t.Fatalf("patch of %s: %v", s.Name, err)
				}
				got[s.Name] = p
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("orphanPlan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCleanAllowed(t *testing.T) {
	cases := map[string]struct {
		stopped bool
		marked  []string
		wantErr string
	}{
		"StoppedAllOrphaned": {stopped: true},
		"ConnectorBack":      {stopped: false, wantErr: "a connector runs again; stop it (keep the Deployment at 0 replicas) and run uninstall again"},
		"ClaimStillMarked": {stopped: true, marked: []string{"db-1"},
			wantErr: "claim team-a/db-1 carries this cluster's label again; is a connector running? Stop it and run uninstall again"},
		"ConnectorBackFirst": {stopped: false, marked: []string{"db-1"}, wantErr: "a connector runs again; stop it (keep the Deployment at 0 replicas) and run uninstall again"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ""
			if err := cleanAllowed(tc.stopped, "team-a", tc.marked); err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, got); diff != "" {
				t.Errorf("cleanAllowed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConnectionSecrets(t *testing.T) {
	secret := func(name string, managed bool, owner *metav1.OwnerReference) corev1.Secret {
		s := corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: name, Labels: map[string]string{}}}
		if managed {
			s.Labels[conflict.LabelManaged] = "true"
		}
		if owner != nil {
			s.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		return s
	}
	yes := true
	ctl := func(apiVersion, kind string) *metav1.OwnerReference {
		return &metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: "db", Controller: &yes}
	}
	cases := map[string]struct {
		secrets []corev1.Secret
		want    []types.NamespacedName
	}{
		"OursOfTheKind":   {secrets: []corev1.Secret{secret("db-conn", true, ctl("db.example.org/v1beta1", "Database"))}, want: []types.NamespacedName{{Namespace: "app", Name: "db-conn"}}},
		"OtherKind":       {secrets: []corev1.Secret{secret("c", true, ctl("db.example.org/v1beta1", "Cache"))}},
		"OtherGroup":      {secrets: []corev1.Secret{secret("c", true, ctl("db.example.org.evil/v1", "Database"))}},
		"NotManaged":      {secrets: []corev1.Secret{secret("c", false, ctl("db.example.org/v1beta1", "Database"))}},
		"OwnedNotControl": {secrets: []corev1.Secret{secret("c", true, &metav1.OwnerReference{APIVersion: "db.example.org/v1beta1", Kind: "Database", Name: "db"})}},
		"NoOwner":         {secrets: []corev1.Secret{secret("c", true, nil)}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, connectionSecrets(tc.secrets, kindDB)); diff != "" {
				t.Errorf("connectionSecrets (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUninstallSteps pins the order that keeps every remote claim safe:
// nothing is orphaned before the connector stops, nothing local goes before
// the claims are orphaned, the release goes next, and the identity install
// minted last, once nothing needs the control plane; each step says what it runs.
func TestUninstallSteps(t *testing.T) {
	want := []string{
		"Stopping the connector: stopConnector",
		"Orphaning the claims in the control plane (they stay, with their composite and cloud resources): orphanRemote",
		"Removing the local claims, their connection Secrets and the mirrored CRDs: cleanLocal",
		"Removing the Connection and the Helm release: removeRelease",
		"Removing this cluster's identity in the control plane: removeIdentity",
	}
	var got []string
	for _, s := range (&uninstallRun{}).steps() {
		fn := runtime.FuncForPC(reflect.ValueOf(s.run).Pointer()).Name()
		fn = strings.TrimSuffix(fn[strings.LastIndex(fn, ".")+1:], "-fm")
		got = append(got, s.what+": "+fn)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}
