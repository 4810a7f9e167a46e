package condition

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func TestClaimState(t *testing.T) {
	cases := map[string]string{
		"Synced":                      ClaimInSync,
		"ControlPlaneUnreachable":     ClaimStale,
		"Starting":                    ClaimStale,
		"NamespaceHeldByOtherCluster": ClaimStale,
		"NamespaceDeleted":            ClaimStale,
		"ClusterIDInUse":              ClaimStale,
		"ForeignObject":               ClaimInConflict,
		"OwnedByOtherCluster":         ClaimInConflict,
		"NameCollision":               ClaimInConflict,
		"OwnedByOtherCopy":            ClaimInConflict,
		"SecretConflict":              ClaimInConflict,
		"PushFailed":                  ClaimFailing,
		"RemoteDeleted":               ClaimFailing,
		"Deleting":                    ClaimDeleting,
		"":                            ClaimPending,
	}
	for reason, want := range cases {
		t.Run("Reason"+reason, func(t *testing.T) {
			if got := ClaimState(reason); got != want {
				t.Errorf("ClaimState(%q) = %q, want %q", reason, got, want)
			}
		})
	}
}

func TestSummarizeClaims(t *testing.T) {
	cases := map[string]struct {
		counts map[string]int
		want   string
	}{
		"None":     {counts: map[string]int{}, want: "0 in sync, 0 stale, 0 in conflict"},
		"Mixed":    {counts: map[string]int{ClaimInSync: 3, ClaimInConflict: 1, ClaimFailing: 2}, want: "3 in sync, 0 stale, 1 in conflict, 2 failing"},
		"Deleting": {counts: map[string]int{ClaimDeleting: 1}, want: "0 in sync, 0 stale, 0 in conflict, 1 deleting"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, SummarizeClaims(tc.counts)); diff != "" {
				t.Errorf("SummarizeClaims (-want +got):\n%s", diff)
			}
		})
	}
}

// reasoned is a cached claim that knows its reason without being read (as
// sync's packed claims do); its conditions say otherwise, so a count that
// read them would be wrong.
type reasoned struct {
	*unstructured.Unstructured
	reason string
}

func (r reasoned) SyncedReason() string { return r.reason }

// informers is a cache whose one informer is an unstarted informer with a
// filled store.
type informers struct {
	cache.Informers
	inf toolscache.SharedIndexInformer
	gvk schema.GroupVersionKind
}

func (i informers) GetInformer(_ context.Context, obj client.Object, _ ...cache.InformerGetOption) (cache.Informer, error) {
	if obj.GetObjectKind().GroupVersionKind() != i.gvk {
		return nil, fmt.Errorf("no informer for %v", obj.GetObjectKind().GroupVersionKind())
	}
	return i.inf, nil
}

func TestCountCached(t *testing.T) {
	gvk := schema.GroupVersionKind{Group: "example.org", Version: "v1", Kind: "Database"}
	claim := func(name, reason string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(gvk)
		u.SetNamespace("team-a")
		u.SetName(name)
		if reason != "" {
			_ = unstructured.SetNestedSlice(u.Object, []any{map[string]any{"type": Type, "status": "True", "reason": reason}}, "status", "conditions")
		}
		return u
	}
	inf := toolscache.NewSharedIndexInformer(&toolscache.ListWatch{}, &unstructured.Unstructured{}, 0, toolscache.Indexers{})
	for _, obj := range []any{
		claim("a", ReasonSynced),
		claim("b", ReasonSynced),
		claim("c", ""),
		reasoned{claim("d", ReasonSynced), ReasonUnreachable},
		reasoned{claim("e", ""), ReasonForeignObject},
	} {
		if err := inf.GetStore().Add(obj); err != nil {
			t.Fatal(err)
		}
	}
	got, err := CountCached(context.Background(), informers{inf: inf, gvk: gvk}, gvk)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{ClaimInSync: 2, ClaimPending: 1, ClaimStale: 1, ClaimInConflict: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	other := gvk
	other.Kind = "Cache"
	if _, err := CountCached(context.Background(), informers{inf: inf, gvk: gvk}, other); err == nil {
		t.Error("a kind without an informer: no error")
	}
}
