package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/mcp-connector/mcp-connector/crdmirror/connection"
	"github.com/mcp-connector/mcp-connector/sync/controlplane"
)

// The minted identity's ServiceAccount (cmd/lifecycle.IdentityName).
const identityName = "mcp-connector"

var (
	tokenRenewals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mcp_connector_token_renewals_total",
		Help: "Renewals of the control-plane token, by result (renewed, failed).",
	}, []string{"result"})
	tokenExpiry = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "mcp_connector_token_expiry_timestamp_seconds",
		Help: "When the control-plane token in use expires (Unix time).",
	})
	registerTokenMetrics sync.Once
)

// currentToken is the control-plane token in use, shared by every client
// made from the control-plane config: renewal swaps it without a restart.
type currentToken struct {
	mu     sync.RWMutex
	token  string
	claims controlplane.TokenClaims
}

func (c *currentToken) get() (string, controlplane.TokenClaims) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.token, c.claims
}

func (c *currentToken) set(token string, claims controlplane.TokenClaims) {
	c.mu.Lock()
	c.token, c.claims = token, claims
	c.mu.Unlock()
	tokenExpiry.Set(float64(claims.Expiry.Unix()))
}

// wrap puts the current token on every request.
func (c *currentToken) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		tok, _ := c.get()
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+tok)
		return rt.RoundTrip(req)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// setupTokenRenewal makes cfg use a renewable token when it holds a token
// of the identity install minted (ServiceAccount mcp-connector of the
// control-plane namespace, with an expiry) and --control-plane-kubeconfig-secret
// names the Secret it came from. It returns nil when there is nothing to renew.
func (o *RunOptions) setupTokenRenewal(cfg *rest.Config) *currentToken {
	if o.ControlPlaneKubeconfigSecret == "" || cfg.BearerToken == "" {
		return nil
	}
	claims, err := controlplane.ParseTokenClaims(cfg.BearerToken)
	if err != nil || claims.Subject != controlplane.ServiceAccountSubject(o.ControlPlaneNamespace, identityName) {
		return nil
	}
	registerTokenMetrics.Do(func() { metrics.Registry.MustRegister(tokenRenewals, tokenExpiry) })
	cur := &currentToken{}
	cur.set(cfg.BearerToken, claims)
	cfg.BearerToken, cfg.BearerTokenFile = "", ""
	cfg.WrapTransport = cur.wrap
	return cur
}

// tokenRenewer renews the minted token (leader only): a TokenRequest for its
// own ServiceAccount at TokenRenewTime, the new token used at once and
// written into the kubeconfig Secret for the next start. Failures are
// retried with backoff, as Events TokenRenewalFailed on the Connection;
// syncing goes on with the old token meanwhile.
type tokenRenewer struct {
	token    *currentToken
	cpConfig *rest.Config
	// The kubeconfig Secret is read directly (the cache holds only the
	// connector's own Secrets) and updated by name.
	reader    client.Reader
	app       client.Client
	recorder  record.EventRecorder
	namespace string // control-plane namespace
	secret    client.ObjectKey
	key       string
	renewAt   float64
	conn      string
}

func (r *tokenRenewer) NeedLeaderElection() bool { return true }

func (r *tokenRenewer) Start(ctx context.Context) error {
	logger := log.FromContext(ctx).WithName("token-renewal")
	// A replica that just became leader takes the newest token: the
	// previous leader may have renewed since this one started.
	if tok, claims, err := r.stored(ctx); err == nil {
		if _, c := r.token.get(); claims.Expiry.After(c.Expiry) {
			r.token.set(tok, claims)
		}
	}
	cs, err := kubernetes.NewForConfig(r.cpConfig)
	if err != nil {
		return err
	}
	failures := 0
	for {
		_, claims := r.token.get()
		wait := time.Until(controlplane.TokenRenewTime(claims.IssuedAt, claims.Expiry, r.renewAt))
		if failures > 0 {
			wait = controlplane.TokenRetryDelay(failures, time.Now(), claims.Expiry)
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if err := r.renew(ctx, cs, claims); err != nil {
			failures++
			tokenRenewals.WithLabelValues("failed").Inc()
			logger.Error(err, "Renewing the control-plane token failed; retrying", "expires", claims.Expiry)
			r.recorder.Eventf(r.connection(ctx), corev1.EventTypeWarning, "TokenRenewalFailed",
				"Renewing the control-plane token failed (it expires at %s); retrying: %v", claims.Expiry.UTC().Format(time.RFC3339), err)
			continue
		}
		failures = 0
		tokenRenewals.WithLabelValues("renewed").Inc()
		_, nc := r.token.get()
		logger.Info("Renewed the control-plane token", "expires", nc.Expiry)
		r.recorder.Eventf(r.connection(ctx), corev1.EventTypeNormal, "TokenRenewed",
			"Renewed the control-plane token; it expires at %s", nc.Expiry.UTC().Format(time.RFC3339))
	}
}

// renew asks for a token of the same lifetime, uses it, and stores it. A
// new token already in use but not stored yet is stored again on retry.
func (r *tokenRenewer) renew(ctx context.Context, cs kubernetes.Interface, claims controlplane.TokenClaims) error {
	cur, _ := r.token.get()
	stored, _, err := r.stored(ctx)
	if err != nil {
		return err
	}
	if stored != cur { // renewed already, only the Secret write failed
		return r.store(ctx, cur)
	}
	secs := int64(claims.Expiry.Sub(claims.IssuedAt).Seconds())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs}}
	tr, err = cs.CoreV1().ServiceAccounts(r.namespace).CreateToken(ctx, identityName, tr, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("TokenRequest for ServiceAccount %s/%s: %w", r.namespace, identityName, err)
	}
	nc, err := controlplane.ParseTokenClaims(tr.Status.Token)
	if err != nil {
		return fmt.Errorf("the control plane's new token: %w", err)
	}
	r.token.set(tr.Status.Token, nc)
	return r.store(ctx, tr.Status.Token)
}

