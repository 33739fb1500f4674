package pgpipe

import (
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/scram"
)

// authenticate answers the server's authentication requests until
// AuthenticationOk (PostgreSQL protocol, "Start-up"): cleartext password,
// MD5, SCRAM-SHA-256 and SCRAM-SHA-256-PLUS. require_auth and
// channel_binding=require can refuse a method the server asks for.
func (hs handshake) authenticate(h Host) error {
	c := hs.c
	allowed, err := parseRequireAuth(c.cfg.RequireAuth)
	if err != nil {
		return err
	}
	method := "none"
	for {
		msg, err := c.fe.Receive()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.AuthenticationOk:
			return hs.authDone(method, allowed)
		case *pgproto3.AuthenticationCleartextPassword:
			method = "password"
			err = hs.sendPassword(h, method, allowed, func(pw string) string { return pw })
		case *pgproto3.AuthenticationMD5Password:
			method = "md5"
			salt := m.Salt
			err = hs.sendPassword(h, method, allowed, func(pw string) string { return md5Password(c.cfg.User, pw, salt[:]) })
		case *pgproto3.AuthenticationSASL:
			method = "scram-sha-256"
			err = hs.scram(h, m.AuthMechanisms, allowed)
		case *pgproto3.AuthenticationGSS:
			err = errors.New("pgpipe: the server asks for GSSAPI authentication, which pgpipe does not support")
		case *pgproto3.ErrorResponse:
			return newError(m, "")
		default:
			err = errProtocol("unexpected " + msgName(msg) + " during authentication")
		}
		if err != nil {
			return err
		}
	}
}

// authDone checks, once the server accepted the client, that the method
// used was one the client allows.
func (hs handshake) authDone(method string, allowed func(string) bool) error {
	c := hs.c
	if !allowed(method) {
		return fmt.Errorf("pgpipe: the server authenticated the connection with method %q, which require_auth does not allow", method)
	}
	if c.cfg.ChannelBinding == "require" && !c.boundChannel {
		return errors.New("pgpipe: channel_binding=require, but the server authenticated the client without channel binding")
	}
	return nil
}

// sendPassword answers a password request with encode(password).
func (hs handshake) sendPassword(h Host, method string, allowed func(string) bool, encode func(string) string) error {
	c := hs.c
	if !allowed(method) {
		return fmt.Errorf("pgpipe: the server asks for %s authentication, which require_auth does not allow", method)
	}
	if c.cfg.ChannelBinding == "require" {
		return fmt.Errorf("pgpipe: channel_binding=require, but the server asks for %s authentication", method)
	}
	pw, err := hs.password(h, method)
	if err != nil {
		return err
	}
	c.fe.Send(&pgproto3.PasswordMessage{Password: encode(pw)})
	return c.fe.Flush()
}

// password returns the configured password, or the passfile's entry for
// this host, port, database and user.
func (hs handshake) password(h Host, method string) (string, error) {
	c := hs.c
	if c.cfg.Password != "" {
		return c.cfg.Password, nil
	}
	host := h.Name
	if host == "" {
		host = h.Addr
	}
	port := h.Port
	if port == 0 {
		port = 5432
	}
	db := c.cfg.Database
	if db == "" {
		db = c.cfg.User
	}
	pw, err := lookupPassfile(c.cfg.Passfile, host, port, db, c.cfg.User)
	if err != nil {
		// As libpq: an unreadable or group-readable passfile is
		// reported and ignored.
		c.log(slog.LevelWarn, "passfile ignored", "error", err)
	}
	if pw == "" {
		return "", fmt.Errorf("pgpipe: the server asks for %s authentication and no password was given: set password in the DSN, PGPASSWORD, or an entry in the passfile", method)
	}
	return pw, nil
}

