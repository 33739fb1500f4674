package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// This file is the client side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS
// (RFC 5802, RFC 7677; channel binding type tls-server-end-point from
// RFC 5929) as PostgreSQL uses them: protocol section 55.3, "SASL
// Authentication". It does no I/O. The connect code drives a Client:
//
//	AuthenticationSASL(mechanisms)  NewClient, then SASLInitialResponse
//	                                with Mechanism() and ClientFirstMessage()
//	AuthenticationSASLContinue      RecvServerFirstMessage, then SASLResponse
//	                                with ClientFinalMessage()
//	AuthenticationSASLFinal         RecvServerFinalMessage
//	AuthenticationOk                accepted only after RecvServerFinalMessage
//	                                returned nil
//
// A Client is used by one goroutine and for one exchange.

// SASL mechanism names and the channel binding type, as PostgreSQL spells them.
const (
	scramSHA256     = "SCRAM-SHA-256"
	scramSHA256Plus = "SCRAM-SHA-256-PLUS"
	scramCBType     = "tls-server-end-point"
)

// scramNonceLen is how many random bytes make the client nonce (libpq uses
// 18 too); base64 turns them into 24 printable characters.
const scramNonceLen = 18

// scramMaxIterations caps the iteration count a server may ask for. The
// client computes PBKDF2 over that many HMAC rounds before it can answer,
// and nothing (not even a cancelled context) interrupts the computation, so
// a hostile or broken server could otherwise pin a CPU for minutes with
// i=2147483647 (libpq accepts any positive int). 1<<24 (16,777,216) is
// 4096 times PostgreSQL's default scram_iterations of 4096 and already costs
// about 15 s of CPU (measured on one core of the development machine); a
// server configured beyond it cannot be reached.
const scramMaxIterations = 1 << 24

// Channel binding settings (the channel_binding DSN keyword). An empty
// setting means scramBindingPrefer, libpq's default.
const (
	scramBindingDisable = "disable"
	scramBindingPrefer  = "prefer"
	scramBindingRequire = "require"
)

// scramStep is where a Client is in the exchange.
type scramStep int

const (
	scramStart      scramStep = iota // client-first-message not produced yet
	scramAwaitFirst                  // client-first-message produced; expecting server-first-message
	scramHaveFinal                   // server-first-message accepted; client-final-message ready
	scramAwaitFinal                  // client-final-message produced; expecting server-final-message
	scramDone                        // server signature verified
	scramFailed                      // a server message was rejected; the exchange is over
)

// Client is the client side of one SCRAM-SHA-256(-PLUS) exchange.
type Client struct {
	mech      string // scramSHA256 or scramSHA256Plus
	gs2Header string // "n,,", "y,," or "p=tls-server-end-point,,"
	cbData    []byte // tls-server-end-point data; sent only with -PLUS
	password  string // after SASLprep; cleared once the proofs are computed

	// user and clientNonce go into client-first-message. NewClient
	// sets user to "" (PostgreSQL takes the user name from the startup
	// message and ignores this one, and libpq sends it empty) and
	// clientNonce to fresh random characters. Tests may overwrite both
	// before calling ClientFirstMessage, to replay published vectors.
	user        string
	clientNonce string

	step            scramStep
	clientFirstBare string // client-first-message without the GS2 header
	clientFinal     string // client-final-message, proof included
	serverSignature []byte // the v= value the server must send
}

