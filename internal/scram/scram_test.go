package scram

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The RFC 7677 section 3 example exchange.
const (
	rfc7677Nonce       = "rOprNGfwEbeRWgbNEkqO"
	rfc7677ServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
	rfc7677ClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	rfc7677ServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
)

// newRFC7677Client returns a client set up to replay the RFC 7677 example
// (user "user", fixed nonce, no channel binding) with the given password.
func newRFC7677Client(t *testing.T, password string) *Client {
	t.Helper()
	s, err := NewClient([]string{scramSHA256}, password, "disable", nil)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	s.user, s.clientNonce = "user", rfc7677Nonce
	if got, want := string(s.ClientFirstMessage()), "n,,n=user,r="+rfc7677Nonce; got != want {
		t.Fatalf("client-first-message = %q, want %q", got, want)
	}
	return s
}

func TestSCRAMReplaysRFC7677Example(t *testing.T) {
	s := newRFC7677Client(t, "pencil")
	if err := s.RecvServerFirstMessage([]byte(rfc7677ServerFirst)); err != nil {
		t.Fatalf("RecvServerFirstMessage: %v", err)
	}
	if got := string(s.ClientFinalMessage()); got != rfc7677ClientFinal {
		t.Fatalf("client-final-message = %q, want %q", got, rfc7677ClientFinal)
	}
	if err := s.RecvServerFinalMessage([]byte(rfc7677ServerFinal)); err != nil {
		t.Fatalf("RecvServerFinalMessage: %v", err)
	}
	if s.step != scramDone || s.password != "" {
		t.Fatalf("after the exchange: step %d, password %q; want scramDone and the password cleared", s.step, s.password)
	}
}

func TestSCRAMAppliesSASLprepToThePassword(t *testing.T) {
	// A soft hyphen is mapped to nothing, so "pen\u00adcil" is "pencil".
	s := newRFC7677Client(t, "pen\u00adcil")
	if err := s.RecvServerFirstMessage([]byte(rfc7677ServerFirst)); err != nil {
		t.Fatalf("RecvServerFirstMessage: %v", err)
	}
	if got := string(s.ClientFinalMessage()); got != rfc7677ClientFinal {
		t.Fatalf("client-final-message = %q, want %q", got, rfc7677ClientFinal)
	}
}

