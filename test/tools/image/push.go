package main

import (
	"context"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// push copies the image index of the OCI layout at dir, as written by build,
// to ref, with the credentials of ~/.docker/config.json (docker login,
// crane auth login) or none.
func push(ctx context.Context, dir, ref string) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return fmt.Errorf("--push %q: %w", ref, err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return fmt.Errorf("read OCI layout %s (run make image first): %w", dir, err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return err
	}
	m, err := top.IndexManifest()
	if err != nil {
		return err
	}
	if len(m.Manifests) != 1 {
		return fmt.Errorf("OCI layout %s holds %d entries, want the one image index make image writes", dir, len(m.Manifests))
	}
	idx, err := top.ImageIndex(m.Manifests[0].Digest)
	if err != nil {
		return fmt.Errorf("OCI layout %s: %w", dir, err)
	}
	if err := remote.WriteIndex(r, idx, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
		return fmt.Errorf("push %s: %w", r, err)
	}
	fmt.Fprintf(os.Stderr, "Pushed %s@%s\n", r, m.Manifests[0].Digest)
	return nil
}
