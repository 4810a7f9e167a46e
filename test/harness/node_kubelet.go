package harness

import (
	"path/filepath"
	"text/template"
)

// kubeletConfig: cgroupfs (cgroup v1 here), no swap check, no eviction and
// no image garbage collection (a test machine's disk is shared and full
// enough to trigger both), every directory under the node's dir, and a
// kubelet API open to the API server only by address (test use).
var kubeletConfig = template.Must(template.New("kubelet").Parse(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: {{.IP}}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
evictionHard: {}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
containerRuntimeEndpoint: unix://{{.Socket}}
imageServiceEndpoint: unix://{{.Socket}}
podLogsDir: {{.Dir}}/pod-logs
volumePluginDir: {{.Dir}}/volume-plugins
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
serializeImagePulls: false
`))

func (n *Node) startKubelet() error {
	path, err := binKubelet.path()
	if err != nil {
		return err
	}
	dir := filepath.Join(n.Dir, "kubelet")
	config := filepath.Join(dir, "config.yaml")
	if err := writeTemplate(config, kubeletConfig, map[string]string{"IP": n.IP, "Socket": n.containerdSocket(), "Dir": dir}); err != nil {
		return err
	}
	p, err := n.process("kubelet", path,
		"--config="+config,
		"--kubeconfig="+n.env.Kubeconfig,
		"--root-dir="+filepath.Join(dir, "root"),
		"--cert-dir="+filepath.Join(dir, "pki"),
		"--node-ip="+n.IP,
		"--hostname-override="+n.Name,
	)
	if err != nil {
		return err
	}
	n.procs = append(n.procs, p)
	return nil
}