// NewClient starts an exchange with a server that offered
// serverMechanisms in AuthenticationSASL.
//
// channelBinding is the channel_binding setting: "disable", "prefer" or
// "require" ("" means "prefer"). cbData is the tls-server-end-point data of
// the server's certificate (see TLSServerEndPoint), or nil when the
// connection does not use TLS or the data cannot be computed. The mechanism
// is SCRAM-SHA-256-PLUS when channelBinding is prefer or require, cbData is
// not empty and the server offers -PLUS; otherwise it is SCRAM-SHA-256.
// With require, a missing cbData or a server not offering -PLUS is an error;
// disable never uses -PLUS. A list holding neither mechanism (or nothing
// usable under the setting) is an error naming what the server offered.
//
// password is prepared with SASLprep exactly as PostgreSQL does (see
// saslprep). The client nonce comes from crypto/rand.
func NewClient(serverMechanisms []string, password string, channelBinding string, cbData []byte) (*Client, error) {
	if channelBinding == "" {
		channelBinding = scramBindingPrefer
	}
	switch channelBinding {
	case scramBindingDisable, scramBindingPrefer, scramBindingRequire:
	default:
		return nil, fmt.Errorf("pgpipe: invalid channel_binding %q: want disable, prefer or require", channelBinding)
	}
	var offersPlain, offersPlus bool
	for _, m := range serverMechanisms {
		offersPlain = offersPlain || m == scramSHA256
		offersPlus = offersPlus || m == scramSHA256Plus
	}
	canBind := channelBinding != scramBindingDisable && len(cbData) > 0
	s := &Client{password: saslprep(password)}
	switch {
	case canBind && offersPlus:
		s.mech, s.gs2Header, s.cbData = scramSHA256Plus, "p="+scramCBType+",,", cbData
	case channelBinding == scramBindingRequire && len(cbData) == 0:
		return nil, errors.New("pgpipe: channel_binding=require but channel binding is unavailable: the connection does not use TLS or the server's certificate has no usable signature hash")
	case channelBinding == scramBindingRequire:
		return nil, fmt.Errorf("pgpipe: channel_binding=require but the server does not offer %s (it offered %s)", scramSHA256Plus, formatMechanisms(serverMechanisms))
	case offersPlain && canBind:
		// We could bind but -PLUS is not on the list. "y" says so, and a
		// server that does support binding (PostgreSQL over TLS) then fails
		// the login: someone on the way removed -PLUS from the list.
		s.mech, s.gs2Header = scramSHA256, "y,,"
	case offersPlain:
		s.mech, s.gs2Header = scramSHA256, "n,,"
	case offersPlus && channelBinding == scramBindingDisable:
		return nil, fmt.Errorf("pgpipe: server offered only %s, which needs channel binding, but channel_binding=disable", scramSHA256Plus)
	case offersPlus:
		return nil, fmt.Errorf("pgpipe: server offered only %s, which needs channel binding, but the connection does not use TLS or the server's certificate has no usable signature hash", scramSHA256Plus)
	default:
		return nil, fmt.Errorf("pgpipe: server offered SASL mechanisms %s; pgpipe supports %s and %s", formatMechanisms(serverMechanisms), scramSHA256, scramSHA256Plus)
	}
	nonce := make([]byte, scramNonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("pgpipe: SCRAM client nonce: %w", err)
	}
	s.clientNonce = base64.StdEncoding.EncodeToString(nonce)
	return s, nil
}

// formatMechanisms renders a server's mechanism list for an error message.
func formatMechanisms(ms []string) string {
	if len(ms) == 0 {
		return "none"
	}
	return fmt.Sprintf("%q", ms)
}

// mechanism returns the SASL mechanism chosen by NewClient, to be sent
// in SASLInitialResponse.
func (s *Client) Mechanism() string { return s.mech }

// ClientFirstMessage returns client-first-message, the data of
// SASLInitialResponse: the GS2 header, then "n=" with the (empty) user name
// and "r=" with the client nonce. Calling it again returns the same message.
//
// The GS2 header is "p=tls-server-end-point,," with -PLUS; "y,," when the
// client has binding data and channel_binding allows binding but the server
// did not offer -PLUS; "n,," otherwise. As in libpq, a client without
// binding data (no TLS, or a certificate TLSServerEndPoint cannot hash)
// sends "n", not "y": PostgreSQL over TLS always supports binding and
// rejects "y" as a downgrade, so "y" would make an Ed25519 certificate
// unusable.
func (s *Client) ClientFirstMessage() []byte {
	if s.step == scramStart {
		s.clientFirstBare = "n=" + scramEscapeName(s.user) + ",r=" + s.clientNonce
		s.step = scramAwaitFirst
	}
	return []byte(s.gs2Header + s.clientFirstBare)
}

// scramEscapeName encodes a user name as RFC 5802's saslname: "=" becomes
// "=3D" and "," becomes "=2C".
func scramEscapeName(name string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(name)
}

