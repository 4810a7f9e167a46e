package sync

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestImportSkip(t *testing.T) {
	gr := schema.GroupResource{Group: "k8s.starter.org", Resource: "kubernetesclusters"}
	cases := map[string]struct {
		err  error
		want bool
	}{
		"Exists":           {err: apierrors.NewAlreadyExists(gr, "db"), want: true},
		"NamespaceMissing": {err: apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "team-a"), want: true},
		"Invalid":          {err: apierrors.NewInvalid(schema.GroupKind{Group: gr.Group, Kind: "KubernetesCluster"}, "db", field.ErrorList{}), want: true},
		"Forbidden":        {err: apierrors.NewForbidden(gr, "db", errors.New("no")), want: true},
		"CRDDeleting":      {err: apierrors.NewMethodNotSupported(gr, "create"), want: true},
		"Unavailable":      {err: apierrors.NewServiceUnavailable("busy")},
		"Network":          {err: errors.New("connection refused")},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got, why := importSkip(tc.err); got != tc.want || (got && why == "") {
				t.Errorf("importSkip(%v) = %t, %q; want %t with a reason", tc.err, got, why, tc.want)
			}
		})
	}
}
