package lifecycle

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"

	"github.com/mcp-connector/mcp-connector/conflict"
	"github.com/mcp-connector/mcp-connector/sync"
)

func newUpboundObject(clusterID, ns, name string) UpboundObject {
	return UpboundObject{Name: sync.UpboundRemoteName(clusterID, ns, name, false), Labels: map[string]string{
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
	nxr.Name, nxr.NamespacedXR = sync.UpboundRemoteName(id, "team-a", "xr", true), true
	noLabels := UpboundObject{Name: "claim-1", Labels: map[string]string{sync.UpboundLabelAppCluster: id}}

	cases := map[string]struct {
		remotes []UpboundObject
		locals  map[types.NamespacedName]bool
		want    []MigrationItem
	}{
		"Import": {remotes: []UpboundObject{newUpboundObject(id, "team-a", "db")},
			want: []MigrationItem{{Remote: newUpboundObject(id, "team-a", "db").Name, Local: key("team-a", "db"), Action: MigrateImport}}},
		"NamespacedXR": {remotes: []UpboundObject{nxr},
			want: []MigrationItem{{Remote: nxr.Name, Local: key("team-a", "xr"), Action: MigrateImport}}},
		"NamespaceMissing": {remotes: []UpboundObject{newUpboundObject(id, "gone", "db")},
			want: []MigrationItem{{Remote: newUpboundObject(id, "gone", "db").Name, Local: key("gone", "db"), Action: MigrateNamespaceMissing}}},
		"LocalExists": {remotes: []UpboundObject{newUpboundObject(id, "team-a", "db")}, locals: map[types.NamespacedName]bool{key("team-a", "db"): true},
			want: []MigrationItem{{Remote: newUpboundObject(id, "team-a", "db").Name, Local: key("team-a", "db"), Action: MigrateLocalExists}}},
		"MigratedAlreadyWinsOverLocalExists": {remotes: []UpboundObject{migrated, annotated}, locals: map[types.NamespacedName]bool{key("team-a", "done"): true},
			want: []MigrationItem{
				{Remote: migrated.Name, Local: key("team-a", "done"), Action: MigrateDone},
				{Remote: annotated.Name, Local: key("team-a", "half"), Action: MigrateDone},
			}},
		"NameNotUpbounds": {remotes: []UpboundObject{renamed, noLabels},
			want: []MigrationItem{
				{Remote: "claim-1", Local: key("", ""), Action: MigrateNotUpbounds},
				{Remote: renamed.Name, Local: key("team-a", "db"), Action: MigrateNotUpbounds},
			}},
		"OtherClusterLeftOut": {remotes: []UpboundObject{newUpboundObject("up-2", "team-a", "db")}},
		"SortedByLocal": {remotes: []UpboundObject{newUpboundObject(id, "team-b", "a"), newUpboundObject(id, "team-a", "b")},
			want: []MigrationItem{
				{Remote: newUpboundObject(id, "team-a", "b").Name, Local: key("team-a", "b"), Action: MigrateImport},
				{Remote: newUpboundObject(id, "team-b", "a").Name, Local: key("team-b", "a"), Action: MigrateImport},
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
		{Remote: "claim-a", Local: types.NamespacedName{Namespace: "team-a", Name: "db"}, Action: MigrateImport},
		{Remote: "claim-b", Local: types.NamespacedName{Namespace: "gone", Name: "db"}, Action: MigrateNamespaceMissing},
	}
	want := "  claim-a -> team-a/db: import\n  claim-b -> gone/db: conflict: its namespace does not exist in this cluster\n" +
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