func TestSCRAMClientFirstMessageHasEmptyUserAndRandomNonce(t *testing.T) {
	a, err := NewClient([]string{scramSHA256}, "pw", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewClient([]string{scramSHA256}, "pw", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := string(a.ClientFirstMessage())
	nonce, ok := strings.CutPrefix(msg, "n,,n=,r=")
	if !ok {
		t.Fatalf("client-first-message = %q, want prefix %q", msg, "n,,n=,r=")
	}
	raw, err := base64.StdEncoding.DecodeString(nonce)
	if err != nil || len(raw) != scramNonceLen {
		t.Fatalf("nonce %q: want base64 of %d bytes (err %v)", nonce, scramNonceLen, err)
	}
	if a.clientNonce == b.clientNonce {
		t.Fatalf("two clients drew the same nonce %q", a.clientNonce)
	}
	if again := string(a.ClientFirstMessage()); again != msg {
		t.Fatalf("second call = %q, want the same message %q", again, msg)
	}
}

func TestSCRAMEscapesUserName(t *testing.T) {
	if got, want := scramEscapeName("a=b,c"), "a=3Db=2Cc"; got != want {
		t.Fatalf("scramEscapeName = %q, want %q", got, want)
	}
}

func TestSCRAMRejectsBadServerFirstMessage(t *testing.T) {
	const good = "r=" + rfc7677Nonce + "srv"
	tests := []struct {
		name, msg, wantErr string
	}{
		{"empty message", "", `expected attribute "r="`},
		{"wrong nonce prefix", "r=XOprNGfwEbeRWgbNEkqOsrv,s=QUJD,i=4096", "does not extend the client nonce"},
		{"nonce without server part", "r=" + rfc7677Nonce + ",s=QUJD,i=4096", "does not extend the client nonce"},
		{"nonce with control byte", good + "\x01,s=QUJD,i=4096", "invalid byte"},
		{"attributes out of order", "s=QUJD," + good + ",i=4096", `expected attribute "r="`},
		{"missing salt", good + ",i=4096", `expected attribute "s="`},
		{"bad base64 salt", good + ",s=!!!,i=4096", "invalid salt"},
		{"unpadded salt", good + ",s=QUJDRA,i=4096", "invalid salt"},
		{"empty salt", good + ",s=,i=4096", "invalid salt"},
		{"missing iteration count", good + ",s=QUJD", `expected attribute "i="`},
		{"zero iterations", good + ",s=QUJD,i=0", "invalid iteration count"},
		{"negative iterations", good + ",s=QUJD,i=-1", "invalid iteration count"},
		{"signed iterations", good + ",s=QUJD,i=+4096", "invalid iteration count"},
		{"empty iterations", good + ",s=QUJD,i=", "invalid iteration count"},
		{"non-numeric iterations", good + ",s=QUJD,i=4k", "invalid iteration count"},
		{"overflowing iterations", good + ",s=QUJD,i=99999999999999999999", "invalid iteration count"},
		{"too many iterations", good + ",s=QUJD,i=16777217", "more than pgpipe's limit"},
		{"garbage after iterations", good + ",s=QUJD,i=4096,,", "malformed server-first-message"},
		{"mandatory extension", "m=ext," + good + ",s=QUJD,i=4096", "mandatory extension"},
		{"server error", "e=other-error", `"other-error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRFC7677Client(t, "pencil")
			err := s.RecvServerFirstMessage([]byte(tt.msg))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("RecvServerFirstMessage(%q) = %v, want error containing %q", tt.msg, err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "pgpipe: ") {
				t.Fatalf("error %q lacks the pgpipe: prefix", err)
			}
			if err := s.RecvServerFirstMessage([]byte(rfc7677ServerFirst)); err == nil {
				t.Fatal("exchange went on after a rejected server-first-message")
			}
		})
	}
}

func TestSCRAMAcceptsServerFirstMessageExtensions(t *testing.T) {
	s := newRFC7677Client(t, "pencil")
	if err := s.RecvServerFirstMessage([]byte(rfc7677ServerFirst + ",x=ignored")); err != nil {
		t.Fatalf("RecvServerFirstMessage: %v", err)
	}
}

// rfc7677AwaitingFinal returns an RFC 7677 client that has sent its
// client-final-message.
func rfc7677AwaitingFinal(t *testing.T) *Client {
	t.Helper()
	s := newRFC7677Client(t, "pencil")
	if err := s.RecvServerFirstMessage([]byte(rfc7677ServerFirst)); err != nil {
		t.Fatalf("RecvServerFirstMessage: %v", err)
	}
	s.ClientFinalMessage()
	return s
}

func TestSCRAMRejectsBadServerFinalMessage(t *testing.T) {
	tests := []struct {
		name, msg, wantErr string
	}{
		{"wrong server signature", "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "wrong server signature"},
		{"truncated server signature", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl9", "wrong server signature"},
		{"bad base64 signature", "v=6rriTRBi23W!", "invalid signature"},
		{"missing signature", "x=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", `expected attribute "v="`},
		{"empty message", "", `expected attribute "v="`},
		{"garbage after signature", rfc7677ServerFinal + ",garbage", "malformed server-final-message"},
		{"server error", "e=invalid-proof", `server error in server-final-message: "invalid-proof"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := rfc7677AwaitingFinal(t)
			err := s.RecvServerFinalMessage([]byte(tt.msg))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("RecvServerFinalMessage(%q) = %v, want error containing %q", tt.msg, err, tt.wantErr)
			}
			if err := s.RecvServerFinalMessage([]byte(rfc7677ServerFinal)); err == nil {
				t.Fatal("exchange went on after a rejected server-final-message")
			}
		})
	}
}

