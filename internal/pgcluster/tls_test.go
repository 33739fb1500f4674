package pgcluster

import (
	"crypto/x509"
	"testing"
	"time"
)

func TestTLSMaterialVerifiesOnlyForLoopbackNames(t *testing.T) {
	t.Parallel()
	now := time.Now()
	m, err := newTLSMaterial(now)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(m.ca.cert)
	wrongRoots := x509.NewCertPool()
	wrongRoots.AddCert(m.wrongCA.cert)
	tests := []struct {
		name   string
		roots  *x509.CertPool
		host   string
		usage  x509.ExtKeyUsage
		leaf   *x509.Certificate
		wantOK bool
	}{
		{"server for localhost", roots, "localhost", x509.ExtKeyUsageServerAuth, m.server.cert, true},
		{"server for 127.0.0.1", roots, "127.0.0.1", x509.ExtKeyUsageServerAuth, m.server.cert, true},
		{"server for ::1", roots, "::1", x509.ExtKeyUsageServerAuth, m.server.cert, true},
		{"server for wrong.example", roots, "wrong.example", x509.ExtKeyUsageServerAuth, m.server.cert, false},
		{"server against the wrong CA", wrongRoots, "localhost", x509.ExtKeyUsageServerAuth, m.server.cert, false},
		{"client certificate", roots, "", x509.ExtKeyUsageClientAuth, m.client.cert, true},
		{"client certificate as a server", roots, "", x509.ExtKeyUsageServerAuth, m.client.cert, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.leaf.Verify(x509.VerifyOptions{Roots: tt.roots, DNSName: tt.host,
				KeyUsages: []x509.ExtKeyUsage{tt.usage}, CurrentTime: now})
			if (err == nil) != tt.wantOK {
				t.Fatalf("Verify: %v, want ok=%v", err, tt.wantOK)
			}
		})
	}
	if m.client.cert.Subject.CommonName != CertUser {
		t.Errorf("client CN = %q, want %q", m.client.cert.Subject.CommonName, CertUser)
	}
	if !m.server.cert.NotBefore.Before(now.Add(-59*time.Minute)) || !m.server.cert.NotAfter.After(now.Add(23*time.Hour)) {
		t.Errorf("server validity %v..%v does not cover an hour back and a day ahead", m.server.cert.NotBefore, m.server.cert.NotAfter)
	}
}
