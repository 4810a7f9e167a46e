package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
	"github.com/mcp-connector/mcp-connector/sync/orphan"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// An import of claims that an uninstall orphaned is safe to die at every
// step. For each crash point of the import, the claims are orphaned as
// uninstall does, a connector armed to die there (sync.CrashAtEnv) starts
// and is killed at that point, the state it leaves is the one the point
// names, and an unarmed connector then finishes: one local copy per remote
// claim, bound to the very same remote claim and composite, with its spec,
// the connection Secret under the name the uninstall recorded, Synced, and
// no remote claim deleted.
func TestImportSurvivesKills(t *testing.T) {
	r := newFaultRig(t)
	r.drainOnCleanup(t)
	c := r.start(t)
	r.waitMirrored(t)
	want := map[string]int64{"crash-a": 1, "crash-b": 2}
	for name, count := range want {
		r.create(t, name, count)
	}
	r.converge(t, want)
	before := map[string]*unstructured.Unstructured{}
	for name := range want {
		waitSecretIn(t, r.app.Client, r.claims, localSecretName(name))
		before[name] = r.waitRemote(t, name, hasResourceRef)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}

	for _, point := range []string{sync.CrashImportCreated, sync.CrashImportPushed, sync.CrashImportReleased} {
		t.Run(point, func(t *testing.T) {
			r.orphanAsUninstall(t, want)
			t.Setenv(sync.CrashAtEnv, point)
			armed := r.start(t)
			select {
			case <-armed.Done():
			case <-time.After(convergeTimeout):
				t.Fatalf("the connector armed for %s is still running", point)
			}
			if _, err := armed.Exited(); err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("the connector armed for %s exited with %v, want killed\n%s", point, err, armed.Tail(20))
			}
			if err := r.crashState(point); err != nil {
				t.Fatalf("after the kill at %s: %v", point, err)
			}

			t.Setenv(sync.CrashAtEnv, "")
			c := r.start(t)
			r.converge(t, want)
			r.checkImported(t, before)
			if err := c.Stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// localSecretName is the connection Secret name of the example claim name
// (harness.NewExampleClaim), which differs from the remote Secret's.
func localSecretName(name string) string { return name + "-kubeconfig" }

// orphanAsUninstall does what `mcp-connector uninstall` does once the
// connector is stopped: it orphans every remote claim (orphan.OrphanPatch,
// recording the local Secret name), then removes the local claims and their
// Secrets (the rig's app cluster has no garbage collector).
func (r *faultRig) orphanAsUninstall(t *testing.T, claims map[string]int64) {
	t.Helper()
	ctx := context.Background()
	for name := range claims {
		remote, err := r.remote(name)
		if err != nil {
			t.Fatal(err)
		}
		patch, err := orphan.OrphanPatch(localSecretName(name))
		if err != nil {
			t.Fatal(err)
		}
		if err := world.ControlPlane.Client.Patch(ctx, remote, client.RawPatch(types.MergePatchType, patch)); err != nil {
			t.Fatalf("orphan remote claim of %s: %v", name, err)
		}
	}
	for name := range claims {
		local := r.claim(name)
		if err := r.app.Client.Patch(ctx, local, client.RawPatch(types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`))); err != nil {
			t.Fatalf("release claim %s: %v", name, err)
		}
		if err := r.app.Client.Delete(ctx, local); err != nil {
			t.Fatalf("delete claim %s: %v", name, err)
		}
		secret := &corev1.Secret{}
		secret.SetNamespace(r.claims)
		secret.SetName(localSecretName(name))
		if err := r.app.Client.Delete(ctx, secret); err != nil {
			t.Fatalf("delete Secret of %s: %v", name, err)
		}
	}
	harness.Eventually(t, waitTimeout, func() error {
		locals, err := r.listLocal()
		if err != nil || len(locals) > 0 {
			return fmt.Errorf("%d local claims left (%v)", len(locals), err)
		}
		return nil
	})
}

// crashState checks that a claim is in the state the crash point names,
// which proves that the kill happened there and not before or after.
func (r *faultRig) crashState(point string) error {
	locals, err := r.listLocal()
	if err != nil {
		return err
	}
	var seen []string
	for i := range locals {
		l := &locals[i]
		remote, err := r.remote(l.GetName())
		if err != nil {
			return err
		}
		_, pending := l.GetAnnotations()[conflict.AnnotationImportedFrom]
		labelled := remote.GetLabels()[conflict.LabelClusterID] == r.clusterID
		orphaned := remote.GetAnnotations()[conflict.AnnotationOrphaned] != ""
		seen = append(seen, fmt.Sprintf("%s: import pending %v, remote labelled %v, orphaned %v", l.GetName(), pending, labelled, orphaned))
		switch {
		case point == sync.CrashImportCreated && pending && !labelled && orphaned,
			point == sync.CrashImportPushed && pending && labelled && orphaned,
			point == sync.CrashImportReleased && pending && labelled && !orphaned:
			return nil
		}
	}
	return fmt.Errorf("no claim in the state of %s: %v", point, seen)
}

// checkImported checks that every claim came back bound to the remote claim
// it had before (same uid, same composite), with no trace of the import left
// and its connection Secret under the recorded name, owned by the new copy.
func (r *faultRig) checkImported(t *testing.T, before map[string]*unstructured.Unstructured) {
	t.Helper()
	for name, was := range before {
		local, err := r.getLocal(name)
		if err != nil {
			t.Fatal(err)
		}
		remote, err := r.remote(name)
		if err != nil {
			t.Fatal(err)
		}
		if remote.GetUID() != was.GetUID() {
			t.Errorf("remote claim of %s was replaced: uid %s, was %s", name, remote.GetUID(), was.GetUID())
		}
		gotRef, _, _ := unstructured.NestedString(remote.Object, "spec", "resourceRef", "name")
		wasRef, _, _ := unstructured.NestedString(was.Object, "spec", "resourceRef", "name")
		if gotRef != wasRef {
			t.Errorf("remote claim of %s is bound to composite %q, was %q", name, gotRef, wasRef)
		}
		if got := remote.GetAnnotations()[conflict.AnnotationClaimUID]; got != string(local.GetUID()) {
			t.Errorf("remote claim of %s records claim uid %s, want the copy's %s", name, got, local.GetUID())
		}
		for _, k := range []string{conflict.AnnotationOrphaned, orphan.AnnotationLocalSecretName} {
			if v, ok := remote.GetAnnotations()[k]; ok {
				t.Errorf("remote claim of %s still carries %s=%s", name, k, v)
			}
		}
		if v, ok := local.GetAnnotations()[conflict.AnnotationImportedFrom]; ok {
			t.Errorf("claim %s still carries %s=%s", name, conflict.AnnotationImportedFrom, v)
		}
		if got, _, _ := unstructured.NestedString(local.Object, "spec", "writeConnectionSecretToRef", "name"); got != localSecretName(name) {
			t.Errorf("claim %s writes its Secret to %q, want the recorded %q", name, got, localSecretName(name))
		}
		waitSecretIn(t, r.app.Client, r.claims, localSecretName(name))
		secret := &corev1.Secret{}
		if err := r.app.Client.Get(context.Background(), client.ObjectKey{Namespace: r.claims, Name: localSecretName(name)}, secret); err != nil {
			t.Fatal(err)
		}
		if owner := metav1.GetControllerOf(secret); owner == nil || owner.UID != local.GetUID() {
			t.Errorf("Secret of %s is controlled by %v, want the copy %s", name, owner, local.GetUID())
		}
	}
}
