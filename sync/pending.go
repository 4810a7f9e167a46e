package sync

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// The record of pending orphans: remote claims whose local claim went while
// the control plane did not answer (deletion policy Orphan, or
// `mcp-connector release`). Such a remote claim still carries this
// cluster's marks, so a later local claim of the same name would silently
// attach to it; the record keeps it, in the app cluster, until the control
// plane answers and the remote claim is marked orphaned. This file holds the
// pure parts: the format of the record and what a pass does with an entry.

// PendingOrphansConfigMap is the ConfigMap, in the connector's own
// namespace, that holds the pending orphans: one data key per remote claim
// (PendingOrphan.Key), its value the entry as JSON.
const PendingOrphansConfigMap = "mcp-connector-pending-orphans"

// OrphanedClaimDeleted is the value of conflict.AnnotationOrphaned on a
// remote claim let go because its local claim was deleted (deletion policy
// Orphan, or released): it is never imported again.
const OrphanedClaimDeleted = "claim-deleted"

// PendingOrphan is one remote claim left in the control plane untouched,
// waiting to be marked orphaned.
type PendingOrphan struct {
	// ClusterID and Namespace say whose and where the remote claim is: only
	// the connector of that cluster and control-plane namespace acts on it.
	ClusterID string `json:"clusterID"`
	Namespace string `json:"controlPlaneNamespace"`
	Group     string `json:"group"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	// Name is the remote claim's name; UID its uid, when it was known.
	Name string    `json:"name"`
	UID  types.UID `json:"uid,omitempty"`
	// LocalNamespace, LocalName and LocalUID are the local claim that went.
	LocalNamespace string    `json:"localNamespace"`
	LocalName      string    `json:"localName"`
	LocalUID       types.UID `json:"localUID"`
	// Since is when the local claim was let go, and Why why the control
	// plane could not be told then.
	Since time.Time `json:"since"`
	Why   string    `json:"why"`
}

// NewPendingOrphan is the entry for a local claim of a kind let go now.
func NewPendingOrphan(cfg Config, gvk schema.GroupVersionKind, localNamespace, localName string, localUID types.UID, now time.Time, why string) PendingOrphan {
	return PendingOrphan{
		ClusterID: cfg.ClusterID, Namespace: cfg.Namespace,
		Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
		Name:           RemoteName(cfg.ClusterID, localNamespace, localName),
		LocalNamespace: localNamespace, LocalName: localName, LocalUID: localUID,
		Since: now.UTC().Truncate(time.Second), Why: why,
	}
}

// GVK is the kind of the remote (and of the local) claim.
func (p PendingOrphan) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: p.Group, Version: p.Version, Kind: p.Kind}
}

// Key is the entry's data key: the remote name (readable, at most 63
// characters) and a hash of cluster, namespace, kind and name, so that the
// remote claims of two connections or two kinds never share a key. It fits
// a ConfigMap key (at most 253 characters of [-._a-zA-Z0-9]).
func (p PendingOrphan) Key() string {
	return p.Name + "." + digest(p.ClusterID, p.Namespace, p.Group, p.Kind, p.Name)
}

// Origin is the origin the remote claim was marked with.
func (p PendingOrphan) Origin() conflict.Origin {
	return conflict.Origin{ClusterID: p.ClusterID, Namespace: p.LocalNamespace, Name: p.LocalName, UID: string(p.LocalUID)}
}

// EncodePending is the data value of an entry.
func EncodePending(p PendingOrphan) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encode pending orphan %s: %w", p.Name, err)
	}
	return string(b), nil
}

// DecodePending reads the entries of the record, sorted by key. An entry
// that cannot be read, or whose value does not belong under its key, is
// returned in bad (by key) and is never acted on: someone edited the
// record by hand.
func DecodePending(data map[string]string) (entries []PendingOrphan, bad []string) {
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var p PendingOrphan
		if err := json.Unmarshal([]byte(data[k]), &p); err != nil || p.Key() != k || p.Name == "" || p.Kind == "" {
			bad = append(bad, k)
			continue
		}
		entries = append(entries, p)
	}
	return entries, bad
}

// PendingOf picks the entries a syncer acts on: those of its cluster, its
// control-plane namespace and its kind (group and kind; the version may
// have changed since).
func PendingOf(entries []PendingOrphan, cfg Config, gvk schema.GroupVersionKind) []PendingOrphan {
	var out []PendingOrphan
	for _, p := range entries {
		if p.ClusterID == cfg.ClusterID && p.Namespace == cfg.Namespace && p.Group == gvk.Group && p.Kind == gvk.Kind {
			out = append(out, p)
		}
	}
	return out
}

// PendingAction is what a pass does with one entry, given the remote claim.
type PendingAction int

const (
	// PendingOrphanIt: the remote claim is still the one left behind and
	// still marked as ours: patch the orphan marks (with its uid and
	// resourceVersion as preconditions), then drop the entry.
	PendingOrphanIt PendingAction = iota
	// PendingDrop: nothing is left to do (the remote claim is gone, was
	// replaced, or is no longer marked as ours): drop the entry.
	PendingDrop
)

// RemoteFacts is what a live read of the control plane found under the
// entry's remote name.
type RemoteFacts struct {
	Exists      bool
	UID         types.UID
	Labels      map[string]string
	Annotations map[string]string
}

// DecidePending says what to do with an entry. A remote claim that is
// another object than the one left behind (another uid, or marked for
// another local claim uid: a new local claim of the name attached to it
// before the pass ran) is never touched: orphaning it would yank it from
// under a claim that uses it.
func DecidePending(p PendingOrphan, r RemoteFacts) (PendingAction, string) {
	switch {
	case !r.Exists:
		return PendingDrop, "the remote claim is gone"
	case p.UID != "" && r.UID != p.UID:
		return PendingDrop, "the remote claim was replaced (uid " + string(r.UID) + ", was " + string(p.UID) + ")"
	case conflict.ClassifyRemote(true, r.Labels, r.Annotations, p.Origin()) != conflict.RemoteOurs:
		return PendingDrop, "the remote claim is no longer marked as this cluster's"
	case p.LocalUID != "" && r.Annotations[conflict.AnnotationClaimUID] != "" && r.Annotations[conflict.AnnotationClaimUID] != string(p.LocalUID):
		return PendingDrop, "a new local claim of the same name uses the remote claim"
	}
	return PendingOrphanIt, "marked orphaned"
}

// PendingOrphanPatch is the merge patch that marks the remote claim orphaned:
// the cluster-id label goes, conflict.AnnotationOrphaned says claim-deleted,
// and uid and resourceVersion make it fail if the object is another one or
// changed since it was read.
func PendingOrphanPatch(uid types.UID, resourceVersion string) ([]byte, error) {
	return json.Marshal(map[string]any{"metadata": map[string]any{
		"uid":             uid,
		"resourceVersion": resourceVersion,
		"labels":          map[string]any{conflict.LabelClusterID: nil},
		"annotations":     map[string]any{conflict.AnnotationOrphaned: OrphanedClaimDeleted},
	}})
}
