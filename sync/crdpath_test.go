package sync

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDeletedByCRD(t *testing.T) {
	crd := time.Date(2026, 12, 1, 15, 30, 10, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(crd.Add(d)); return &t }
	cases := map[string]struct {
		reason        string
		claim, crd    *metav1.Time
		crdGone, want bool
	}{
		"CRDNotDeleted": {
			reason: "A claim deleted while its CRD stays was deleted by its user.",
			claim:  at(0),
		},
		"UserDeletedBefore": {
			reason: "A claim deleted while the control plane was away, before its CRD, was deleted by its user.",
			claim:  at(-time.Hour), crd: at(0),
		},
		"UserDeletedSecondBefore": {
			reason: "One second earlier than the CRD's deletion is still the user's.",
			claim:  at(-time.Second), crd: at(0),
		},
		"SameSecond": {
			reason: "Stamped in the CRD's second: the cascade's (or too close to tell), so the remote claim is kept.",
			claim:  at(0), crd: at(0), want: true,
		},
		"SameSecondEarlierWithin": {
			reason: "Deletions are compared to the second: earlier within the CRD's second is not before it.",
			claim:  at(100 * time.Millisecond), crd: at(900 * time.Millisecond), want: true,
		},
		"Cascade": {
			reason: "A claim deleted after its CRD's deletion began is the cascade's.",
			claim:  at(3 * time.Second), crd: at(0), want: true,
		},
		"CRDGone": {
			reason: "A CRD already gone gives nothing to compare: the remote claim is kept.",
			claim:  at(-time.Hour), crdGone: true, want: true,
		},
		"NoClaimDeletion": {
			reason: "A claim that is not being deleted is not deleted by anyone.",
			crd:    at(0),
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := deletedByCRD(tc.claim, tc.crd, tc.crdGone)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s\ndeletedByCRD(...): -want +got:\n%s", tc.reason, diff)
			}
		})
	}
}
