package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// build compiles the connector for each platform, assembles one image per
// platform and writes their index as an OCI layout at o.Out.
func build(ctx context.Context, o *Options) error {
	root, err := filepath.Abs(o.Source)
	if err != nil {
		return err
	}
	c, err := gitCommit(ctx, root)
	if err != nil {
		return err
	}
	platforms, err := o.platforms()
	if err != nil {
		return err
	}
	labels := ociLabels(o, c)
	tag, err := name.NewTag(o.Repository + ":" + o.Version)
	if err != nil {
		return fmt.Errorf("image name %s:%s: %w", o.Repository, o.Version, err)
	}
	base, err := tarLayer(baseEntries(), c.Time)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "mcp-image-")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(work) }()

	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		img, err := platformImage(ctx, root, work, p, o.Version, c, base, labels)
		if err != nil {
			return err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.OS, Architecture: p.Arch}}})
		if o.DockerArchives {
			path := fmt.Sprintf("%s-%s-%s.tar", filepath.Clean(o.Out), p.OS, p.Arch)
			if err := tarball.WriteToFile(path, tag, img); err != nil {
				return fmt.Errorf("write docker archive %s: %w", path, err)
			}
			fmt.Fprintf(os.Stderr, "Wrote %s (%s)\n", path, p)
		}
	}
	idx = mutate.Annotations(idx, labels).(v1.ImageIndex)
	return writeLayout(o.Out, idx, tag)
}

// platformImage is the image of one platform: the shared base layer, the
// binary's layer, and a config that runs the binary as the non-root user.
func platformImage(ctx context.Context, root, work string, p platform, version string, c commitInfo, base v1.Layer, labels map[string]string) (v1.Image, error) {
	bin := filepath.Join(work, "mcp-connector-"+p.OS+"-"+p.Arch)
	if err := buildBinary(ctx, root, p, version, c, bin); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	binLayer, err := tarLayer(binaryEntries(data), c.Time)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: c.Time}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "mcp-connector image: CA bundle, passwd, /tmp"}},
		mutate.Addendum{Layer: binLayer, MediaType: types.OCILayer, History: v1.History{Created: created, CreatedBy: "mcp-connector image: " + binaryPath}},
	)
	if err != nil {
		return nil, fmt.Errorf("image for %s: %w", p, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = p.OS, p.Arch, created
	cf.Config = v1.Config{
		Entrypoint: []string{binaryPath},
		User:       fmt.Sprintf("%d:%d", nonRoot, nonRoot),
		WorkingDir: "/",
		Env:        []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + caBundlePath},
		Labels:     labels,
	}
	return mutate.ConfigFile(img, cf)
}

// ociLabels are the org.opencontainers.image.* labels (and index
// annotations), all derived from the commit so that a rebuild is identical.
func ociLabels(o *Options, c commitInfo) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "mcp-connector",
		"org.opencontainers.image.description": "Mirrors a Crossplane control plane's claim APIs into an app cluster",
		"org.opencontainers.image.source":      "https://github.com/mcp-connector/mcp-connector",
		"org.opencontainers.image.url":         "https://github.com/mcp-connector/mcp-connector",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.revision":    c.Revision,
		"org.opencontainers.image.created":     c.Time.Format(time.RFC3339),
		"org.opencontainers.image.licenses":    o.Licenses,
	}
}

// writeLayout replaces dir with an OCI layout holding idx, named by tag for
// the tools that read a layout (skopeo, crane, ctr).
func writeLayout(dir string, idx v1.ImageIndex, tag name.Tag) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	p, err := layout.Write(dir, mutate.IndexMediaType(empty.Index, types.OCIImageIndex))
	if err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	err = p.AppendIndex(idx, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.TagStr(),
		"io.containerd.image.name":          tag.String(),
	}))
	if err != nil {
		return fmt.Errorf("write OCI layout %s: %w", dir, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "Wrote %s: %s@%s\n", dir, tag, d)
	return nil
}
