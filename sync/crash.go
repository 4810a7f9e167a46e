package sync

import "os"

// CrashAtEnv names a test hook: when the environment variable is set to one
// of the crash points below as the connector starts, the connector kills
// itself (SIGKILL, no cleanup) the first time it reaches that point. The
// end-to-end tests use it to prove that every step of an import is safe to
// die at. Nothing sets it in production.
const CrashAtEnv = "MCP_CONNECTOR_CRASH_AT"

// The crash points of an import, between its writes, in order.
const (
	// CrashImportCreated: the local copy exists (with
	// conflict.AnnotationImportedFrom); the remote claim is still orphaned.
	CrashImportCreated = "import-created"
	// CrashImportPushed: the copy's push took the remote claim back (label
	// and origin marks); the uninstall's marks are still on it.
	CrashImportPushed = "import-pushed"
	// CrashImportReleased: the uninstall's marks are gone from the remote
	// claim; the copy still carries conflict.AnnotationImportedFrom.
	CrashImportReleased = "import-released"
)

// crashHook kills the process at the point it was armed for, once read from
// CrashAtEnv (see newReconciler); an empty one does nothing.
type crashHook string

func (h crashHook) at(point string) {
	if h == "" || string(h) != point {
		return
	}
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill()
		select {} // the signal is on its way; nothing runs after this point
	}
}
