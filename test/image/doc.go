// Package image tests the connector's OCI image as `make image` builds it
// (test/tools/image): the image index and its platforms, each image's config
// and labels, the binary taken out of the amd64 layer, the reproducibility of
// the digest, and that the chart's default image is the one built. It reads
// the OCI layout with the standard library only, independently of the
// library that wrote it.
package image
