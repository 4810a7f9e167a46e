package controlplane

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The local record's data keys.
const (
	stateNamespaceKey = "controlPlaneNamespace"
	stateHolderUIDKey = "holderUID"
)

// StateName is the ConfigMap, in the connector's own namespace of the app
// cluster, that remembers which control-plane namespace this connection held
// (and the uid of the holder record it held there), so that a namespace
// deleted by its administrator is not re-created by a restarted connector.
func StateName(connection string) string { return "mcp-connector-state-" + connection }

// Record is what the app cluster remembers of the namespace it held.
type Record struct {
	// Namespace is the control-plane namespace; empty: none held yet.
	Namespace string
	// HolderUID is the uid of the holder ConfigMap this cluster held there.
	HolderUID types.UID
}

// StateStore reads and writes the local record. Reads go to the API server
// (not a cache: the connector watches no ConfigMaps).
type StateStore struct {
	Reader    client.Reader
	Writer    client.Client
	Namespace string
	Name      string
}

// Load returns the record; a missing ConfigMap is the empty Record.
func (s *StateStore) Load(ctx context.Context) (Record, error) {
	cm := &corev1.ConfigMap{}
	err := s.Reader.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: s.Name}, cm)
	switch {
	case apierrors.IsNotFound(err):
		return Record{}, nil
	case err != nil:
		return Record{}, fmt.Errorf("read the local record ConfigMap %s/%s: %w", s.Namespace, s.Name, err)
	}
	return Record{Namespace: cm.Data[stateNamespaceKey], HolderUID: types.UID(cm.Data[stateHolderUIDKey])}, nil
}

// Save writes the record, creating the ConfigMap if it is missing.
func (s *StateStore) Save(ctx context.Context, r Record) error {
	data := map[string]string{stateNamespaceKey: r.Namespace, stateHolderUIDKey: string(r.HolderUID)}
	cm := &corev1.ConfigMap{}
	err := s.Reader.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: s.Name}, cm)
	switch {
	case apierrors.IsNotFound(err):
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name}, Data: data}
		err = s.Writer.Create(ctx, cm)
	case err == nil:
		cm.Data = data
		err = s.Writer.Update(ctx, cm)
	}
	if err != nil {
		return fmt.Errorf("write the local record ConfigMap %s/%s: %w", s.Namespace, s.Name, err)
	}
	return nil
}
