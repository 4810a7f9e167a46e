// Package orphan is the hand-over protocol between an uninstall and a later
// install of the connector: how a remote claim is marked as let go
// (OrphanPatch), how a connector recognises claims that an uninstall of its
// own cluster left behind (ImportCandidate), what local copy it re-creates
// (LocalCopy, PushedSpec), and how it removes the uninstall's marks once the
// copy took its remote claim back (ReleasePatch).
//
// It is pure: objects in, patches and objects out. The uninstall that writes
// the patches lives in cmd/lifecycle, the import that reads them in sync.
package orphan
