package image

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// descriptor, index, manifest and config are the parts of the OCI image spec
// the tests read.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations"`
	Platform    *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type index struct {
	MediaType   string            `json:"mediaType"`
	Manifests   []descriptor      `json:"manifests"`
	Annotations map[string]string `json:"annotations"`
}

type manifest struct {
	MediaType string       `json:"mediaType"`
	Config    descriptor   `json:"config"`
	Layers    []descriptor `json:"layers"`
}

type config struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Created      string `json:"created"`
	Config       struct {
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		User       string            `json:"User"`
		Env        []string          `json:"Env"`
		Labels     map[string]string `json:"Labels"`
		Volumes    map[string]any    `json:"Volumes"`
	} `json:"config"`
}

// ociLayout is an OCI image layout on disk.
type ociLayout struct{ dir string }

// blob decodes the JSON blob of digest d into v.
func (l ociLayout) blob(t *testing.T, d string, v any) {
	t.Helper()
	f, err := l.open(d)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := json.NewDecoder(f).Decode(v); err != nil {
		t.Fatalf("decode blob %s: %v", d, err)
	}
}

func (l ociLayout) open(d string) (*os.File, error) {
	algo, hex, ok := strings.Cut(d, ":")
	if !ok {
		return nil, fmt.Errorf("digest %q has no algorithm", d)
	}
	return os.Open(filepath.Join(l.dir, "blobs", algo, hex))
}

// top is the layout's index.json entry: the image index make image writes.
func (l ociLayout) top(t *testing.T) descriptor {
	t.Helper()
	var ix index
	data, err := os.ReadFile(filepath.Join(l.dir, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ix); err != nil {
		t.Fatalf("index.json: %v", err)
	}
	if len(ix.Manifests) != 1 {
		t.Fatalf("index.json holds %d entries, want 1 (the image index)", len(ix.Manifests))
	}
	return ix.Manifests[0]
}

// platforms maps "os/arch" to the manifest descriptor of that platform.
func (l ociLayout) platforms(t *testing.T) (index, map[string]descriptor) {
	t.Helper()
	var ix index
	l.blob(t, l.top(t).Digest, &ix)
	out := map[string]descriptor{}
	for _, m := range ix.Manifests {
		if m.Platform == nil {
			t.Fatalf("manifest %s in the image index has no platform", m.Digest)
		}
		out[m.Platform.OS+"/"+m.Platform.Architecture] = m
	}
	return ix, out
}

// layerFile is a file read out of a layer.
type layerFile struct {
	data   []byte
	header *tar.Header
}

// files returns the content, mode and owner of each of paths in the layers
// of m (the last layer holding one wins), reading each layer once; a path no
// layer holds is an error.
func (l ociLayout) files(m manifest, paths ...string) (map[string]layerFile, error) {
	want := map[string]bool{}
	for _, p := range paths {
		want[strings.TrimPrefix(p, "/")] = true
	}
	out := map[string]layerFile{}
	for _, ld := range m.Layers {
		if err := l.readLayer(ld, want, out); err != nil {
			return nil, err
		}
	}
	for p := range want {
		if _, ok := out[p]; !ok {
			return nil, fmt.Errorf("no layer holds %s", p)
		}
	}
	return out, nil
}

func (l ociLayout) readLayer(ld descriptor, want map[string]bool, out map[string]layerFile) error {
	f, err := l.open(ld.Digest)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("layer %s: %w", ld.Digest, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("layer %s: %w", ld.Digest, err)
		}
		name := strings.TrimPrefix(h.Name, "/")
		if !want[name] {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("layer %s: %s: %w", ld.Digest, name, err)
		}
		out[name] = layerFile{data: data, header: h}
	}
}
