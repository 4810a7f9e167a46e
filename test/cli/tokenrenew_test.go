package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/mcp-connector/mcp-connector/sync/controlplane"
	"github.com/mcp-connector/mcp-connector/test/harness"
)

// TestConnectorRenewsMintedToken installs with a minted token of the
// shortest lifetime the control plane accepts (10m) and a connector told to
// renew after 1% of it (--token-renew-at=0.01, 6s): the connector renews the
// token by a TokenRequest for its own ServiceAccount, writes the new one
// into the kubeconfig Secret (its expiry moves), uses it without a restart
// (the expiry it reports is the new one's), and keeps syncing with it. A
// refused renewal is a Warning Event TokenRenewalFailed on the Connection,
// syncing goes on, and renewal resumes once the right is back.
func TestConnectorRenewsMintedToken(t *testing.T) {
	world.LogOnFailure(t)
	releaseNS := harness.NewNamespace(t, world.App.Client)
	cpNS := newControlPlaneNamespaceName(t)
	release := "mcp-connector-" + cpNS
	clusterID := appClusterID(t)

	pod := installPod(t, releaseNS, cpNS, release, "Minted identity ServiceAccount "+cpNS+"/mcp-connector",
		"--token-lifetime=10m", "--set", "extraArgs[0]=--token-renew-at=0.01")
	first := storedToken(t, releaseNS, release)
	if got := first.Expiry.Sub(first.IssuedAt); got != 10*time.Minute {
		t.Fatalf("the minted token lives %s, want 10m", got)
	}

	var renewed controlplane.TokenClaims
	harness.Eventually(t, waitTimeout, func() error {
		renewed = storedToken(t, releaseNS, release)
		if !renewed.Expiry.After(first.Expiry) {
			return fmt.Errorf("the stored token still expires at %s", renewed.Expiry)
		}
		return nil
	})
	if got := renewed.Expiry.Sub(renewed.IssuedAt); got != 10*time.Minute {
		t.Errorf("the renewed token lives %s, want the minted token's 10m", got)
	}
	harness.Eventually(t, waitTimeout, func() error {
		text, err := scrapePod(pod)
		if err != nil {
			return err
		}
		n, _ := harness.MetricSum(text, "mcp_connector_token_renewals_total", `result="renewed"`)
		exp, ok := harness.MetricSum(text, "mcp_connector_token_expiry_timestamp_seconds")
		if n < 1 || !ok || int64(exp) < renewed.Expiry.Unix() {
			return fmt.Errorf("the connector reports %v renewals and a token expiring at %v, want >= 1 and >= %d", n, exp, renewed.Expiry.Unix())
		}
		return nil
	})

	// Claims made after the renewal sync with the new token.
	nss := []string{harness.NewNamespace(t, world.App.Client)}
	claims := createClaims(t, nss, 1)

	// A refused renewal shows as a Warning Event on the Connection and
	// syncing goes on with the token still valid; renewal resumes once
	// the right is back.
	role := &rbacv1.Role{}
	key := client.ObjectKey{Namespace: cpNS, Name: "mcp-connector"}
	if err := world.ControlPlane.Client.Get(context.Background(), key, role); err != nil {
		t.Fatal(err)
	}
	granted := slices.Clone(role.Rules)
	role.Rules = slices.DeleteFunc(role.Rules, func(r rbacv1.PolicyRule) bool { return slices.Contains(r.Resources, "serviceaccounts/token") })
	if len(role.Rules) != len(granted)-1 {
		t.Fatalf("the minted Role has no rule for serviceaccounts/token: %+v", granted)
	}
	if err := world.ControlPlane.Client.Update(context.Background(), role); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		events := &corev1.EventList{}
		if err := world.App.Client.List(context.Background(), events, client.InNamespace(metav1.NamespaceDefault)); err != nil {
			return err
		}
		for _, e := range events.Items {
			if e.InvolvedObject.Kind == "Connection" && e.InvolvedObject.Name == cpNS && e.InvolvedObject.UID != "" && e.Reason == "TokenRenewalFailed" &&
				e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, "forbidden") {
				return nil
			}
		}
		return fmt.Errorf("no Warning Event TokenRenewalFailed on Connection %s", cpNS)
	})
	late := harness.NewExampleClaim(nss[0], "claim-late", 7)
	if err := world.App.Client.Create(context.Background(), late); err != nil {
		t.Fatal(err)
	}
	waitSynced(t, late)
	claims = append(claims, late)
	failed := storedToken(t, releaseNS, release)
	if err := world.ControlPlane.Client.Get(context.Background(), key, role); err != nil {
		t.Fatal(err)
	}
	role.Rules = granted
	if err := world.ControlPlane.Client.Update(context.Background(), role); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, waitTimeout, func() error {
		if c := storedToken(t, releaseNS, release); !c.Expiry.After(failed.Expiry) {
			return fmt.Errorf("the stored token still expires at %s after the right came back", c.Expiry)
		}
		return nil
	})

	// uninstall works with the token stored last.
	before := recordRemote(t, cpNS, clusterID, claims)
	uninstall(t, releaseNS, cpNS, release, pod.Process, 2)
	checkOrphaned(t, cpNS, before, 2)
	checkIdentityGone(t, cpNS)
}

// storedToken reads the claims of the token in the app cluster's
// control-plane kubeconfig Secret.
func storedToken(t *testing.T, releaseNS, release string) controlplane.TokenClaims {
	t.Helper()
	s := &corev1.Secret{}
	if err := world.App.Client.Get(context.Background(), client.ObjectKey{Namespace: releaseNS, Name: release + "-control-plane-kubeconfig"}, s); err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.Load(s.Data["kubeconfig"])
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range kc.AuthInfos {
		c, err := controlplane.ParseTokenClaims(u.Token)
		if err != nil {
			t.Fatalf("the stored token: %v", err)
		}
		return c
	}
	t.Fatal("the stored kubeconfig has no user")
	return controlplane.TokenClaims{}
}

// scrapePod reads the metrics of a local pod.
func scrapePod(pod *harness.LocalPod) (string, error) {
	hc := http.Client{Timeout: 5 * time.Second}
	resp, err := hc.Get("http://" + pod.Addrs["metrics"] + "/metrics")
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
