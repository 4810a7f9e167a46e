package main

import (
	"os"
	"testing"

	clientfeatures "k8s.io/client-go/features"
)

func TestStreamInitialLists(t *testing.T) {
	if _, set := os.LookupEnv(watchListEnv); set {
		t.Skipf("%s is set in the environment: the connector leaves it to that", watchListEnv)
	}
	if err := streamInitialLists(); err != nil {
		t.Fatal(err)
	}
	if !clientfeatures.FeatureGates().Enabled(clientfeatures.WatchListClient) {
		t.Error("WatchListClient is off after streamInitialLists, want on: the caches would LIST")
	}
}
