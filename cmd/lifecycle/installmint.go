package lifecycle

import (
	"context"
	"strings"
	"time"
)

// mint mints the identity of this cluster in the control plane with the
// given kubeconfig's credentials, when they may, and returns the kubeconfig
// to store: the given one with only the identity's token as credentials
// (minted), or the given one as it is.
func (in *Install) mint(ctx context.Context, kc []byte) ([]byte, bool, error) {
	cfg, err := kubeconfigConfig(kc, in.Cluster.Version)
	if err != nil {
		return nil, false, err
	}
	admin, err := newClient(cfg)
	if err != nil {
		return nil, false, err
	}
	ns := in.ControlPlaneNamespace
	checkCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	missing, err := missingMintRights(checkCtx, admin, ns)
	switch {
	case err != nil:
		say(in.Out, "Warning: could not check whether the control-plane credentials may mint an identity for this cluster (%v); storing them as given\n", err)
		return kc, false, nil
	case len(missing) > 0:
		say(in.Out, "The control-plane credentials may not mint an identity for this cluster (they lack: %s); storing them as given\n", strings.Join(missing, ", "))
		return kc, false, nil
	}
	in.prepareControlPlaneNamespace(ctx, admin)
	groups, err := xrdGroups(checkCtx, admin)
	if err != nil {
		return nil, false, err
	}
	if len(groups) == 0 {
		say(in.Out, "Warning: the control plane has no XRD yet, so the identity may use no claim API; once it has, run `mcp-connector rbac %s --control-plane-kubeconfig FILE | kubectl apply -f -` with administrator credentials\n", ns)
	}
	lifetime := in.TokenLifetime
	if lifetime <= 0 {
		lifetime = DefaultTokenLifetime
	}
	tr, err := mintIdentity(ctx, admin, ns, groups, lifetime)
	if err != nil {
		return nil, false, err
	}
	if kc, err = tokenKubeconfig(kc, tr.Status.Token); err != nil {
		return nil, false, err
	}
	say(in.Out, "Minted identity ServiceAccount %s/%s for this cluster in the control plane (claim API groups: %s); its token is valid until %s\n",
		ns, IdentityName, strings.Join(groups, ", "), tr.Status.ExpirationTimestamp.UTC().Format(time.RFC3339))
	return kc, true, nil
}