// RecvServerFirstMessage takes server-first-message, the data of
// AuthenticationSASLContinue. It checks that the nonce extends the client's,
// that the salt is non-empty base64 and that the iteration count is a
// decimal from 1 to scramMaxIterations, and then computes the client proof
// and the server signature expected later. Any error ends the exchange.
func (s *Client) RecvServerFirstMessage(msg []byte) error {
	if s.step != scramAwaitFirst {
		s.step = scramFailed
		return errors.New("pgpipe: SCRAM: unexpected server-first-message (AuthenticationSASLContinue) at this point of the exchange")
	}
	s.step = scramFailed
	serverFirst := string(msg)
	nonce, salt, iterations, err := s.parseServerFirst(serverFirst)
	if err != nil {
		return err
	}
	salted, err := pbkdf2.Key(sha256.New, s.password, salt, iterations, sha256.Size)
	if err != nil {
		return fmt.Errorf("pgpipe: SCRAM: salting the password: %w", err)
	}
	s.password = ""
	clientKey := scramHMAC(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	serverKey := scramHMAC(salted, "Server Key")

	cbind := base64.StdEncoding.EncodeToString(append([]byte(s.gs2Header), s.cbData...))
	withoutProof := "c=" + cbind + ",r=" + nonce
	authMessage := s.clientFirstBare + "," + serverFirst + "," + withoutProof
	proof := scramHMAC(storedKey[:], authMessage)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	s.serverSignature = scramHMAC(serverKey, authMessage)
	s.clientFinal = withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof)
	s.step = scramHaveFinal
	return nil
}

// parseServerFirst splits server-first-message
// ("r=nonce,s=salt,i=count[,extensions]") and validates each part.
func (s *Client) parseServerFirst(msg string) (nonce string, salt []byte, iterations int, err error) {
	if err := scramCheckServerError(msg, "server-first-message"); err != nil {
		return "", nil, 0, err
	}
	if strings.HasPrefix(msg, "m=") {
		return "", nil, 0, errors.New("pgpipe: SCRAM: server requires a mandatory extension (m=) pgpipe does not support")
	}
	nonce, rest, err := scramAttr(msg, 'r', "server-first-message")
	if err != nil {
		return "", nil, 0, err
	}
	if !strings.HasPrefix(nonce, s.clientNonce) || len(nonce) == len(s.clientNonce) {
		return "", nil, 0, errors.New("pgpipe: SCRAM: server nonce does not extend the client nonce")
	}
	for i := 0; i < len(nonce); i++ {
		if c := nonce[i]; c < 0x21 || c > 0x7e {
			return "", nil, 0, fmt.Errorf("pgpipe: SCRAM: server nonce holds invalid byte %#x", c)
		}
	}
	salt64, rest, err := scramAttr(rest, 's', "server-first-message")
	if err != nil {
		return "", nil, 0, err
	}
	salt, err = base64.StdEncoding.DecodeString(salt64)
	if err != nil || len(salt) == 0 {
		return "", nil, 0, fmt.Errorf("pgpipe: SCRAM: server sent an invalid salt %q", salt64)
	}
	count, rest, err := scramAttr(rest, 'i', "server-first-message")
	if err != nil {
		return "", nil, 0, err
	}
	iterations, err = scramParseIterations(count)
	if err != nil {
		return "", nil, 0, err
	}
	if err := scramCheckExtensions(rest, "server-first-message"); err != nil {
		return "", nil, 0, err
	}
	return nonce, salt, iterations, nil
}

// scramParseIterations parses the i= attribute: decimal digits only, from 1
// to scramMaxIterations.
func scramParseIterations(count string) (int, error) {
	n, err := strconv.Atoi(count)
	if err != nil || count[0] < '0' || count[0] > '9' || n < 1 {
		return 0, fmt.Errorf("pgpipe: SCRAM: server sent an invalid iteration count %q", count)
	}
	if n > scramMaxIterations {
		return 0, fmt.Errorf("pgpipe: SCRAM: server asks for %d iterations, more than pgpipe's limit of %d", n, scramMaxIterations)
	}
	return n, nil
}

// ClientFinalMessage returns client-final-message, the data of
// SASLResponse: "c=" (the base64 GS2 header, followed by the channel
// binding data with -PLUS), "r=" (the combined nonce) and "p=" (the client
// proof). It may be called only after RecvServerFirstMessage returned nil.
func (s *Client) ClientFinalMessage() []byte {
	switch s.step {
	case scramHaveFinal:
		s.step = scramAwaitFinal
	case scramAwaitFinal:
	default:
		panic("pgpipe bug: SCRAM ClientFinalMessage called before a server-first-message was accepted")
	}
	return []byte(s.clientFinal)
}

