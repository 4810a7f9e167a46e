package controlplane

import "sigs.k8s.io/controller-runtime/pkg/source"

// NonBlocking wraps a source so that the controller does not wait for it to
// sync before it starts its workers. Used for control-plane sources, which
// may be unreachable for a long time; reconcilers check the Gate before they
// read the control plane's cache.
func NonBlocking(src source.Source) source.Source {
	return source.Func(src.Start)
}