// md5Password is PostgreSQL's MD5 response:
// "md5" + hex(md5(hex(md5(password + user)) + salt)).
func md5Password(user, password string, salt []byte) string {
	inner := md5.Sum([]byte(password + user))
	h := md5.New()
	h.Write([]byte(hex.EncodeToString(inner[:])))
	h.Write(salt)
	return "md5" + hex.EncodeToString(h.Sum(nil))
}

// scram runs a SCRAM-SHA-256 exchange, with channel binding over TLS when
// channel_binding allows and the server offers it.
func (hs handshake) scram(h Host, mechanisms []string, allowed func(string) bool) error {
	c := hs.c
	if !allowed("scram-sha-256") {
		return errors.New("pgpipe: the server asks for SCRAM-SHA-256 authentication, which require_auth does not allow")
	}
	pw, err := hs.password(h, "SCRAM-SHA-256")
	if err != nil {
		return err
	}
	var cbData []byte
	if tc, ok := c.netConn.(*tls.Conn); ok {
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			if cbData, err = scram.TLSServerEndPoint(certs[0]); err != nil && c.cfg.ChannelBinding == "require" {
				return fmt.Errorf("pgpipe: channel_binding=require: %w", err)
			}
		}
	}
	binding := c.cfg.ChannelBinding
	if binding == "" {
		binding = "prefer"
	}
	sc, err := scram.NewClient(mechanisms, pw, binding, cbData)
	if err != nil {
		return err
	}
	c.boundChannel = strings.HasSuffix(sc.Mechanism(), "-PLUS")
	c.fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: sc.Mechanism(), Data: sc.ClientFirstMessage()})
	if err := c.fe.Flush(); err != nil {
		return err
	}
	cont, err := receiveAuth[*pgproto3.AuthenticationSASLContinue](c)
	if err != nil {
		return err
	}
	if err := sc.RecvServerFirstMessage(cont.Data); err != nil {
		return err
	}
	c.fe.Send(&pgproto3.SASLResponse{Data: sc.ClientFinalMessage()})
	if err := c.fe.Flush(); err != nil {
		return err
	}
	final, err := receiveAuth[*pgproto3.AuthenticationSASLFinal](c)
	if err != nil {
		return err
	}
	return sc.RecvServerFinalMessage(final.Data)
}

// receiveAuth reads the next authentication message, which must be a T;
// an ErrorResponse (wrong password) is returned as an *Error.
func receiveAuth[T pgproto3.BackendMessage](c *core) (T, error) {
	var zero T
	msg, err := c.fe.Receive()
	if err != nil {
		return zero, err
	}
	if e, ok := msg.(*pgproto3.ErrorResponse); ok {
		return zero, newError(e, "")
	}
	m, ok := msg.(T)
	if !ok {
		return zero, errProtocol("unexpected " + msgName(msg) + " during SCRAM authentication")
	}
	return m, nil
}

// parseRequireAuth turns require_auth into a test of a method name:
// "password", "md5", "scram-sha-256" or "none". A list allows exactly its
// methods; a list of "!method" allows all others.
func parseRequireAuth(s string) (func(string) bool, error) {
	if strings.TrimSpace(s) == "" {
		return func(string) bool { return true }, nil
	}
	set := map[string]bool{}
	negated := -1
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		neg := strings.HasPrefix(m, "!")
		m = strings.TrimPrefix(m, "!")
		switch m {
		case "password", "md5", "scram-sha-256", "none", "gss", "sspi":
		default:
			return nil, &DSNError{Keyword: "require_auth", Err: fmt.Errorf("unknown method %q", m)}
		}
		if negated >= 0 && (negated == 1) != neg {
			return nil, &DSNError{Keyword: "require_auth", Err: errors.New("negative and positive methods cannot be mixed")}
		}
		negated = map[bool]int{true: 1, false: 0}[neg]
		set[m] = true
	}
	if negated == 1 {
		return func(m string) bool { return !set[m] }, nil
	}
	return func(m string) bool { return set[m] }, nil
}