func TestSCRAMAcceptsServerFinalMessageExtensions(t *testing.T) {
	s := rfc7677AwaitingFinal(t)
	if err := s.RecvServerFinalMessage([]byte(rfc7677ServerFinal + ",x=ignored")); err != nil {
		t.Fatalf("RecvServerFinalMessage: %v", err)
	}
}

func TestSCRAMRejectsServerMessagesOutOfOrder(t *testing.T) {
	s := newRFC7677Client(t, "pencil")
	if err := s.RecvServerFinalMessage([]byte(rfc7677ServerFinal)); err == nil {
		t.Fatal("server-final-message before server-first-message was accepted")
	}

	s = newRFC7677Client(t, "pencil")
	if err := s.RecvServerFirstMessage([]byte(rfc7677ServerFirst)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecvServerFirstMessage([]byte(rfc7677ServerFirst)); err == nil {
		t.Fatal("a second server-first-message was accepted")
	}

	s = newRFC7677Client(t, "pencil")
	if err := s.RecvServerFirstMessage([]byte(rfc7677ServerFirst)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecvServerFinalMessage([]byte(rfc7677ServerFinal)); err == nil {
		t.Fatal("server-final-message before client-final-message was accepted")
	}
}

func TestSCRAMClientFinalMessageBeforeServerFirstPanics(t *testing.T) {
	s := newRFC7677Client(t, "pencil")
	defer func() {
		if r := recover(); r == nil || !strings.HasPrefix(r.(string), "pgpipe bug: ") {
			t.Fatalf("recover() = %v, want a pgpipe bug panic", r)
		}
	}()
	s.ClientFinalMessage()
}

func TestSCRAMChoosesMechanismAndChannelBinding(t *testing.T) {
	both := []string{scramSHA256Plus, scramSHA256}
	plain := []string{scramSHA256}
	plusOnly := []string{scramSHA256Plus}
	tls := []byte("tls-server-end-point hash")
	tests := []struct {
		binding   string
		offered   []string
		cbData    []byte
		wantMech  string // empty when an error is expected
		wantGS2   string
		wantError string
	}{
		{"disable", both, tls, scramSHA256, "n,,", ""},
		{"disable", both, nil, scramSHA256, "n,,", ""},
		{"disable", plain, tls, scramSHA256, "n,,", ""},
		{"disable", plain, nil, scramSHA256, "n,,", ""},
		{"disable", plusOnly, tls, "", "", "channel_binding=disable"},
		{"prefer", both, tls, scramSHA256Plus, "p=tls-server-end-point,,", ""},
		{"prefer", both, nil, scramSHA256, "n,,", ""},
		{"prefer", plain, tls, scramSHA256, "y,,", ""},
		{"prefer", plain, nil, scramSHA256, "n,,", ""},
		{"prefer", plusOnly, tls, scramSHA256Plus, "p=tls-server-end-point,,", ""},
		{"prefer", plusOnly, nil, "", "", "does not use TLS"},
		{"", both, tls, scramSHA256Plus, "p=tls-server-end-point,,", ""},
		{"", plain, nil, scramSHA256, "n,,", ""},
		{"require", both, tls, scramSHA256Plus, "p=tls-server-end-point,,", ""},
		{"require", plusOnly, tls, scramSHA256Plus, "p=tls-server-end-point,,", ""},
		{"require", both, nil, "", "", "channel binding is unavailable"},
		{"require", both, []byte{}, "", "", "channel binding is unavailable"},
		{"require", plain, tls, "", "", `does not offer SCRAM-SHA-256-PLUS (it offered ["SCRAM-SHA-256"])`},
		{"require", plain, nil, "", "", "channel binding is unavailable"},
		{"prefer", nil, tls, "", "", "server offered SASL mechanisms none"},
		{"prefer", []string{"OAUTHBEARER", "SCRAM-SHA-1"}, tls, "", "", `server offered SASL mechanisms ["OAUTHBEARER" "SCRAM-SHA-1"]`},
		{"always", both, tls, "", "", `invalid channel_binding "always"`},
	}
	for _, tt := range tests {
		s, err := NewClient(tt.offered, "pw", tt.binding, tt.cbData)
		if tt.wantError != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantError) {
				t.Errorf("binding %q, offered %q, cbData %v: error %v, want one containing %q", tt.binding, tt.offered, tt.cbData != nil, err, tt.wantError)
			}
			continue
		}
		if err != nil {
			t.Errorf("binding %q, offered %q, cbData %v: %v", tt.binding, tt.offered, tt.cbData != nil, err)
			continue
		}
		first := string(s.ClientFirstMessage())
		if s.Mechanism() != tt.wantMech || !strings.HasPrefix(first, tt.wantGS2+"n=,r=") {
			t.Errorf("binding %q, offered %q, cbData %v: mechanism %s, message %q; want %s, GS2 header %q",
				tt.binding, tt.offered, tt.cbData != nil, s.Mechanism(), first, tt.wantMech, tt.wantGS2)
		}
	}
}

