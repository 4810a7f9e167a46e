// Command nodepause is the sandbox ("pause") image of the test node's pods:
// it holds the pod's namespaces and blocks until SIGTERM or SIGINT. The
// harness builds it statically and imports it into containerd, so that no
// image is pulled from a registry.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
