package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// connectorImage is the connector's image as `make image` writes it: the OCI
// layout $MCP_IMAGE, else <repo>/bin/image.
var connectorImage struct {
	once sync.Once
	name string // repository:tag, from the index
	err  error
}

// importConnectorImage imports the connector's image into the node's
// containerd once and returns its name (the chart's default image).
func importConnectorImage(t *testing.T, n *harness.Node) string {
	t.Helper()
	connectorImage.once.Do(func() {
		connectorImage.name, connectorImage.err = importImage(n)
	})
	if connectorImage.err != nil {
		t.Fatal(connectorImage.err)
	}
	return connectorImage.name
}

func importImage(n *harness.Node) (string, error) {
	dir := os.Getenv("MCP_IMAGE")
	if dir == "" {
		root, err := harness.RepoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "bin", "image")
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return "", fmt.Errorf("the connector's image: %w (run `make image`, or set MCP_IMAGE to its OCI layout)", err)
	}
	var index struct {
		Manifests []struct {
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(b, &index); err != nil {
		return "", fmt.Errorf("%s/index.json: %w", dir, err)
	}
	name := ""
	for _, m := range index.Manifests {
		if ref := m.Annotations["io.containerd.image.name"]; strings.Contains(ref, ":") {
			name = ref
		}
	}
	if name == "" {
		return "", fmt.Errorf("%s/index.json names no image (io.containerd.image.name)", dir)
	}
	if err := n.ImportOCILayout(context.Background(), dir); err != nil {
		return "", err
	}
	return name, nil
}

// splitImage cuts repository:tag.
func splitImage(name string) (string, string) {
	i := strings.LastIndex(name, ":")
	return name[:i], name[i+1:]
}
