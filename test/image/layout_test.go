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

// file returns the content, mode and owner of path in the layers of m (the
// last layer holding it wins), or an error if no layer holds it.
func (l ociLayout) file(m manifest, path string) (data []byte, h *tar.Header, err error) {
	for _, ld := range m.Layers {
		d, hh, err := l.fileInLayer(ld, path)
		if err != nil {
			return nil, nil, err
		}
		if hh != nil {
			data, h = d, hh
		}
	}
	if h == nil {
		return nil, nil, fmt.Errorf("no layer holds %s", path)
	}
	return data, h, nil
}

func (l ociLayout) fileInLayer(ld descriptor, path string) ([]byte, *tar.Header, error) {
	f, err := l.open(ld.Digest)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = f.Close() }()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("layer %s: %w", ld.Digest, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("layer %s: %w", ld.Digest, err)
		}
		if strings.TrimPrefix(h.Name, "/") == strings.TrimPrefix(path, "/") {
			data, err := io.ReadAll(tr)
			return data, h, err
		}
	}
}
