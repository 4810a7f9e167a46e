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
	}
	return "Unknown"
}

// ClassifyRemote says whose the remote object is. exists is false when the
// control plane confirmed there is no such object.
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
	case RemoteOtherCluster, RemoteUnmarked:
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
)

// Reason returns a CamelCase reason and a human message for a refused push.
func (r Remote) Reason() (reason, message string) {
	switch r {
	case RemoteOtherCluster:
		return ReasonOwnedByOtherCluster, "a claim of this name in the control-plane namespace belongs to another app cluster; set annotation " + AnnotationAdopt + "=true to take it over"
	case RemoteUnmarked:
		return ReasonForeignObject, "a claim of this name in the control-plane namespace was not created by mcp-connector; set annotation " + AnnotationAdopt + "=true to take it over"
	case RemoteOtherClaim:
		return ReasonNameCollision, "the mapped remote name is used by another claim of this cluster"
	}
	return "", ""
}
