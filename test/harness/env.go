package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// EnvOptions configures StartEnv.
type EnvOptions struct {
	// ControllerManager starts kube-controller-manager with the garbage
	// collector and the namespace controller, so that ownerReference cascades
	// and namespace deletion work as in a real cluster.
	ControllerManager bool
	// APIServerFlags are extra kube-apiserver flags, with or without the
	// leading "--" (e.g. "token-auth-file": "/path/tokens.csv").
	APIServerFlags map[string]string
	// CRDDirectoryPaths are directories of CRD manifests installed (and waited
	// for) before StartEnv returns.
	CRDDirectoryPaths []string
	// Dir holds certificates, etcd data, kubeconfig and logs. It is kept after
	// Stop. Empty means a fresh temporary directory, removed by Stop unless
	// MCP_KEEP_TEST_DIRS is set.
	Dir string
	// NodeIP, if set, readies the cluster for a real node (StartNode):
	// kube-apiserver serves and advertises on NodeIP, with a certificate also
	// valid for the kubernetes Service, and admits pods with the ServiceAccount
	// plugin (see configureForNode).
	NodeIP string
}

// Env is one real cluster: etcd and kube-apiserver started through envtest,
// and optionally kube-controller-manager.
type Env struct {
	Name string
	// Config is an admin (system:masters) client configuration.
	Config  *rest.Config
	Client  client.Client
	Dynamic dynamic.Interface
	// Kubeconfig is the path of an admin kubeconfig file, for kubectl and for
	// the binaries the harness starts.
	Kubeconfig string
	// Dir holds logs, certificates and etcd data.
	Dir string

	env               *envtest.Environment
	controllerManager *Process
	logs              []*os.File
	apiServerPath     string
	etcdPath          string
	ownsDir           bool
}

// StartEnv starts a cluster named name (the name only labels logs and
// directories). Cancelling ctx does not interrupt envtest's own start-up,
// which is bounded by its timeout.
func StartEnv(ctx context.Context, name string, opts EnvOptions) (*Env, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	e := &Env{Name: name}
	if err := e.resolveBinaries(opts); err != nil {
		return nil, err
	}
	if err := e.makeDir(opts.Dir); err != nil {
		return nil, err
	}
	if err := e.start(opts); err != nil {
		_ = e.Stop()
		return nil, fmt.Errorf("start cluster %s: %w", name, err)
	}
	if opts.ControllerManager {
		if err := e.StartControllerManager(); err != nil {
			_ = e.Stop()
			return nil, fmt.Errorf("start cluster %s: %w", name, err)
		}
	}
	return e, nil
}

func (e *Env) resolveBinaries(opts EnvOptions) error {
	var err error
	if e.apiServerPath, err = binAPIServer.path(); err != nil {
		return err
	}
	if e.etcdPath, err = binEtcd.path(); err != nil {
		return err
	}
	if opts.ControllerManager {
		_, err = binControllerManager.path()
	}
	return err
}

func (e *Env) makeDir(dir string) error {
	if dir == "" {
		d, err := os.MkdirTemp("", "mcp-"+e.Name+"-")
		if err != nil {
			return fmt.Errorf("create directory for cluster %s: %w", e.Name, err)
		}
		e.Dir, e.ownsDir = d, true
		return nil
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "etcd")); len(entries) > 0 {
		return fmt.Errorf("cluster %s: %s already holds etcd data; remove it first", e.Name, filepath.Join(dir, "etcd"))
	}
	e.Dir = dir
	return os.MkdirAll(dir, 0o755)
}

func (e *Env) start(opts EnvOptions) error {
	te, err := e.newEnvironment(opts)
	if err != nil {
		return err
	}
	e.env = te
	cfg, err := te.Start()
	reapEnvtestProcesses(e.apiServerPath, e.etcdPath)
	if err != nil {
		return fmt.Errorf("%w; last lines of %s:\n%s", err, e.logPath("kube-apiserver"), tailFile(e.logPath("kube-apiserver"), 20))
	}
	return e.connect(cfg, te.KubeConfig)
}

