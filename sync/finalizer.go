package sync

import (
	"encoding/json"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// finalizersPatch is the merge patch that sets obj's finalizers to what obj
// holds now, with obj's resourceVersion as an optimistic lock (a concurrent
// write makes it a 409, a lost race): what client.MergeFromWithOptions with
// MergeFromWithOptimisticLock sends for a change of finalizers alone, built
// without encoding the object twice and diffing the two.
func finalizersPatch(obj client.Object) client.Patch {
	body, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"finalizers": obj.GetFinalizers(), "resourceVersion": obj.GetResourceVersion()}})
	return client.RawPatch(types.MergePatchType, body)
}
