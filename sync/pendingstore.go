package sync

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/conflict"
)

// PendingStore reads and writes the record of pending orphans
// (PendingOrphansConfigMap) in one namespace of the app cluster. It is
// shared by the connector and `mcp-connector release`; every write is a
// read-modify-write guarded by the ConfigMap's resourceVersion, retried on
// conflict, so that two writers never lose each other's entries.
type PendingStore struct {
	// Reader reads live (never a cache: the connector does not watch
	// ConfigMaps, and the CLI writes the record while the connector runs).
	Reader client.Reader
	Writer client.Writer
	// Namespace is the connector's own namespace.
	Namespace string
}

func (s PendingStore) key() client.ObjectKey {
	return client.ObjectKey{Namespace: s.Namespace, Name: PendingOrphansConfigMap}
}

// List returns the entries of the record (none if there is no record), and
// the keys of entries that cannot be read.
func (s PendingStore) List(ctx context.Context) ([]PendingOrphan, []string, error) {
	cm := &corev1.ConfigMap{}
	if err := s.Reader.Get(ctx, s.key(), cm); apierrors.IsNotFound(err) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("read the pending orphans %s: %w", s.key(), err)
	}
	entries, bad := DecodePending(cm.Data)
	return entries, bad, nil
}

// Add records an entry (replacing one of the same key), creating the record
// if needed. When it returns nil, the entry is stored.
func (s PendingStore) Add(ctx context.Context, p PendingOrphan) error {
	v, err := EncodePending(p)
	if err != nil {
		return err
	}
	return s.modify(ctx, func(data map[string]string) { data[p.Key()] = v })
}

// Remove drops the entry of a key, if it is there.
func (s PendingStore) Remove(ctx context.Context, key string) error {
	return s.modify(ctx, func(data map[string]string) { delete(data, key) })
}

// modify applies change to the record's data and writes it back, creating
// the record when it does not exist yet.
func (s PendingStore) modify(ctx context.Context, change func(map[string]string)) error {
	err := retry.OnError(retry.DefaultRetry, lostRace, func() error {
		cm := &corev1.ConfigMap{}
		err := s.Reader.Get(ctx, s.key(), cm)
		if apierrors.IsNotFound(err) {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: PendingOrphansConfigMap,
				Labels: map[string]string{conflict.LabelManaged: "true"}}, Data: map[string]string{}}
			change(cm.Data)
			return s.Writer.Create(ctx, cm)
		}
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		change(cm.Data)
		return s.Writer.Update(ctx, cm)
	})
	if err != nil {
		return fmt.Errorf("write the pending orphans %s: %w", s.key(), err)
	}
	return nil
}
