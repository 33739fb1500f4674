package faultproxy_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/faultproxy"
)

// selfSigned returns a throwaway server certificate.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// sslRequest sends an SSLRequest from client and answers it from server.
func sslRequest(t *testing.T, client, server net.Conn, answer byte) {
	t.Helper()
	req := encode(t, &pgproto3.SSLRequest{})
	write(t, client, req)
	if got := readN(t, server, len(req)); !bytes.Equal(got, req) {
		t.Fatalf("server got %q, want an SSLRequest", got)
	}
	write(t, server, []byte{answer})
	if got := readN(t, client, 1); got[0] != answer {
		t.Fatalf("client got %q, want %q", got, answer)
	}
}

// handshake runs a TLS handshake between the two ends; it returns both
// sides' errors.
func handshake(t *testing.T, client, server net.Conn) (*tls.Conn, *tls.Conn, error, error) {
	t.Helper()
	tc := tls.Client(client, &tls.Config{InsecureSkipVerify: true})
	ts := tls.Server(server, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}})
	serr := make(chan error, 1)
	// Owned by the test, which waits for its result below.
	go func() { serr <- ts.Handshake() }()
	cerr := tc.Handshake()
	if cerr != nil {
		client.Close() // so that the server side stops waiting
	}
	return tc, ts, cerr, <-serr
}

func TestTLSAfterSSLRequestIsForwardedAsBytes(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	client, server := dial(t, p, tg)
	sslRequest(t, client, server, 'S')
	tc, ts, cerr, serr := handshake(t, client, server)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake through the proxy: client %v, server %v", cerr, serr)
	}
	up := encode(t, startup)
	write(t, tc, up)
	if got := readN(t, ts, len(up)); !bytes.Equal(got, up) {
		t.Fatalf("server got %q over TLS", got)
	}
	for _, c := range []struct {
		dir  faultproxy.Direction
		name string
		want int
	}{
		{faultproxy.ClientToServer, "SSLRequest", 1},
		{faultproxy.ServerToClient, "SSLResponse", 1},
		{faultproxy.ClientToServer, "StartupMessage", 0}, // encrypted: not framed
	} {
		if got := p.Seen(1, c.dir, c.name); got != c.want {
			t.Errorf("Seen(%v, %s) = %d, want %d", c.dir, c.name, got, c.want)
		}
	}
}

func TestStartupAfterARefusedSSLRequestIsFramed(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ClientToServer, At: faultproxy.On("StartupMessage"), Action: faultproxy.Cut})
	client, server := dial(t, p, tg)
	sslRequest(t, client, server, 'N')
	write(t, client, encode(t, startup))
	waitFired(t, f)
	expectEOF(t, server)
}

func TestByteTriggersWorkInsideTLS(t *testing.T) {
	for _, c := range []struct {
		name   string
		dir    faultproxy.Direction
		offset int64
		action faultproxy.Action
	}{
		{"cut in the ClientHello", faultproxy.ClientToServer, 8 + 20, faultproxy.Cut},
		{"corrupted ServerHello", faultproxy.ServerToClient, 1 + 3, faultproxy.CorruptLength},
		{"cut in the server's handshake", faultproxy.ServerToClient, 1 + 100, faultproxy.Cut},
	} {
		t.Run(c.name, func(t *testing.T) {
			tg := newTarget(t)
			p := startProxy(t, tg)
			f := add(t, p, faultproxy.Rule{Dir: c.dir, At: faultproxy.AtByte(c.offset), Action: c.action, Length: 0x7fffffff})
			client, server := dial(t, p, tg)
			sslRequest(t, client, server, 'S')
			_, _, cerr, _ := handshake(t, client, server)
			if cerr == nil {
				t.Fatal("the TLS handshake succeeded through a fault")
			}
			waitFired(t, f)
			if got := p.Bytes(1, c.dir); c.action == faultproxy.Cut && got != c.offset {
				t.Fatalf("%d bytes forwarded, want %d", got, c.offset)
			}
		})
	}
}