// scramTestServer plays the server side of RFC 5802 for a known password.
type scramTestServer struct {
	password    string // already prepared with SASLprep
	salt        []byte
	iterations  int
	cbind       string // expected c= value
	clientFirst string // client-first-message-bare
	serverFirst string
}

// first answers a client-first-message (its bare part) with a
// server-first-message.
func (v *scramTestServer) first(clientFirstBare string) string {
	v.clientFirst = clientFirstBare
	nonce := strings.TrimPrefix(clientFirstBare, "n=,r=")
	v.serverFirst = "r=" + nonce + "serverpart,s=" + base64.StdEncoding.EncodeToString(v.salt) + ",i=" + strconv.Itoa(v.iterations)
	return v.serverFirst
}

// final checks a client-final-message and returns server-final-message.
func (v *scramTestServer) final(t *testing.T, clientFinal string) string {
	t.Helper()
	withoutProof, proof64, ok := strings.Cut(clientFinal, ",p=")
	if !ok {
		t.Fatalf("client-final-message %q has no proof", clientFinal)
	}
	if !strings.HasPrefix(withoutProof, "c="+v.cbind+",r=") {
		t.Fatalf("client-final-message %q, want channel binding c=%s", clientFinal, v.cbind)
	}
	salted, err := pbkdf2.Key(sha256.New, v.password, v.salt, v.iterations, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	clientKey := scramHMAC(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	authMessage := v.clientFirst + "," + v.serverFirst + "," + withoutProof
	proof, err := base64.StdEncoding.DecodeString(proof64)
	if err != nil {
		t.Fatal(err)
	}
	sig := scramHMAC(storedKey[:], authMessage)
	for i := range proof {
		proof[i] ^= sig[i]
	}
	if got := sha256.Sum256(proof); !hmac.Equal(got[:], storedKey[:]) {
		t.Fatal("client proof does not verify")
	}
	return "v=" + base64.StdEncoding.EncodeToString(scramHMAC(scramHMAC(salted, "Server Key"), authMessage))
}

func TestSCRAMPlusBindsTheTLSCertificate(t *testing.T) {
	cbData := bytes.Repeat([]byte{0xAB}, 32)
	tests := []struct {
		name    string
		offered []string
		gs2     string
		cbData  []byte
	}{
		{"PLUS", []string{scramSHA256Plus, scramSHA256}, "p=tls-server-end-point,,", cbData},
		{"server without PLUS", []string{scramSHA256}, "y,,", nil},
		{"no TLS", []string{scramSHA256}, "n,,", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var clientCB []byte
			if tt.name != "no TLS" {
				clientCB = cbData
			}
			s, err := NewClient(tt.offered, "pässwörd", "prefer", clientCB)
			if err != nil {
				t.Fatal(err)
			}
			srv := &scramTestServer{
				password: saslprep("pässwörd"), salt: []byte("0123456789abcdef"), iterations: 4096,
				cbind: base64.StdEncoding.EncodeToString(append([]byte(tt.gs2), tt.cbData...)),
			}
			first := string(s.ClientFirstMessage())
			bare, ok := strings.CutPrefix(first, tt.gs2)
			if !ok {
				t.Fatalf("client-first-message %q, want GS2 header %q", first, tt.gs2)
			}
			if err := s.RecvServerFirstMessage([]byte(srv.first(bare))); err != nil {
				t.Fatal(err)
			}
			serverFinal := srv.final(t, string(s.ClientFinalMessage()))
			if err := s.RecvServerFinalMessage([]byte(serverFinal)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// testCertificate creates a self-signed certificate for key, signed with alg.
func testCertificate(t *testing.T, key any, alg x509.SignatureAlgorithm) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(1),
		Subject:            pkix.Name{CommonName: "pgpipe test"},
		NotBefore:          time.Unix(0, 0),
		NotAfter:           time.Unix(1<<32, 0),
		SignatureAlgorithm: alg,
	}
	var pub any
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		pub = k.Public()
	case *rsa.PrivateKey:
		pub = k.Public()
	case ed25519.PrivateKey:
		pub = k.Public()
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatalf("CreateCertificate(%v): %v", alg, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if cert.SignatureAlgorithm != alg {
		t.Fatalf("certificate signed with %v, want %v", cert.SignatureAlgorithm, alg)
	}
	return cert
}

func TestTLSServerEndPointHashesCertificateWithItsSignatureHash(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sum256 := func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }
	sum384 := func(b []byte) []byte { h := sha512.Sum384(b); return h[:] }
	sum512 := func(b []byte) []byte { h := sha512.Sum512(b); return h[:] }
	tests := []struct {
		cert *x509.Certificate
		sum  func([]byte) []byte
	}{
		{testCertificate(t, p256, x509.ECDSAWithSHA256), sum256},
		{testCertificate(t, p384, x509.ECDSAWithSHA384), sum384},
		{testCertificate(t, rsaKey, x509.SHA256WithRSA), sum256},
		{testCertificate(t, rsaKey, x509.SHA384WithRSA), sum384},
		{testCertificate(t, rsaKey, x509.SHA512WithRSA), sum512},
		{testCertificate(t, rsaKey, x509.SHA256WithRSAPSS), sum256},
		{testCertificate(t, rsaKey, x509.SHA512WithRSAPSS), sum512},
		// Go no longer signs with MD5 or SHA-1; only the algorithm and the
		// raw bytes matter here. RFC 5929 upgrades both to SHA-256.
		{&x509.Certificate{Raw: []byte("md5 cert"), SignatureAlgorithm: x509.MD5WithRSA}, sum256},
		{&x509.Certificate{Raw: []byte("sha1 cert"), SignatureAlgorithm: x509.SHA1WithRSA}, sum256},
		{&x509.Certificate{Raw: []byte("ecdsa sha1 cert"), SignatureAlgorithm: x509.ECDSAWithSHA1}, sum256},
	}
	for _, tt := range tests {
		got, err := TLSServerEndPoint(tt.cert)
		if err != nil {
			t.Errorf("%v: %v", tt.cert.SignatureAlgorithm, err)
			continue
		}
		if want := tt.sum(tt.cert.Raw); !bytes.Equal(got, want) {
			t.Errorf("%v: got %x, want %x", tt.cert.SignatureAlgorithm, got, want)
		}
	}
}

func TestTLSServerEndPointRejectsCertificatesWithoutUsableHash(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	certs := []*x509.Certificate{
		testCertificate(t, edKey, x509.PureEd25519),
		{Raw: []byte("md2 cert"), SignatureAlgorithm: x509.MD2WithRSA},
		{Raw: []byte("unknown cert"), SignatureAlgorithm: x509.UnknownSignatureAlgorithm},
	}
	for _, cert := range certs {
		if got, err := TLSServerEndPoint(cert); err == nil {
			t.Errorf("%v: got %x, want an error", cert.SignatureAlgorithm, got)
		}
	}
}
