package sync

import (
	"crypto/sha256"
	"encoding/hex"
)

// The marks and names of Upbound's MCP Connector, which a migration in place
// (docs/migrate-from-upbound.md) reads. Its remote objects live in the one
// control-plane namespace of the app cluster, each named after a hash of
// the local object, and carry where they came from in three labels.
const (
	UpboundLabelAppCluster   = "mcp-connector.upbound.io/app-cluster"
	UpboundLabelAppNamespace = "mcp-connector.upbound.io/app-namespace"
	UpboundLabelAppName      = "mcp-connector.upbound.io/app-resource-name"
)

// upboundHashLength is how many hex digits of the hash Upbound's names keep.
const upboundHashLength = 16

// UpboundRemoteName is the name Upbound's MCP Connector gives the remote
// object of the local object namespace/name of the app cluster clusterID:
// claim-<hash> for a claim, nxr-<hash> for a namespaced composite resource,
// the hash being the first 16 hex digits of
// sha256(name + "-x-" + namespace + "-x-" + clusterID).
func UpboundRemoteName(clusterID, namespace, name string, namespacedXR bool) string {
	sum := sha256.Sum256([]byte(name + "-x-" + namespace + "-x-" + clusterID))
	prefix := "claim-"
	if namespacedXR {
		prefix = "nxr-"
	}
	return prefix + hex.EncodeToString(sum[:])[:upboundHashLength]
}
