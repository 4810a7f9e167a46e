package condition

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What a local claim's ControlPlaneSynced condition says, for humans: the
// Connection's status and `mcp-connector status` count claims by these.
const (
	ClaimInSync     = "in sync"
	ClaimStale      = "stale"
	ClaimInConflict = "in conflict"
	ClaimPending    = "pending"
	ClaimFailing    = "failing"
	ClaimDeleting   = "deleting"
)

// ClaimStates lists the claim states in the order they are shown.
var ClaimStates = []string{ClaimInSync, ClaimStale, ClaimInConflict, ClaimPending, ClaimFailing, ClaimDeleting}

// ClaimState sorts a local claim by the reason of its ControlPlaneSynced
// condition: in sync; stale (the control plane cannot be asked now, so the
// copy shows the last known state); in conflict (the remote name or the
// connection Secret belongs to someone else); deleting; failing (the control
// plane rejected it, or someone deleted the remote claim); pending (not
// synced yet, no condition).
func ClaimState(reason string) string {
	switch reason {
	case ReasonSynced:
		return ClaimInSync
	case ReasonUnreachable, ReasonStarting, ReasonNamespaceHeld, ReasonNamespaceUnavailable, ReasonForbidden,
		ReasonNamespaceDeleted, ReasonClusterIDInUse:
		return ClaimStale
	case ReasonForeignObject, ReasonOwnedByOtherCluster, ReasonNameCollision, ReasonOwnedByOtherCopy, ReasonSecretConflict:
		return ClaimInConflict
	case ReasonDeleting, ReasonRemoteDeleting:
		return ClaimDeleting
	case "":
		return ClaimPending
	}
	return ClaimFailing
}

// SyncedReason is the reason of a claim's ControlPlaneSynced condition, or
// "" when it has none.
func SyncedReason(u *unstructured.Unstructured) string {
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, "status", "conditions")
	conds, _ := v.([]any)
	for _, raw := range conds {
		if m, ok := raw.(map[string]any); ok && m["type"] == Type {
			r, _ := m["reason"].(string)
			return r
		}
	}
	return ""
}

// SyncedReasoner is a cached claim that knows the reason of its
// ControlPlaneSynced condition without being decoded (sync's packed claims).
type SyncedReasoner interface {
	SyncedReason() string
}

// CountCached counts the claims of a kind in a cache by ClaimState, from the
// informer's store: nothing is listed, copied or decoded (the Connection's
// reporter counts every claim each second while claims change). It waits
// for the informer to have synced, as a List from the cache would.
func CountCached(ctx context.Context, c cache.Informers, gvk schema.GroupVersionKind) (map[string]int, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	store, err := InformerStore(ctx, c, u)
	if err != nil {
		return nil, fmt.Errorf("count %s claims: %w", gvk.Kind, err)
	}
	counts := map[string]int{}
	for _, obj := range store.List() {
		switch o := obj.(type) {
		case SyncedReasoner:
			counts[ClaimState(o.SyncedReason())]++
		case *unstructured.Unstructured:
			counts[ClaimState(SyncedReason(o))]++
		}
	}
	return counts, nil
}

// InformerStore is the store of the cache's informer for obj's kind: the
// objects as the cache holds them, shared and not to be changed. Reading it
// lists, copies and decodes nothing (a List from the cache copies every
// object). Like a read from the cache, it waits for the informer to have
// synced unless opts say otherwise.
func InformerStore(ctx context.Context, c cache.Informers, obj client.Object, opts ...cache.InformerGetOption) (toolscache.Store, error) {
	inf, err := c.GetInformer(ctx, obj, opts...)
	if err != nil {
		return nil, err
	}
	shared, ok := inf.(toolscache.SharedIndexInformer)
	if !ok {
		return nil, fmt.Errorf("the cache's informer (%T) has no store", inf)
	}
	return shared.GetStore(), nil
}

// CountClaims counts the local claims of a kind by ClaimState: from the API
// server in pages of pageSize, or in one List when pageSize is 0.
func CountClaims(ctx context.Context, c client.Reader, gvk schema.GroupVersionKind, pageSize int64) (map[string]int, error) {
	counts := map[string]int{}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	for {
		var opts []client.ListOption
		if pageSize > 0 {
			opts = append(opts, client.Limit(pageSize))
		}
		if cont := list.GetContinue(); cont != "" {
			opts = append(opts, client.Continue(cont))
		}
		if err := c.List(ctx, list, opts...); err != nil {
			return nil, fmt.Errorf("list %s claims: %w", gvk.Kind, err)
		}
		for i := range list.Items {
			counts[ClaimState(SyncedReason(&list.Items[i]))]++
		}
		// A cache marks its lists "continue-not-supported": one List is all.
		if pageSize == 0 || list.GetContinue() == "" {
			return counts, nil
		}
	}
}

// SummarizeClaims renders counts as "3 in sync, 1 stale, 0 in conflict":
// those three always, the other states when not zero.
func SummarizeClaims(counts map[string]int) string {
	parts := []string{}
	for _, s := range ClaimStates {
		if counts[s] > 0 || slices.Contains([]string{ClaimInSync, ClaimStale, ClaimInConflict}, s) {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	return strings.Join(parts, ", ")
}
