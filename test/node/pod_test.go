package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/test/harness"
)

// podReadyTimeout bounds a pod's start on the node (image imported already).
const podReadyTimeout = 2 * time.Minute

// TestNodeRunsPod runs a pod of the pause image (built here) on the node and
// waits for it to be Ready: containerd, runc, the CNI bridge and kubelet work.
func TestNodeRunsPod(t *testing.T) {
	w, n := setup(t)
	ns := harness.NewNamespace(t, w.App.Client)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pause", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "pause", Image: harness.PauseImage, ImagePullPolicy: corev1.PullNever,
		}}},
	}
	if err := w.App.Client.Create(context.Background(), pod); err != nil {
		t.Fatal(err)
	}
	got := waitPodReady(t, w.App.Client, client.ObjectKeyFromObject(pod))
	if got.Spec.NodeName != n.Name || got.Status.PodIP == "" {
		t.Errorf("pod on node %q with IP %q, want node %q and an IP", got.Spec.NodeName, got.Status.PodIP, n.Name)
	}
}

// waitPodReady waits for the pod's Ready condition and returns the pod.
func waitPodReady(t *testing.T, c client.Client, key client.ObjectKey) *corev1.Pod {
	t.Helper()
	var pod corev1.Pod
	harness.Eventually(t, podReadyTimeout, func() error {
		if err := c.Get(context.Background(), key, &pod); err != nil {
			return err
		}
		for _, cond := range pod.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				return nil
			}
		}
		return fmt.Errorf("pod %s not Ready: phase %s, %s", key, pod.Status.Phase, containerStates(&pod))
	})
	return &pod
}

// containerStates summarises why a pod's containers are not running.
func containerStates(pod *corev1.Pod) string {
	s := ""
	for _, cs := range pod.Status.ContainerStatuses {
		switch {
		case cs.State.Waiting != nil:
			s += fmt.Sprintf("%s waiting (%s: %s); ", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
		case cs.State.Terminated != nil:
			s += fmt.Sprintf("%s terminated (%s, exit %d); ", cs.Name, cs.State.Terminated.Reason, cs.State.Terminated.ExitCode)
		default:
			s += fmt.Sprintf("%s running (ready %t, restarts %d); ", cs.Name, cs.Ready, cs.RestartCount)
		}
	}
	return s
}