// RecvServerFinalMessage takes server-final-message, the data of
// AuthenticationSASLFinal, and checks in constant time that its v=
// signature proves the server knows the password. An "e=" message becomes
// an error carrying the server's text. Only when it returns nil may the
// connect code accept the AuthenticationOk that follows.
func (s *Client) RecvServerFinalMessage(msg []byte) error {
	if s.step != scramAwaitFinal {
		s.step = scramFailed
		return errors.New("pgpipe: SCRAM: unexpected server-final-message (AuthenticationSASLFinal) at this point of the exchange")
	}
	s.step = scramFailed
	serverFinal := string(msg)
	if err := scramCheckServerError(serverFinal, "server-final-message"); err != nil {
		return err
	}
	verifier64, rest, err := scramAttr(serverFinal, 'v', "server-final-message")
	if err != nil {
		return err
	}
	if err := scramCheckExtensions(rest, "server-final-message"); err != nil {
		return err
	}
	verifier, err := base64.StdEncoding.DecodeString(verifier64)
	if err != nil {
		return fmt.Errorf("pgpipe: SCRAM: server sent an invalid signature %q", verifier64)
	}
	if !hmac.Equal(verifier, s.serverSignature) {
		return errors.New("pgpipe: SCRAM: wrong server signature: the server did not prove it knows the password")
	}
	s.step = scramDone
	return nil
}

// scramCheckServerError turns a server-error message ("e=value") into an
// error carrying the server's text.
func scramCheckServerError(msg, what string) error {
	text, ok := strings.CutPrefix(msg, "e=")
	if !ok {
		return nil
	}
	text, _, _ = strings.Cut(text, ",")
	return fmt.Errorf("pgpipe: SCRAM authentication failed: server error in %s: %q", what, text)
}

// scramAttr reads the attribute named name at the start of msg
// ("name=value[,rest]") and returns its value and what follows the comma.
func scramAttr(msg string, name byte, what string) (value, rest string, err error) {
	if len(msg) < 2 || msg[0] != name || msg[1] != '=' {
		return "", "", fmt.Errorf("pgpipe: SCRAM: malformed %s: expected attribute %q", what, string(name)+"=")
	}
	value, rest, _ = strings.Cut(msg[2:], ",")
	return value, rest, nil
}

// scramCheckExtensions accepts what follows the known attributes of a server
// message: nothing, or comma-separated extensions "x=value" that a client
// ignores (RFC 5802 section 7).
func scramCheckExtensions(rest, what string) error {
	if rest == "" {
		return nil
	}
	for _, ext := range strings.Split(rest, ",") {
		if len(ext) < 2 || ext[1] != '=' || !isASCIILetter(ext[0]) {
			return fmt.Errorf("pgpipe: SCRAM: malformed %s: unexpected %q", what, ext)
		}
	}
	return nil
}

// isASCIILetter reports whether c is an ASCII letter.
func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// scramHMAC returns HMAC-SHA-256 of msg under key.
func scramHMAC(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// TLSServerEndPoint returns the RFC 5929 tls-server-end-point channel
// binding data for the server's leaf certificate: its DER bytes hashed with
// the hash of its signature algorithm, where MD5 and SHA-1 are replaced by
// SHA-256. It is an error for signature algorithms without a single
// supported hash: Ed25519 (RFC 5929 leaves binding undefined), MD2 and
// unknown ones. PostgreSQL cannot bind to such a certificate either, yet
// still offers -PLUS over TLS; libpq (15) then fails the connection with
// "could not find digest for NID UNDEF". The connect code should instead
// pass nil cbData to NewClient, which then authenticates with
// SCRAM-SHA-256 and GS2 header "n" (accepted by PostgreSQL), or fails if
// channel_binding=require.
func TLSServerEndPoint(cert *x509.Certificate) ([]byte, error) {
	var h hash.Hash
	switch cert.SignatureAlgorithm {
	case x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1,
		x509.SHA256WithRSA, x509.SHA256WithRSAPSS, x509.DSAWithSHA256, x509.ECDSAWithSHA256:
		h = sha256.New()
	case x509.SHA384WithRSA, x509.SHA384WithRSAPSS, x509.ECDSAWithSHA384:
		h = sha512.New384()
	case x509.SHA512WithRSA, x509.SHA512WithRSAPSS, x509.ECDSAWithSHA512:
		h = sha512.New()
	default:
		return nil, fmt.Errorf("pgpipe: no tls-server-end-point channel binding for a certificate signed with %v", cert.SignatureAlgorithm)
	}
	h.Write(cert.Raw)
	return h.Sum(nil), nil
}
