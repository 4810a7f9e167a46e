// Command image builds the mcp-connector OCI image with no Docker daemon and
// nothing pulled from a registry: a static binary for each platform, a CA
// bundle from a pinned Go module (golang.org/x/crypto/x509roots/fallback), an
// /etc/passwd with the non-root user 65532, written as one image index into an
// OCI layout (and, on request, a docker-archive tarball per platform). Two
// builds of one commit give the same digest. With --push it copies an OCI
// layout it wrote to a registry.
//
// It is its own module so that go-containerregistry stays out of the
// connector's go.mod and binary. `make image` and `make image-push` run it.
package main
