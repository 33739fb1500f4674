package pgcluster

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
	"time"
)

// The names of the TLS files inside the cluster's tls directory.
const (
	caFileName         = "ca.crt"
	wrongCAFileName    = "wrong-ca.crt"
	serverCertFileName = "server.crt"
	serverKeyFileName  = "server.key"
	clientCertFileName = "client.crt"
	clientKeyFileName  = "client.key"
)

// keyPair is a certificate with its private key.
type keyPair struct {
	cert *x509.Certificate
	der  []byte
	key  *ecdsa.PrivateKey
}

// tlsMaterial is everything generated for a TLS cluster.
type tlsMaterial struct {
	ca, wrongCA, server, client keyPair
}

// newTLSMaterial generates a CA, a server certificate for localhost,
// 127.0.0.1 and ::1, a client certificate for [CertUser], and a second CA
// that signs nothing. All are valid from an hour before now for a day.
func newTLSMaterial(now time.Time) (*tlsMaterial, error) {
	var m tlsMaterial
	var err error
	if m.ca, err = newCA("pgcluster test CA", now); err != nil {
		return nil, err
	}
	if m.wrongCA, err = newCA("pgcluster wrong CA", now); err != nil {
		return nil, err
	}
	server := leafTemplate("localhost", now)
	server.DNSNames = []string{"localhost"}
	server.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	server.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	if m.server, err = sign(server, m.ca); err != nil {
		return nil, err
	}
	client := leafTemplate(CertUser, now)
	client.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	if m.client, err = sign(client, m.ca); err != nil {
		return nil, err
	}
	return &m, nil
}

func newCA(name string, now time.Time) (keyPair, error) {
	tmpl := leafTemplate(name, now)
	tmpl.IsCA = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	return sign(tmpl, keyPair{})
}

func leafTemplate(commonName string, now time.Time) *x509.Certificate {
	return &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"pgpipe tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
}

// sign makes a key and a certificate from tmpl, signed by parent, or
// self-signed when parent is the zero keyPair.
func sign(tmpl *x509.Certificate, parent keyPair) (keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return keyPair{}, fmt.Errorf("pgcluster: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return keyPair{}, fmt.Errorf("pgcluster: serial number: %w", err)
	}
	tmpl.SerialNumber = serial
	parentCert, parentKey := tmpl, key
	if parent.cert != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, parentKey)
	if err != nil {
		return keyPair{}, fmt.Errorf("pgcluster: sign %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return keyPair{}, fmt.Errorf("pgcluster: %w", err)
	}
	return keyPair{cert: cert, der: der, key: key}, nil
}

func certPEM(kp keyPair) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.der})
}

func keyPEM(kp keyPair) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(kp.key)
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// write stores the material in dir, owned by the run-as user: certificates
// 0644, keys 0600 (the server and libpq both refuse looser key files).
func (m *tlsMaterial) write(r runAs, dir string) error {
	serverKey, err := keyPEM(m.server)
	if err != nil {
		return err
	}
	clientKey, err := keyPEM(m.client)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{caFileName, certPEM(m.ca), 0o644},
		{wrongCAFileName, certPEM(m.wrongCA), 0o644},
		{serverCertFileName, certPEM(m.server), 0o644},
		{serverKeyFileName, serverKey, 0o600},
		{clientCertFileName, certPEM(m.client), 0o644},
		{clientKeyFileName, clientKey, 0o600},
	}
	for _, f := range files {
		if err := r.writeFile(filepath.Join(dir, f.name), f.data, f.perm); err != nil {
			return err
		}
	}
	return nil
}