// stored reads the token of the kubeconfig Secret.
func (r *tokenRenewer) stored(ctx context.Context) (string, controlplane.TokenClaims, error) {
	s := &corev1.Secret{}
	if err := r.reader.Get(ctx, r.secret, s); err != nil {
		return "", controlplane.TokenClaims{}, fmt.Errorf("read the kubeconfig Secret %s: %w", r.secret, err)
	}
	kc, err := clientcmd.Load(s.Data[r.key])
	if err != nil {
		return "", controlplane.TokenClaims{}, fmt.Errorf("read key %s of Secret %s: %w", r.key, r.secret, err)
	}
	ctxt := kc.Contexts[kc.CurrentContext]
	if ctxt == nil || kc.AuthInfos[ctxt.AuthInfo] == nil {
		return "", controlplane.TokenClaims{}, fmt.Errorf("key %s of Secret %s has no user for its current context", r.key, r.secret)
	}
	tok := kc.AuthInfos[ctxt.AuthInfo].Token
	claims, err := controlplane.ParseTokenClaims(tok)
	return tok, claims, err
}

// store writes token into the kubeconfig Secret, as its current user's.
func (r *tokenRenewer) store(ctx context.Context, token string) error {
	s := &corev1.Secret{}
	if err := r.reader.Get(ctx, r.secret, s); err != nil {
		return fmt.Errorf("read the kubeconfig Secret %s: %w", r.secret, err)
	}
	kc, err := clientcmd.Load(s.Data[r.key])
	if err != nil {
		return fmt.Errorf("read key %s of Secret %s: %w", r.key, r.secret, err)
	}
	ctxt := kc.Contexts[kc.CurrentContext]
	if ctxt == nil || kc.AuthInfos[ctxt.AuthInfo] == nil {
		return fmt.Errorf("key %s of Secret %s has no user for its current context", r.key, r.secret)
	}
	kc.AuthInfos[ctxt.AuthInfo].Token = token
	b, err := clientcmd.Write(*kc)
	if err != nil {
		return err
	}
	s.Data[r.key] = b
	if err := r.app.Update(ctx, s); err != nil {
		return fmt.Errorf("write the new token into Secret %s: %w", r.secret, err)
	}
	return nil
}

// connection is the Connection the Events go to, read for its uid (so that
// `kubectl describe connection` lists them); by name alone if unreadable.
func (r *tokenRenewer) connection(ctx context.Context) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(connection.GVK)
	u.SetName(r.conn)
	_ = r.reader.Get(ctx, client.ObjectKey{Name: r.conn}, u)
	return u
}

// addTokenRenewer runs the renewer when the control-plane token is renewable.
func (o *RunOptions) addTokenRenewer(mgr manager.Manager) error {
	if o.cpToken == nil {
		return nil
	}
	return mgr.Add(&tokenRenewer{token: o.cpToken, cpConfig: o.cpConfig, reader: mgr.GetAPIReader(), app: mgr.GetClient(),
		recorder: mgr.GetEventRecorderFor("mcp-connector"), namespace: o.ControlPlaneNamespace,
		secret: client.ObjectKey{Namespace: o.stateNamespace, Name: o.ControlPlaneKubeconfigSecret},
		key:    o.ControlPlaneKubeconfigSecretKey, renewAt: o.TokenRenewAt, conn: o.ConnectionName})
}
