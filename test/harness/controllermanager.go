package harness

import (
	"errors"
	"fmt"
	"os/exec"
)

// StartControllerManager starts kube-controller-manager with only the garbage
// collector and the namespace controller: ownerReference cascades and
// namespace deletion then work as in a real cluster. Its garbage collector
// re-reads discovery every 30 s, so kinds created later cascade late at first.
func (e *Env) StartControllerManager() error {
	return e.startControllerManager("garbagecollector,namespace,clusterrole-aggregation")
}

// startControllerManager starts kube-controller-manager with the given
// controllers and extra flags.
func (e *Env) startControllerManager(controllers string, extraArgs ...string) error {
	if e.controllerManager != nil {
		return errors.New("kube-controller-manager already started")
	}
	path, err := binControllerManager.path()
	if err != nil {
		return err
	}
	args := append([]string{
		"--kubeconfig=" + e.Kubeconfig,
		"--controllers=" + controllers,
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
	}, extraArgs...)
	cmd := exec.Command(path, args...)
	p, err := startProcess("kube-controller-manager", e.logPath("kube-controller-manager"), cmd)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", e.Name, err)
	}
	e.controllerManager = p
	return nil
}
