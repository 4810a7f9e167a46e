package conflict

// Remote describes what the control plane holds under a claim's mapped name.
type Remote int

const (
	// RemoteAbsent: nothing of that name exists.
	RemoteAbsent Remote = iota
	// RemoteOurs: it carries our cluster id and points back at this claim.
	RemoteOurs
	// RemoteOtherClaim: it carries our cluster id but another namespace/name
	// (a hash collision or tampering): never touched.
	RemoteOtherClaim
	// RemoteOtherCluster: it carries another app cluster's id.
	RemoteOtherCluster
	// RemoteUnmarked: it carries no origin marks (created by someone else).
	RemoteUnmarked
	// RemoteOtherCopy: it carries our cluster id and points back at this
	// claim's namespace and name, but records another claim uid: another
	// copy of this claim pushed it, from an app cluster that shares our
	// cluster id (a restored or cloned cluster keeps the kube-system uid).
	RemoteOtherCopy
)

func (r Remote) String() string {
	switch r {
	case RemoteAbsent:
		return "Absent"
	case RemoteOurs:
		return "Ours"
	case RemoteOtherClaim:
		return "OtherClaim"
	case RemoteOtherCluster:
		return "OtherCluster"
	case RemoteUnmarked:
		return "Unmarked"
	case RemoteOtherCopy:
		return "OtherCopy"
	}
	return "Unknown"
}

// ClassifyRemote says whose the remote object is. exists is false when the
// control plane confirmed there is no such object. A remote claim that
// records a claim uid is ours only if it is want's uid; one that records
// none (pushed by an older connector) is ours by cluster id, namespace and
// name alone.
func ClassifyRemote(exists bool, labels, annotations map[string]string, want Origin) Remote {
	if !exists {
		return RemoteAbsent
	}
	got, ok := OriginOf(labels, annotations)
	switch {
	case labels[LabelClusterID] == "" && !ok:
		return RemoteUnmarked
	case got.ClusterID != want.ClusterID:
		return RemoteOtherCluster
	case got.Namespace != want.Namespace || got.Name != want.Name:
		return RemoteOtherClaim
	case got.UID != "" && got.UID != want.UID:
		return RemoteOtherCopy
	}
	return RemoteOurs
}

// ClassifyImport refines ClassifyRemote for a local claim that an import
// created and has not finished (importedFrom is its AnnotationImportedFrom,
// "" for any other claim). The remote claim it was imported from, still as
// an uninstall left it (no cluster-id label, orphaned "uninstalled", origin
// annotations naming this cluster and claim) and with the very uid recorded,
// is ours: the copy's push takes it back. Anything else keeps its class.
func ClassifyImport(class Remote, remoteUID string, annotations map[string]string, want Origin, importedFrom string) Remote {
	if class != RemoteUnmarked || importedFrom == "" || remoteUID != importedFrom ||
		annotations[AnnotationOrphaned] != OrphanedByUninstall || annotations[AnnotationClusterID] != want.ClusterID ||
		annotations[AnnotationClaimNamespace] != want.Namespace || annotations[AnnotationClaimName] != want.Name {
		return class
	}
	return RemoteOurs
}

// Action is what the spec push does with a remote object.
type Action int

const (
	// ActionApply: create or update the remote claim from the local one.
	ActionApply Action = iota
	// ActionAdopt: take over a foreign remote claim (opt-in), then apply.
	ActionAdopt
	// ActionRefuse: leave the remote object alone and report a conflict.
	ActionRefuse
)

// Push decides what the spec push may do, given whose the remote object is
// and whether the user opted in to adoption for this claim or globally.
// An object pointing at another claim of our own cluster is never adopted:
// that would hand one claim's composite resources to another.
func Push(r Remote, adopt bool) Action {
	switch r {
	case RemoteAbsent, RemoteOurs:
		return ActionApply
	case RemoteOtherCluster, RemoteUnmarked, RemoteOtherCopy:
		if adopt {
			return ActionAdopt
		}
	}
	return ActionRefuse
}

// MayDeleteRemote says whether deleting the local claim may delete the remote
// object: only ours, never someone else's and never one already gone.
func MayDeleteRemote(r Remote) bool {
	return r == RemoteOurs
}

// Reasons a push is refused, as Reason returns them. Package sync/condition
// lists them with every other reason of a claim's ControlPlaneSynced condition.
const (
	ReasonOwnedByOtherCluster = "OwnedByOtherCluster"
	ReasonForeignObject       = "ForeignObject"
	ReasonNameCollision       = "NameCollision"
	ReasonOwnedByOtherCopy    = "OwnedByOtherCopy"
)

// Reason returns a CamelCase reason and a human message for a refused push.
func (r Remote) Reason() (reason, message string) {
	return r.ReasonFor("")
}

// ReasonFor is Reason, with the claim uid that the remote object records
// (its AnnotationClaimUID) named in the message of RemoteOtherCopy.
func (r Remote) ReasonFor(recordedUID string) (reason, message string) {
	switch r {
	case RemoteOtherCopy:
		records := "another claim uid"
		if recordedUID != "" {
			records = "claim uid " + recordedUID
		}
		return ReasonOwnedByOtherCopy, "the claim of this name in the control-plane namespace carries this cluster's id but records " + records +
			", not this claim's: another copy of this claim pushed it, from an app cluster with the same cluster id (a restored or cloned cluster keeps the kube-system uid); set annotation " +
			AnnotationAdopt + "=true to take it over"
	case RemoteOtherCluster:
		return ReasonOwnedByOtherCluster, "a claim of this name in the control-plane namespace belongs to another app cluster; set annotation " + AnnotationAdopt + "=true to take it over"
	case RemoteUnmarked:
		return ReasonForeignObject, "a claim of this name in the control-plane namespace was not created by mcp-connector; set annotation " + AnnotationAdopt + "=true to take it over"
	case RemoteOtherClaim:
		return ReasonNameCollision, "the mapped remote name is used by another claim of this cluster"
	}
	return "", ""
}