func TestStallOnTheSSLResponseHoldsTheAnswer(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ServerToClient, At: faultproxy.On("SSLResponse"), Action: faultproxy.Stall})
	client, server := dial(t, p, tg)
	req := encode(t, &pgproto3.SSLRequest{})
	write(t, client, req)
	readN(t, server, len(req))
	write(t, server, []byte{'S'})
	waitFired(t, f)
	if n := p.Bytes(1, faultproxy.ServerToClient); n != 0 {
		t.Fatalf("%d bytes reached the client during the stall", n)
	}
	f.Release()
	if got := readN(t, client, 1); got[0] != 'S' {
		t.Fatalf("client got %q after Release", got)
	}
}

func TestGSSEncRequestThenSSLRequestThenStartupAreFramed(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	client, server := dial(t, p, tg)
	gss := encode(t, &pgproto3.GSSEncRequest{})
	write(t, client, gss)
	readN(t, server, len(gss))
	write(t, server, []byte{'N'})
	readN(t, client, 1)
	sslRequest(t, client, server, 'N')
	up := encode(t, startup, &pgproto3.Query{String: "select 1"})
	write(t, client, up)
	readN(t, server, len(up))
	for _, c := range []struct {
		dir  faultproxy.Direction
		name string
	}{
		{faultproxy.ClientToServer, "GSSEncRequest"},
		{faultproxy.ServerToClient, "GSSEncResponse"},
		{faultproxy.ClientToServer, "SSLRequest"},
		{faultproxy.ServerToClient, "SSLResponse"},
		{faultproxy.ClientToServer, "StartupMessage"},
		{faultproxy.ClientToServer, "Query"},
	} {
		if got := p.Forwarded(1, c.dir, c.name); got != 1 {
			t.Errorf("Forwarded(%v, %s) = %d, want 1", c.dir, c.name, got)
		}
	}
}

func TestCancelRequestCanBeCutOnEveryConnection(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ClientToServer, At: faultproxy.On("CancelRequest"), Action: faultproxy.Cut})
	for range 2 {
		client, server := dial(t, p, tg)
		write(t, client, encode(t, &pgproto3.CancelRequest{ProcessID: 1, SecretKey: []byte{0, 0, 0, 2}}))
		expectEOF(t, client)
		expectEOF(t, server)
	}
	if f.Count() != 2 || p.Forwarded(0, faultproxy.ClientToServer, "CancelRequest") != 0 {
		t.Fatalf("fired %d times, forwarded %d CancelRequests; want 2 and 0", f.Count(), p.Forwarded(0, faultproxy.ClientToServer, "CancelRequest"))
	}
}

func TestCorruptLengthOnTheSSLResponsePatchesTheBytesThatFollow(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	add(t, p, faultproxy.Rule{Dir: faultproxy.ServerToClient, At: faultproxy.On("SSLResponse"), Action: faultproxy.CorruptLength, Length: 0x01020304})
	client, server := dial(t, p, tg)
	req := encode(t, &pgproto3.SSLRequest{})
	write(t, client, req)
	readN(t, server, len(req))
	write(t, server, []byte("Sabcdef"))
	if got := readN(t, client, 7); !bytes.Equal(got, []byte{1, 2, 3, 4, 'd', 'e', 'f'}) {
		t.Fatalf("client got % x", got)
	}
}

func TestAClientHangingUpWhileTheSSLResponseIsStalledEndsTheConnection(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ServerToClient, At: faultproxy.On("SSLResponse"), Action: faultproxy.Stall})
	client, server := dial(t, p, tg)
	req := encode(t, &pgproto3.SSLRequest{})
	write(t, client, req)
	readN(t, server, len(req))
	write(t, server, []byte{'S'})
	waitFired(t, f)
	client.Close()
	select {
	case <-p.Closed(1):
	case <-time.After(ioTimeout):
		t.Fatal("the proxy kept the connection after the client hung up waiting for the SSLResponse")
	}
}
