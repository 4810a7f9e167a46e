package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// secretsGVR is the core Secrets resource.
var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// connectionSecrets plays Crossplane once every remote claim exists: it
// writes each one's connection Secret in the control plane (type and
// controller owner reference as Crossplane sets them) and waits until the
// connector has copied every one into the app cluster, so that the memory
// figures hold a Secret per claim on both sides, as in production. It
// returns how long the copies took, from the first write.
func (b *bench) connectionSecrets(ctx context.Context, w *world, tr *tracker, claims []claimRef, alive func() error) (time.Duration, error) {
	uids := map[string]*unstructured.Unstructured{}
	for _, k := range kinds {
		list, err := w.cpDyn.Resource(k.GVR()).Namespace(connectorNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, fmt.Errorf("list remote claims: %w", err)
		}
		for i := range list.Items {
			uids[k.Plural+"/"+list.Items[i].GetName()] = &list.Items[i]
		}
	}
	copied := tr.count([]string{secretsGVR.Resource}, len(claims), func(u *unstructured.Unstructured) bool {
		return u.GetNamespace() != connectorNamespace && strings.HasSuffix(u.GetName(), "-conn")
	})
	start := time.Now()
	err := parallel(ctx, len(claims), b.o.Workers, func(ctx context.Context, i int) error {
		c := claims[i]
		owner, ok := uids[c.kind.Plural+"/"+c.remoteName()]
		if !ok {
			return fmt.Errorf("remote claim of %s/%s not found", c.namespace, c.name)
		}
		s := connectionSecret(connectorNamespace, c.remoteSecretName(), owner)
		if memoryOpts.SecretBytes > 0 {
			addKubeconfig(s, i, memoryOpts.SecretBytes)
		}
		_, err := w.cpDyn.Resource(secretsGVR).Namespace(connectorNamespace).Create(ctx, s, createOpts)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("write connection Secrets: %w", err)
	}
	last, err := copied.wait(ctx, syncTimeout(len(claims)), alive)
	if err != nil {
		return 0, fmt.Errorf("local connection Secrets: %w", err)
	}
	return last.Sub(start), nil
}

// addKubeconfig adds a "kubeconfig" key of n bytes to a connection Secret,
// different for each i (a control plane issues each cluster its own).
func addKubeconfig(s *unstructured.Unstructured, i, n int) {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(i), 1)) //nolint:gosec // test data
	for j := range b {
		b[j] = byte(r.Uint32())
	}
	data, _ := s.Object["data"].(map[string]any)
	data["kubeconfig"] = base64.StdEncoding.EncodeToString(b)
}

// secretSize says, for a report, how large the connection Secrets were.
func secretSize(n int) string {
	if n == 0 {
		return " Connection Secrets: two short keys."
	}
	return fmt.Sprintf(" Connection Secrets: two short keys and a kubeconfig of %d bytes (--secret-bytes).", n)
}
