package harness

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// importPause builds nodepause (a static binary that blocks until SIGTERM)
// into a one-layer docker archive tagged PauseImage and imports it.
func (n *Node) importPause(ctx context.Context) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	bin := filepath.Join(n.Dir, "pause")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./test/harness/nodepause")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the pause binary: %w: %s", err, out)
	}
	archive := filepath.Join(n.Dir, "pause.tar")
	if err := writeDockerArchive(archive, PauseImage, bin, "/pause", "65535"); err != nil {
		return fmt.Errorf("write the pause image: %w", err)
	}
	return n.ImportImage(ctx, archive)
}

// writeDockerArchive writes a docker archive (docker save's format, which
// `ctr images import` reads) of a linux/amd64 image with one layer holding
// the file binary at entrypoint, run as user.
func writeDockerArchive(path, tag, binary, entrypoint, user string) error {
	content, err := os.ReadFile(binary)
	if err != nil {
		return err
	}
	var layer bytes.Buffer
	lw := tar.NewWriter(&layer)
	if err := lw.WriteHeader(&tar.Header{Name: entrypoint[1:], Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := lw.Write(content); err != nil {
		return err
	}
	if err := lw.Close(); err != nil {
		return err
	}
	sum := sha256.Sum256(layer.Bytes())
	config, err := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Entrypoint": []string{entrypoint}, "User": user},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(sum[:])}},
	})
	if err != nil {
		return err
	}
	manifest, err := json.Marshal([]map[string]any{{"Config": "config.json", "RepoTags": []string{tag}, "Layers": []string{"layer.tar"}}})
	if err != nil {
		return err
	}
	var out bytes.Buffer
	w := tar.NewWriter(&out)
	for _, f := range []struct {
		name string
		data []byte
	}{{"layer.tar", layer.Bytes()}, {"config.json", config}, {"manifest.json", manifest}} {
		if err := w.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := w.Write(f.data); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// ImportOCILayout imports the linux/amd64 image of an OCI layout directory
// (what `make image` writes into bin/image) under the names its index gives,
// by way of a tar of the directory.
func (n *Node) ImportOCILayout(ctx context.Context, dir string) error {
	archive := filepath.Join(n.Dir, filepath.Base(dir)+".oci.tar")
	if err := tarDir(dir, archive); err != nil {
		return fmt.Errorf("archive OCI layout %s: %w", dir, err)
	}
	return n.ImportImage(ctx, archive)
}

// tarDir writes the regular files under dir into a tar at path, named
// relative to dir.
func tarDir(dir, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := tar.NewWriter(f)
	walkErr := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := w.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	})
	return errors.Join(walkErr, w.Close(), f.Close())
}
