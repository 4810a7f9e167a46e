package conflict

// Marks written by mcp-connector. Labels carry values that fit a label value
// (at most 63 characters) and are used for selection; annotations carry the
// rest. Crossplane copies a claim's labels and annotations to its composite
// resource, so the origin of a composite is visible in the control plane too.
const (
	// Prefix is the domain of every label, annotation and finalizer we own.
	Prefix = "mcp-connector.io/"

	// LabelClusterID names the app cluster a remote claim comes from.
	LabelClusterID = Prefix + "cluster-id"
	// LabelClaimNamespace is the namespace of the local claim (fits a label).
	LabelClaimNamespace = Prefix + "claim-namespace"
	// LabelManaged marks local objects written by the connector (Secrets, CRDs).
	LabelManaged = Prefix + "managed"

	// AnnotationClusterID repeats the cluster id for readers of annotations.
	AnnotationClusterID = Prefix + "cluster-id"
	// AnnotationClaimNamespace is the namespace of the local claim.
	AnnotationClaimNamespace = Prefix + "claim-namespace"
	// AnnotationClaimName is the name of the local claim (up to 253 characters).
	AnnotationClaimName = Prefix + "claim-name"
	// AnnotationClaimUID is the uid of the local claim.
	AnnotationClaimUID = Prefix + "claim-uid"
	// AnnotationSpecHash is the hash of the spec the connector last pushed.
	// A remote spec that no longer matches it was changed by someone else.
	AnnotationSpecHash = Prefix + "spec-hash"
	// AnnotationMetadataHash is the hash of the labels and annotations the
	// connector last pushed; a change means local metadata changed.
	AnnotationMetadataHash = Prefix + "metadata-hash"

	// AnnotationDeletionPolicy on a local claim chooses what deleting it does
	// remotely: "Delete" (the default) or "Orphan".
	AnnotationDeletionPolicy = Prefix + "deletion-policy"
	// AnnotationAdopt on a local claim allows taking over a remote claim of
	// the same mapped name that carries no marks or another cluster's marks.
	AnnotationAdopt = Prefix + "adopt"
	// AnnotationOrphaned on a remote claim says the connector let go of it
	// (orphan delete or uninstall); the value says why.
	AnnotationOrphaned = Prefix + "orphaned"
	// AnnotationImportedFrom on a local claim says that an import created it
	// from the orphaned remote claim of that uid and has not finished yet:
	// the remote claim is still marked as orphaned. The copy's reconcile
	// takes it back (see ClassifyImport), then removes this annotation.
	AnnotationImportedFrom = Prefix + "imported-from"

	// Finalizer keeps a local claim until its remote counterpart is gone.
	Finalizer = Prefix + "finalizer"
)

// OrphanedByUninstall is the value of AnnotationOrphaned that an uninstall
// (or the deletion of a mirrored CRD) writes: only claims orphaned so are
// imported again (package sync/orphan).
const OrphanedByUninstall = "uninstalled"

// Deletion policies accepted in AnnotationDeletionPolicy.
const (
	DeletionPolicyDelete = "Delete"
	DeletionPolicyOrphan = "Orphan"
)

// Origin identifies the local claim a remote claim was created from.
type Origin struct {
	ClusterID string
	Namespace string
	Name      string
	UID       string
}

// Labels returns the origin labels of a remote claim.
func (o Origin) Labels() map[string]string {
	return map[string]string{
		LabelClusterID:      o.ClusterID,
		LabelClaimNamespace: o.Namespace,
	}
}

// Annotations returns the origin annotations of a remote claim.
func (o Origin) Annotations() map[string]string {
	return map[string]string{
		AnnotationClusterID:      o.ClusterID,
		AnnotationClaimNamespace: o.Namespace,
		AnnotationClaimName:      o.Name,
		AnnotationClaimUID:       o.UID,
	}
}

// OriginOf reads the origin marks of a remote object. ok is false when the
// object carries no complete set of marks.
func OriginOf(labels, annotations map[string]string) (o Origin, ok bool) {
	o = Origin{
		ClusterID: labels[LabelClusterID],
		Namespace: annotations[AnnotationClaimNamespace],
		Name:      annotations[AnnotationClaimName],
		UID:       annotations[AnnotationClaimUID],
	}
	return o, o.ClusterID != "" && o.Namespace != "" && o.Name != ""
}
