package lifecycle

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
)

// The decisions of a migration in place from Upbound's MCP Connector
// (docs/migrate-from-upbound.md), apart from the calls that carry them out:
// which remote objects are that connector's for this app cluster, and what
// the migration does with each. Its dry run prints the plan.

// MigrationAction is what a migration does with one remote object.
type MigrationAction string

const (
	// MigrateImport: a local copy is created and the remote object is synced
	// from then on, under its name.
	MigrateImport MigrationAction = "import"
	// MigrateLocalExists: a local object of that name exists; nothing is done.
	MigrateLocalExists MigrationAction = "conflict: a local object of that name exists"
	// MigrateNamespaceMissing: the app namespace does not exist; nothing is
	// done until it does.
	MigrateNamespaceMissing MigrationAction = "conflict: its namespace does not exist in this cluster"
	// MigrateDone: migrated already (it carries mcp-connector's marks).
	MigrateDone MigrationAction = "migrated already"
	// MigrateNotUpbounds: labelled as Upbound's, but its name is not the one
	// Upbound's connector gives those labels: left alone.
	MigrateNotUpbounds MigrationAction = "skipped: its name is not the one Upbound's connector gives its labels"
)

// Marks says whether --yes marks the remote object to import: a claim to
// import, and one whose namespace is missing (the connector imports it when
// the namespace is created). A local object of the same name is never
// overwritten: that claim stays Upbound's until the conflict is resolved.
func (a MigrationAction) Marks() bool {
	return a == MigrateImport || a == MigrateNamespaceMissing
}

// UpboundObject is what the plan reads of one remote object.
type UpboundObject struct {
	// Kind is its kind: a claim kind, or a namespaced XR kind (NamespacedXR).
	// Objects of two kinds may share a name (Upbound's names leave the kind
	// out).
	Kind         schema.GroupKind
	Name         string
	Labels       map[string]string
	Annotations  map[string]string
	NamespacedXR bool
}

// MigrationItem is the plan for one remote object.
type MigrationItem struct {
	Kind   schema.GroupKind
	Remote string
	Local  types.NamespacedName
	Action MigrationAction
}

// LocalKey is a local object of a kind.
type LocalKey struct {
	Kind schema.GroupKind
	types.NamespacedName
}

// PlanUpboundMigration decides, for each remote object labelled as Upbound's
// connector's for the app cluster upboundClusterID, what the migration does,
// given the namespaces and the local objects of the app cluster. Objects of
// other app clusters are not in the plan. The plan is sorted by local key,
// then kind.
func PlanUpboundMigration(upboundClusterID string, remotes []UpboundObject, namespaces map[string]bool, locals map[LocalKey]bool) []MigrationItem {
	var plan []MigrationItem
	for _, r := range remotes {
		if r.Labels[sync.UpboundLabelAppCluster] != upboundClusterID {
			continue
		}
		local := types.NamespacedName{Namespace: r.Labels[sync.UpboundLabelAppNamespace], Name: r.Labels[sync.UpboundLabelAppName]}
		plan = append(plan, MigrationItem{Kind: r.Kind, Remote: r.Name, Local: local, Action: migrationAction(upboundClusterID, r, local, namespaces, locals)})
	}
	slices.SortFunc(plan, func(a, b MigrationItem) int {
		return strings.Compare(a.Local.String()+"\x00"+a.Kind.String()+"\x00"+a.Remote, b.Local.String()+"\x00"+b.Kind.String()+"\x00"+b.Remote)
	})
	return plan
}

func migrationAction(clusterID string, r UpboundObject, local types.NamespacedName, namespaces map[string]bool, locals map[LocalKey]bool) MigrationAction {
	_, labelled := r.Labels[conflict.LabelClusterID]
	_, marked := r.Annotations[conflict.AnnotationClusterID]
	switch {
	case local.Namespace == "" || local.Name == "" || r.Name != sync.UpboundRemoteName(clusterID, local.Namespace, local.Name, r.NamespacedXR):
		return MigrateNotUpbounds
	case labelled || marked:
		return MigrateDone
	case !namespaces[local.Namespace]:
		return MigrateNamespaceMissing
	case locals[LocalKey{Kind: r.Kind, NamespacedName: local}]:
		return MigrateLocalExists
	}
	return MigrateImport
}

// FormatMigrationPlan is the dry run's report: one line per remote object
// (<Kind>.<group>/<name> -> <namespace>/<name>: <action>) and a count of
// each action.
func FormatMigrationPlan(plan []MigrationItem) string {
	var b strings.Builder
	counts := map[MigrationAction]int{}
	for _, it := range plan {
		fmt.Fprintf(&b, "  %s/%s -> %s: %s\n", it.Kind, it.Remote, it.Local, it.Action)
		counts[it.Action]++
	}
	fmt.Fprintf(&b, "%d to import, %d in conflict, %d migrated already, %d skipped\n", counts[MigrateImport],
		counts[MigrateLocalExists]+counts[MigrateNamespaceMissing], counts[MigrateDone], counts[MigrateNotUpbounds])
	return b.String()
}
