package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// aggregatorClientName is the CN of the front-proxy client certificate the
// app cluster's kube-apiserver presents to aggregated servers, and the one
// name both sides accept (--requestheader-allowed-names).
const aggregatorClientName = "front-proxy-client"

// aggregationTLS is the key material of the aggregated path, two CAs as
// the aggregation docs ask (never the cluster's client CA): the front-proxy
// CA signs the kube-apiserver's proxy client certificate; the serving CA
// signs the aggregation proxy's serving certificate, for the name the
// aggregator checks (<service>.<namespace>.svc) and is the APIService's
// caBundle.
type aggregationTLS struct {
	dir        string
	serverName string
	caBundle   []byte
	server     *tls.Config
}

func newAggregationTLS(dir, serverName string) (*aggregationTLS, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	frontCA, err := newSigner("bench front-proxy CA")
	if err != nil {
		return nil, err
	}
	client, err := frontCA.sign(aggregatorClientName, nil, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	servingCA, err := newSigner("bench aggregation serving CA")
	if err != nil {
		return nil, err
	}
	serving, err := servingCA.sign(serverName, []string{serverName}, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"front-proxy-ca.crt":     frontCA.certPEM,
		"front-proxy-client.crt": client.certPEM,
		"front-proxy-client.key": client.keyPEM,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", name, err)
		}
	}
	pair, err := tls.X509KeyPair(serving.certPEM, serving.keyPEM)
	if err != nil {
		return nil, err
	}
	clients := x509.NewCertPool()
	clients.AddCert(frontCA.cert)
	return &aggregationTLS{dir: dir, serverName: serverName, caBundle: servingCA.certPEM, server: &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientCAs:    clients,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}}, nil
}

// signer is a throw-away CA, or a certificate it signed.
type signer struct {
	key             *ecdsa.PrivateKey
	cert            *x509.Certificate
	certPEM, keyPEM []byte
}

var serial int64 = 100

func newSigner(cn string) (*signer, error) {
	return selfOrSigned(nil, &x509.Certificate{
		Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	})
}

func (s *signer) sign(cn string, dnsNames []string, usage x509.ExtKeyUsage) (*signer, error) {
	return selfOrSigned(s, &x509.Certificate{
		Subject: pkix.Name{CommonName: cn}, DNSNames: dnsNames,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{usage},
	})
}

// selfOrSigned issues tmpl, signed by parent (self-signed when nil), valid
// for a day.
func selfOrSigned(parent *signer, tmpl *x509.Certificate) (*signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	issuer, issuerKey := tmpl, key
	if parent != nil {
		issuer, issuerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, issuerKey)
	if err != nil {
		return nil, fmt.Errorf("issue certificate %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &signer{key: key, cert: cert,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})}, nil
}

// checkIdentity asks the proxy directly, bypassing the aggregator, twice:
// with no client certificate (the TLS handshake must fail) and with the
// front-proxy client certificate but no X-Remote-User (it must answer 401).
// Nil means both were refused.
func (a *aggregationTLS) checkIdentity(ctx context.Context, port int) error {
	url := fmt.Sprintf("https://127.0.0.1:%d/apis/%s/%s", port, aggGroup, benchVersion)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(a.caBundle)
	get := func(certs []tls.Certificate) (*http.Response, error) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: a.serverName, Certificates: certs, MinVersion: tls.VersionTLS12}}
		defer tr.CloseIdleConnections()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		return (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	}
	if resp, err := get(nil); err == nil {
		_ = resp.Body.Close()
		return fmt.Errorf("the proxy answered %s to a client without a certificate", resp.Status)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(a.dir, "front-proxy-client.crt"), filepath.Join(a.dir, "front-proxy-client.key"))
	if err != nil {
		return err
	}
	resp, err := get([]tls.Certificate{pair})
	if err != nil {
		return fmt.Errorf("the proxy refused the front-proxy client certificate: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("the proxy answered %s to the front-proxy client without X-Remote-User, want 401", resp.Status)
	}
	return nil
}
