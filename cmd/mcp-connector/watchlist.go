package main

import (
	"fmt"
	"os"

	clientfeatures "k8s.io/client-go/features"
)

// watchListEnv is client-go's own switch for streaming lists; a value set
// there wins over the connector's default.
const watchListEnv = "KUBE_FEATURE_" + string(clientfeatures.WatchListClient)

// streamInitialLists has the caches fill themselves from a watch that sends
// the initial objects one by one (WatchListClient) instead of one LIST
// response. Each object then goes through the cache's transform as it
// arrives, so the untransformed list (every claim with all its
// managedFields, and the response body) is never in memory at once. An API
// server that does not stream lists (the WatchList feature, off by default
// in Kubernetes 1.33 and before 1.32) gets a LIST as before: client-go
// falls back on its own.
//
// That needs client-go with the fix of kubernetes/kubernetes#135580: in
// client-go 0.34.2 (used here before 0.34.10) the reflector's temporary store
// of a streamed list did not get the transform, so every initial object was
// held decoded until the stream's end (TestStreamedListTransformedAsItArrives).
func streamInitialLists() error {
	if _, set := os.LookupEnv(watchListEnv); set {
		return nil
	}
	g, ok := clientfeatures.FeatureGates().(interface {
		Set(clientfeatures.Feature, bool) error
	})
	if !ok {
		return nil // replaced by someone who decides on their own
	}
	if err := g.Set(clientfeatures.WatchListClient, true); err != nil {
		return fmt.Errorf("enable streaming lists: %w", err)
	}
	return nil
}