// newEnvironment configures envtest with explicit binaries, directories and
// log files.
func (e *Env) newEnvironment(opts EnvOptions) (*envtest.Environment, error) {
	apiLog, err := e.openLog("kube-apiserver")
	if err != nil {
		return nil, err
	}
	etcdLog, err := e.openLog("etcd")
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"apiserver", "etcd"} {
		if err := os.MkdirAll(filepath.Join(e.Dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	api := &envtest.APIServer{Path: e.apiServerPath, CertDir: filepath.Join(e.Dir, "apiserver"), Out: apiLog, Err: apiLog}
	// Without it an open watch (a running connector, say) holds a SIGTERM'd
	// kube-apiserver for 60 s, past envtest's stop timeout.
	api.Configure().Set("shutdown-watch-termination-grace-period", "2s")
	if opts.NodeIP != "" {
		if err := configureForNode(api, opts.NodeIP); err != nil {
			return nil, err
		}
	}
	for k, v := range opts.APIServerFlags {
		api.Configure().Set(strings.TrimPrefix(k, "--"), v)
	}
	etcd := &envtest.Etcd{Path: e.etcdPath, DataDir: filepath.Join(e.Dir, "etcd"), Out: etcdLog, Err: etcdLog}
	etcd.Configure().Set("unsafe-no-fsync", "true") // test data: durability does not matter, speed does
	return &envtest.Environment{
		ControlPlane:             envtest.ControlPlane{APIServer: api, Etcd: etcd},
		CRDDirectoryPaths:        opts.CRDDirectoryPaths,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: time.Minute,
		ControlPlaneStopTimeout:  30 * time.Second,
	}, nil
}

// connect builds the clients and writes the admin kubeconfig.
func (e *Env) connect(cfg *rest.Config, kubeconfig []byte) error {
	cfg = rest.CopyConfig(cfg)
	// Crossplane's v1 APIs answer every request with a deprecation warning.
	cfg.WarningHandler = rest.NoWarnings{}
	e.Config = cfg
	e.Kubeconfig = filepath.Join(e.Dir, "kubeconfig")
	if err := os.WriteFile(e.Kubeconfig, kubeconfig, 0o600); err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	var err error
	if e.Client, err = client.New(cfg, client.Options{Scheme: newScheme()}); err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	if e.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return fmt.Errorf("create dynamic client: %w", err)
	}
	return nil
}

// newScheme knows the built-in kinds and CRDs; everything else is
// unstructured.
func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = apiextensionsv1.AddToScheme(s)
	return s
}

// Stop stops kube-controller-manager, kube-apiserver and etcd, and removes the
// directory if StartEnv created it.
func (e *Env) Stop() error {
	var errs []error
	if e.controllerManager != nil {
		errs = append(errs, e.controllerManager.Stop())
	}
	if e.env != nil {
		errs = append(errs, e.env.Stop())
		reapEnvtestProcesses(e.apiServerPath, e.etcdPath)
	}
	for _, f := range e.logs {
		_ = f.Close()
	}
	if e.ownsDir && os.Getenv("MCP_KEEP_TEST_DIRS") == "" {
		errs = append(errs, os.RemoveAll(e.Dir))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop cluster %s: %w", e.Name, err)
	}
	return nil
}

// StopAPIServer stops kube-apiserver and leaves etcd (and so all objects)
// running, for tests of a control plane that goes away.
func (e *Env) StopAPIServer() error {
	defer reapEnvtestProcesses(e.apiServerPath, e.etcdPath)
	if err := e.env.ControlPlane.APIServer.Stop(); err != nil {
		return fmt.Errorf("stop kube-apiserver of %s: %w", e.Name, err)
	}
	return nil
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, on the same
// address, with the same certificates and etcd data: Config, Client and
// Kubeconfig stay valid. It returns once /healthz answers.
func (e *Env) StartAPIServer() error {
	defer reapEnvtestProcesses(e.apiServerPath, e.etcdPath)
	if err := e.env.ControlPlane.APIServer.Start(); err != nil {
		return fmt.Errorf("start kube-apiserver of %s: %w", e.Name, err)
	}
	return nil
}

// LogPaths lists the log files of this cluster's processes.
func (e *Env) LogPaths() []string {
	paths := []string{e.logPath("etcd"), e.logPath("kube-apiserver")}
	if e.controllerManager != nil {
		paths = append(paths, e.controllerManager.LogPath())
	}
	return paths
}

func (e *Env) logPath(process string) string {
	return filepath.Join(e.Dir, process+".log")
}

func (e *Env) openLog(process string) (*os.File, error) {
	f, err := os.OpenFile(e.logPath(process), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log of %s: %w", process, err)
	}
	e.logs = append(e.logs, f)
	return f, nil
}

// tailFile returns the last n lines of a file, or why it cannot be read.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return tail(string(b), n)
}
