package pgpipe

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// tlsSetupError is a TLS setting the driver cannot use (a missing CA file,
// a bad key). sslmode=prefer must not hide it by going on in plaintext.
type tlsSetupError struct{ err error }

func (e *tlsSetupError) Error() string { return "pgpipe: TLS setup: " + e.err.Error() }
func (e *tlsSetupError) Unwrap() error { return e.err }

// tlsConfig builds the TLS configuration for one host from sslmode and the
// ssl* settings, as libpq does:
//
//   - require checks nothing, unless a root certificate file is given or
//     ~/.postgresql/root.crt exists: then it verifies like verify-ca;
//   - verify-ca checks the chain against sslrootcert;
//   - verify-full also checks that the certificate names the host (host,
//     not hostaddr);
//   - sslrootcert=system uses the system's roots and needs verify-full;
//   - sslsni sends the host name (never an IP address) in the handshake;
//   - sslcert and sslkey (default ~/.postgresql/postgresql.crt and .key,
//     when they exist) give a client certificate.
func tlsConfig(cfg *Config, h Host) (*tls.Config, error) {
	name := h.Name
	if name == "" {
		name = h.Addr
	}
	if cfg.TLSConfig != nil {
		tc := cfg.TLSConfig.Clone()
		if tc.ServerName == "" && net.ParseIP(name) == nil {
			tc.ServerName = name
		}
		return tc, nil
	}
	tc := &tls.Config{MinVersion: minTLSVersion(cfg.SSLMinProtocolVersion)}
	if cfg.SSLSNI && net.ParseIP(name) == nil {
		tc.ServerName = name
	}
	if err := clientCert(cfg, tc); err != nil {
		return nil, &tlsSetupError{err}
	}
	mode, rootFile, err := verification(cfg)
	if err != nil {
		return nil, &tlsSetupError{err}
	}
	if mode != SSLVerifyCA && mode != SSLVerifyFull {
		tc.InsecureSkipVerify = true // require, prefer, allow: encryption only
		return tc, nil
	}
	roots, err := loadRoots(rootFile)
	if err != nil {
		return nil, &tlsSetupError{err}
	}
	verifyHost := ""
	if mode == SSLVerifyFull {
		verifyHost = name
	}
	// Verification is done here rather than by crypto/tls, so that the
	// name checked (host) stays independent of the name sent (sslsni).
	tc.InsecureSkipVerify = true
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyPeer(cs.PeerCertificates, roots, verifyHost)
	}
	return tc, nil
}

// verification resolves, as libpq does, what the certificate is checked
// for (mode: verify-ca or verify-full when it is checked) and against
// which roots (rootFile: a CA file, "system", or "" when unchecked):
// sslrootcert defaults to ~/.postgresql/root.crt when that exists, and
// require with a root file verifies like verify-ca.
func verification(cfg *Config) (mode SSLMode, rootFile string, err error) {
	mode, rootFile = cfg.SSLMode, cfg.SSLRootCert
	if rootFile == "" {
		if def := homeFile("root.crt"); fileExists(def) {
			rootFile = def
		}
	}
	if rootFile == "system" && mode != SSLVerifyFull {
		return "", "", fmt.Errorf("sslrootcert=system requires sslmode=verify-full, not %q", mode)
	}
	if mode == SSLRequire && rootFile != "" {
		mode = SSLVerifyCA // libpq's backward-compatible behaviour
	}
	if (mode == SSLVerifyCA || mode == SSLVerifyFull) && rootFile == "" {
		return "", "", fmt.Errorf("sslmode=%s needs a root certificate: set sslrootcert to a CA file, or to \"system\" for the system's trusted roots, or use sslmode=require to skip verification", mode)
	}
	return mode, rootFile, nil
}

// loadRoots reads the CA certificates of sslrootcert; nil (the system's
// roots) for "system".
func loadRoots(rootFile string) (*x509.CertPool, error) {
	if rootFile == "system" {
		return nil, nil
	}
	pemData, err := os.ReadFile(rootFile)
	if err != nil {
		return nil, fmt.Errorf("reading sslrootcert: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("sslrootcert %s holds no PEM certificate", rootFile)
	}
	return roots, nil
}

// verifyPeer checks the server's chain against roots (nil: the system's)
// and, when host is set, that the leaf certificate names it.
func verifyPeer(certs []*x509.Certificate, roots *x509.CertPool, host string) error {
	if len(certs) == 0 {
		return errors.New("pgpipe: the server sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
	for _, ic := range certs[1:] {
		opts.Intermediates.AddCert(ic)
	}
	if _, err := certs[0].Verify(opts); err != nil {
		return fmt.Errorf("pgpipe: server certificate not trusted: %w", err)
	}
	if host != "" {
		if err := certs[0].VerifyHostname(host); err != nil {
			return fmt.Errorf("pgpipe: sslmode=verify-full: %w", err)
		}
	}
	return nil
}

// clientCert loads sslcert and sslkey into tc, decrypting the key with
// sslpassword when it is encrypted.
func clientCert(cfg *Config, tc *tls.Config) error {
	certFile, keyFile := cfg.SSLCert, cfg.SSLKey
	if certFile == "" {
		if def := homeFile("postgresql.crt"); fileExists(def) {
			certFile = def
		}
	}
	if keyFile == "" {
		if def := homeFile("postgresql.key"); fileExists(def) {
			keyFile = def
		}
	}
	if certFile == "" || keyFile == "" {
		return nil
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("reading sslcert: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("reading sslkey: %w", err)
	}
	if block, _ := pem.Decode(keyPEM); block != nil && x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck // libpq's sslpassword uses legacy PEM encryption
		if cfg.SSLPassword == "" {
			return errors.New("sslkey is encrypted and no sslpassword was given")
		}
		der, err := x509.DecryptPEMBlock(block, []byte(cfg.SSLPassword)) //nolint:staticcheck // see above
		if err != nil {
			return errors.New("sslkey: cannot decrypt it with sslpassword")
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der})
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("loading sslcert and sslkey: %w", err)
	}
	tc.Certificates = []tls.Certificate{cert}
	return nil
}

// minTLSVersion maps ssl_min_protocol_version.
func minTLSVersion(v string) uint16 {
	switch v {
	case "TLSv1":
		return tls.VersionTLS10
	case "TLSv1.1":
		return tls.VersionTLS11
	case "TLSv1.3":
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// homeFile is a file in ~/.postgresql, libpq's default place for TLS files.
func homeFile(name string) string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".postgresql", name)
}

func fileExists(path string) bool {
	if path == "" {
		return false
	}
	_, err := os.Stat(path)
	return err == nil
}
