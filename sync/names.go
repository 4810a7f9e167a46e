package sync

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// AnnotationRemoteName on a local claim names its remote claim when that is
// not RemoteName's mapping: an import of a remote claim that another
// connector named (a migration in place from Upbound's MCP Connector) keeps
// that name, so the remote claim is neither renamed nor re-created. Whatever
// it names is classified like any remote claim (conflict.ClassifyRemote): a
// name that is another claim's is refused.
const AnnotationRemoteName = "mcp-connector.io/remote-name"

// RemoteNameOf is the name of a local claim's remote claim: the one its
// AnnotationRemoteName records, if valid, else RemoteName's.
func RemoteNameOf(clusterID string, local metav1.Object) string {
	if n := local.GetAnnotations()[AnnotationRemoteName]; n != "" && len(n) <= MaxRemoteNameLength && len(validation.IsDNS1123Label(n)) == 0 {
		return n
	}
	return RemoteName(clusterID, local.GetNamespace(), local.GetName())
}

// MaxRemoteNameLength is the longest remote claim name: Crossplane copies a
// claim's name into a label value of its composite, which allows 63.
const MaxRemoteNameLength = 63

// hashLength characters of base32 give 60 bits: a collision among a million
// claims of one cluster has a chance of about one in two million, and a
// collision is detected (conflict.RemoteOtherClaim), never acted on.
const hashLength = 12

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// RemoteName maps a local claim to its name in the control-plane namespace:
//
//	<prefix of the local name>-<hash of cluster id, namespace and name>
//
// The hash covers every input with an unambiguous encoding (NUL cannot occur
// in any of them), so different claims of a cluster map to different names
// and the same claim always maps to the same one. The prefix keeps the name
// readable; the result is at most 63 characters and a valid DNS label.
func RemoteName(clusterID, namespace, name string) string {
	return readable(name, MaxRemoteNameLength-hashLength-1) + "-" + digest(clusterID, namespace, name)
}

// RemoteSecretName is the name of the connection Secret the remote claim
// writes. Kind and group are part of the hash: claims of different kinds may
// share a local namespace and name, and their Secrets share one namespace.
func RemoteSecretName(clusterID, group, kind, namespace, name string) string {
	return readable(name, MaxRemoteNameLength-hashLength-1) + "-" + digest(clusterID, group, kind, namespace, name)
}

func digest(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return lowerBase32.EncodeToString(sum[:])[:hashLength]
}

// readable keeps at most max characters of name that are valid in a DNS label
// (dots become dashes) and trims dashes at both ends.
func readable(name string, max int) string {
	b := make([]byte, 0, max)
	for i := 0; i < len(name) && len(b) < max; i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, '-')
		}
	}
	s := strings.Trim(string(b), "-")
	if s == "" {
		return "claim"
	}
	return s
}

// XRSecretName is the local name of the copy of a Secret that a namespaced
// XR's composition composed in the control plane (secretName there):
//
//	<prefix of "<local XR name>-<secret name>">-<hash of group, kind, XR name and secret name>
//
// at most 63 characters. Different XRs, kinds or Secrets map to different
// names, and the same one always to the same name. A Secret of that name
// that the connector did not write is never overwritten (SecretConflict).
func XRSecretName(group, kind, xrName, secretName string) string {
	return readable(xrName+"-"+secretName, MaxRemoteNameLength-hashLength-1) + "-" + digest(group, kind, xrName, secretName)
}
