package lifecycle

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
)

var (
	upClaimKind = schema.GroupKind{Group: "example.org", Kind: "Database"}
	upOtherKind = schema.GroupKind{Group: "example.org", Kind: "Cache"}
	upXRKind    = schema.GroupKind{Group: "data.example.org", Kind: "Database"}
)

func newUpboundObject(clusterID, ns, name string) UpboundObject {
	return UpboundObject{Kind: upClaimKind, Name: sync.UpboundRemoteName(clusterID, ns, name, false), Labels: map[string]string{
		sync.UpboundLabelAppCluster: clusterID, sync.UpboundLabelAppNamespace: ns, sync.UpboundLabelAppName: name}}
}

func TestPlanUpboundMigration(t *testing.T) {
	const id = "up-1"
	key := func(ns, name string) types.NamespacedName { return types.NamespacedName{Namespace: ns, Name: name} }
	renamed := newUpboundObject(id, "team-a", "db")
	renamed.Name = "claim-0000000000000000"
	migrated := newUpboundObject(id, "team-a", "done")
	migrated.Labels[conflict.LabelClusterID] = "ours"
	annotated := newUpboundObject(id, "team-a", "half")
	annotated.Annotations = map[string]string{conflict.AnnotationClusterID: "ours"}
	nxr := newUpboundObject(id, "team-a", "xr")
	nxr.Kind, nxr.Name, nxr.NamespacedXR = upXRKind, sync.UpboundRemoteName(id, "team-a", "xr", true), true
	noLabels := UpboundObject{Kind: upClaimKind, Name: "claim-1", Labels: map[string]string{sync.UpboundLabelAppCluster: id}}
	cache := newUpboundObject(id, "team-a", "db")
	cache.Kind = upOtherKind
	local := func(gk schema.GroupKind, ns, name string) map[LocalKey]bool {
		return map[LocalKey]bool{{Kind: gk, NamespacedName: key(ns, name)}: true}
	}

	cases := map[string]struct {
		remotes []UpboundObject
		locals  map[LocalKey]bool
		want    []MigrationItem
	}{
		"Import": {remotes: []UpboundObject{newUpboundObject(id, "team-a", "db")},
			want: []MigrationItem{{Kind: upClaimKind, Remote: newUpboundObject(id, "team-a", "db").Name, Local: key("team-a", "db"), Action: MigrateImport}}},
		"NamespacedXR": {remotes: []UpboundObject{nxr},
			want: []MigrationItem{{Kind: upXRKind, Remote: nxr.Name, Local: key("team-a", "xr"), Action: MigrateImport}}},
		"NamespaceMissing": {remotes: []UpboundObject{newUpboundObject(id, "gone", "db")},
			want: []MigrationItem{{Kind: upClaimKind, Remote: newUpboundObject(id, "gone", "db").Name, Local: key("gone", "db"), Action: MigrateNamespaceMissing}}},
		"LocalExists": {remotes: []UpboundObject{newUpboundObject(id, "team-a", "db")}, locals: local(upClaimKind, "team-a", "db"),
			want: []MigrationItem{{Kind: upClaimKind, Remote: newUpboundObject(id, "team-a", "db").Name, Local: key("team-a", "db"), Action: MigrateLocalExists}}},
		"MigratedAlreadyWinsOverLocalExists": {remotes: []UpboundObject{migrated, annotated}, locals: local(upClaimKind, "team-a", "done"),
			want: []MigrationItem{
				{Kind: upClaimKind, Remote: migrated.Name, Local: key("team-a", "done"), Action: MigrateDone},
				{Kind: upClaimKind, Remote: annotated.Name, Local: key("team-a", "half"), Action: MigrateDone},
			}},
		"NameNotUpbounds": {remotes: []UpboundObject{renamed, noLabels},
			want: []MigrationItem{
				{Kind: upClaimKind, Remote: "claim-1", Local: key("", ""), Action: MigrateNotUpbounds},
				{Kind: upClaimKind, Remote: renamed.Name, Local: key("team-a", "db"), Action: MigrateNotUpbounds},
			}},
		"TwoKindsOneName": {remotes: []UpboundObject{newUpboundObject(id, "team-a", "db"), cache}, locals: local(upOtherKind, "team-a", "db"),
			want: []MigrationItem{
				{Kind: upOtherKind, Remote: cache.Name, Local: key("team-a", "db"), Action: MigrateLocalExists},
				{Kind: upClaimKind, Remote: cache.Name, Local: key("team-a", "db"), Action: MigrateImport},
			}},
		"OtherClusterLeftOut": {remotes: []UpboundObject{newUpboundObject("up-2", "team-a", "db")}},
		"SortedByLocal": {remotes: []UpboundObject{newUpboundObject(id, "team-b", "a"), newUpboundObject(id, "team-a", "b")},
			want: []MigrationItem{
				{Kind: upClaimKind, Remote: newUpboundObject(id, "team-a", "b").Name, Local: key("team-a", "b"), Action: MigrateImport},
				{Kind: upClaimKind, Remote: newUpboundObject(id, "team-b", "a").Name, Local: key("team-b", "a"), Action: MigrateImport},
			}},
	}
	namespaces := map[string]bool{"team-a": true, "team-b": true}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := PlanUpboundMigration(id, tc.remotes, namespaces, tc.locals)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("PlanUpboundMigration (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatMigrationPlan(t *testing.T) {
	plan := []MigrationItem{
		{Kind: upClaimKind, Remote: "claim-a", Local: types.NamespacedName{Namespace: "team-a", Name: "db"}, Action: MigrateImport},
		{Kind: upClaimKind, Remote: "claim-b", Local: types.NamespacedName{Namespace: "gone", Name: "db"}, Action: MigrateNamespaceMissing},
	}
	want := "  Database.example.org/claim-a -> team-a/db: import\n  Database.example.org/claim-b -> gone/db: conflict: its namespace does not exist in this cluster\n" +
		"1 to import, 1 in conflict, 0 migrated already, 0 skipped\n"
	if diff := cmp.Diff(want, FormatMigrationPlan(plan)); diff != "" {
		t.Errorf("FormatMigrationPlan (-want +got):\n%s", diff)
	}
}

func TestMigrationActionMarks(t *testing.T) {
	want := map[MigrationAction]bool{MigrateImport: true, MigrateNamespaceMissing: true, MigrateLocalExists: false, MigrateDone: false, MigrateNotUpbounds: false}
	for a, w := range want {
		if got := a.Marks(); got != w {
			t.Errorf("%q.Marks() = %v, want %v", a, got, w)
		}
	}
}
