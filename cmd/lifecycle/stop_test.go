package lifecycle

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestLeaseHeld(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	str := func(s string) *string { return &s }
	i32 := func(i int32) *int32 { return &i }
	at := func(d time.Duration) *metav1.MicroTime { m := metav1.NewMicroTime(now.Add(d)); return &m }
	cases := map[string]struct {
		spec coordinationv1.LeaseSpec
		want bool
	}{
		"Released":    {spec: coordinationv1.LeaseSpec{HolderIdentity: str(""), RenewTime: at(-time.Second), LeaseDurationSeconds: i32(15)}},
		"NoHolder":    {spec: coordinationv1.LeaseSpec{}},
		"Held":        {spec: coordinationv1.LeaseSpec{HolderIdentity: str("pod-1"), RenewTime: at(-5 * time.Second), LeaseDurationSeconds: i32(15)}, want: true},
		"Expired":     {spec: coordinationv1.LeaseSpec{HolderIdentity: str("pod-1"), RenewTime: at(-20 * time.Second), LeaseDurationSeconds: i32(15)}},
		"NoRenewTime": {spec: coordinationv1.LeaseSpec{HolderIdentity: str("pod-1")}, want: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, got := leaseHeld(&coordinationv1.Lease{Spec: tc.spec}, now); got != tc.want {
				t.Errorf("leaseHeld = %t, want %t", got, tc.want)
			}
		})
	}
}
