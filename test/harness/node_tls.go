package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// kubernetesServiceIP is the ClusterIP of the kubernetes Service: the first
// address of envtest's service-cluster-ip-range (10.0.0.0/24). A pod's
// in-cluster config dials it and checks the certificate against it.
var kubernetesServiceIP = net.IPv4(10, 0, 0, 1)

// configureForNode makes kube-apiserver serve on nodeIP (a free port), with a
// serving certificate valid for localhost, nodeIP and the kubernetes Service
// (which envtest's own does not cover), and admit pods as a real cluster does.
// The certificates are written into the API server's CertDir before envtest
// starts it, which then keeps them.
func configureForNode(api *envtest.APIServer, nodeIP string) error {
	ip := net.ParseIP(nodeIP)
	if ip == nil {
		return fmt.Errorf("node IP %q is not an IP address", nodeIP)
	}
	port, err := freePort(nodeIP)
	if err != nil {
		return err
	}
	caPEM, err := writeNodeServingCerts(api.CertDir, ip)
	if err != nil {
		return fmt.Errorf("write kube-apiserver certificates: %w", err)
	}
	serving := &api.SecureServing
	serving.Address, serving.Port, serving.CA = nodeIP, strconv.Itoa(port), caPEM
	api.Configure().
		Set("advertise-address", nodeIP).
		Set("kubelet-preferred-address-types", "InternalIP").
		// envtest turns the ServiceAccount admission plugin off; pods need it
		// for their token volume.
		Disable("disable-admission-plugins")
	return nil
}

// freePort returns a TCP port of host that was free a moment ago.
func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeNodeServingCerts writes, into dir, the files envtest looks for:
// apiserver.crt/key signed by a fresh CA (whose PEM it returns) and the
// service-account signing pair sa-signer.crt/key.
func writeNodeServingCerts(dir string, nodeIP net.IP) ([]byte, error) {
	caKey, caCert, caDER, err := newCA()
	if err != nil {
		return nil, err
	}
	serving, servingKey, err := signCert(caCert, caKey, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:     []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), nodeIP, kubernetesServiceIP},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err != nil {
		return nil, err
	}
	saKey, _, saDER, err := newCA()
	if err != nil {
		return nil, err
	}
	saKeyDER, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return nil, err
	}
	if err := writePEMFiles(dir, map[string]*pem.Block{
		"apiserver.crt": {Type: "CERTIFICATE", Bytes: serving},
		"apiserver.key": {Type: "EC PRIVATE KEY", Bytes: servingKey},
		"sa-signer.crt": {Type: "CERTIFICATE", Bytes: saDER},
		"sa-signer.key": {Type: "EC PRIVATE KEY", Bytes: saKeyDER},
	}); err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(filepath.Join(dir, "ca.crt"), caPEM, 0o600); err != nil {
		return nil, err
	}
	return caPEM, nil
}

// signCert signs tmpl (one day of validity from an hour ago) with a fresh
// P-256 key; it returns the certificate's and the key's DER.
func signCert(ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return der, keyDER, nil
}
