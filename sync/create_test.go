package sync

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// TestForgetExpired: a copy of our write that no pass came back for goes
// after justCreatedTTL; a fresh one stays.
func TestForgetExpired(t *testing.T) {
	now := time.Unix(1000, 0)
	r := &reconciler{now: func() time.Time { return now }}
	r.rememberCreated("secret/a/old", &corev1.Secret{})
	now = now.Add(justCreatedTTL / 2)
	r.rememberCreated("secret/a/new", &corev1.Secret{})
	now = now.Add(justCreatedTTL/2 + time.Second)
	r.forgetExpired()
	var left []string
	r.justCreated.Range(func(k, _ any) bool { left = append(left, k.(string)); return true })
	if len(left) != 1 || left[0] != "secret/a/new" {
		t.Errorf("entries left after forgetExpired: %v, want only secret/a/new", left)
	}
}
