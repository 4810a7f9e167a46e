package main

import (
	"context"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A layout as build writes it, pushed to a registry, arrives there as the
// same image index (same digest) under the reference given.
func TestPushCopiesTheIndex(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := random.Index(512, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "image")
	if err := writeLayout(dir, idx, name.MustParseReference("ghcr.io/mcp-connector/mcp-connector:0.1.0").(name.Tag)); err != nil {
		t.Fatal(err)
	}
	ref := u.Host + "/team/mcp-connector:0.1.0"
	if err := push(context.Background(), dir, ref); err != nil {
		t.Fatalf("push: %v", err)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := remote.Index(r)
	if err != nil {
		t.Fatalf("read back %s: %v", ref, err)
	}
	want, _ := idx.Digest()
	if d, _ := got.Digest(); d != want {
		t.Errorf("registry holds %s, want the layout's %s", d, want)
	}
}

func TestPushWithoutLayoutSaysWhatToDo(t *testing.T) {
	err := push(context.Background(), filepath.Join(t.TempDir(), "none"), "registry.example.org/mcp-connector:0.1.0")
	if err == nil || !contains(err.Error(), "run make image first") {
		t.Errorf("push without a layout: %v, want a hint to run make image", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
