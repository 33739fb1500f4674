package pgtest

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Default values sent by [Handshake].
const (
	DefaultProcessID = 4242 // BackendKeyData.ProcessID
	DefaultSecretKey = 1234 // BackendKeyData.SecretKey, as 4 big-endian bytes
)

// md5Salt is the fixed salt [WithPassword] sends in
// AuthenticationMD5Password.
var md5Salt = [4]byte{0x01, 0x02, 0x03, 0x04}

// ErrPasswordMismatch is wrapped by the script error when the client's
// password does not match the one given to [WithPassword]; a test of the
// wrong-password path checks it with errors.Is.
var ErrPasswordMismatch = errors.New("password mismatch")

// HandshakeOption changes what [Handshake] does.
type HandshakeOption func(*handshakeStep)

// WithParameterStatus makes Handshake report name=value in a
// ParameterStatus message, replacing the default for name if there is one.
func WithParameterStatus(name, value string) HandshakeOption {
	return func(h *handshakeStep) {
		for i := range h.status {
			if h.status[i].Name == name {
				h.status[i].Value = value
				return
			}
		}
		h.status = append(h.status, pgproto3.ParameterStatus{Name: name, Value: value})
	}
}

// WithoutParameterStatus makes Handshake leave out the ParameterStatus
// message for name, to test a client facing a server that does not report
// it.
func WithoutParameterStatus(name string) HandshakeOption {
	return func(h *handshakeStep) {
		kept := h.status[:0]
		for _, p := range h.status {
			if p.Name != name {
				kept = append(kept, p)
			}
		}
		h.status = kept
	}
}

// WithBackendKey sets the process ID and secret key Handshake sends in
// BackendKeyData (the secret as 4 big-endian bytes, as PostgreSQL before
// protocol 3.2 does).
func WithBackendKey(pid, secret uint32) HandshakeOption {
	return func(h *handshakeStep) {
		h.key = pgproto3.BackendKeyData{ProcessID: pid, SecretKey: binary.BigEndian.AppendUint32(nil, secret)}
	}
}

// WithPassword makes Handshake ask for a password before AuthenticationOk.
// method is "cleartext" (AuthenticationCleartextPassword) or "md5"
// (AuthenticationMD5Password with the fixed salt 01 02 03 04; the client must answer
// "md5" + hex(md5(hex(md5(password + user)) + salt)), as PostgreSQL
// computes it, user being the StartupMessage's "user"). On a mismatch the
// server replies ErrorResponse FATAL 28P01, closes the connection and the
// script fails with [ErrPasswordMismatch].
func WithPassword(method, password string) HandshakeOption {
	return func(h *handshakeStep) {
		h.method = method
		h.password = password
	}
}

// Handshake returns a step that plays PostgreSQL's side of connection
// start-up (protocol section 55.2.1, "Start-up"):
//
//   - an SSLRequest or GSSEncRequest, if one comes first, is answered 'N'
//     (no encryption), and the StartupMessage is read after it;
//   - the StartupMessage's parameters are recorded ([Server.StartupParams]);
//     one without "user" is refused with FATAL 28000, as PostgreSQL does;
//   - the password exchange runs if [WithPassword] asks for one;
//   - then one write of AuthenticationOk, ParameterStatus for
//     server_version "15.0", server_encoding and client_encoding "UTF8",
//     DateStyle "ISO, MDY", TimeZone "UTC", integer_datetimes and
//     standard_conforming_strings "on" (see [WithParameterStatus]),
//     BackendKeyData{[DefaultProcessID], [DefaultSecretKey]} (see
//     [WithBackendKey]) and ReadyForQuery 'I'.
func Handshake(opts ...HandshakeOption) Step {
	h := &handshakeStep{
		status: []pgproto3.ParameterStatus{
			{Name: "server_version", Value: "15.0"},
			{Name: "server_encoding", Value: "UTF8"},
			{Name: "client_encoding", Value: "UTF8"},
			{Name: "DateStyle", Value: "ISO, MDY"},
			{Name: "TimeZone", Value: "UTC"},
			{Name: "integer_datetimes", Value: "on"},
			{Name: "standard_conforming_strings", Value: "on"},
		},
	}
	WithBackendKey(DefaultProcessID, DefaultSecretKey)(h)
	for _, o := range opts {
		o(h)
	}
	switch h.method {
	case "", "cleartext", "md5":
	default:
		return invalidStep{"Handshake", fmt.Errorf("unknown password method %q (want \"cleartext\" or \"md5\")", h.method)}
	}
	return h
}

type handshakeStep struct {
	status   []pgproto3.ParameterStatus
	key      pgproto3.BackendKeyData
	method   string // "", "cleartext" or "md5"
	password string
}

func (h *handshakeStep) describe() string { return "Handshake" }

func (h *handshakeStep) run(ss *session) error {
	startup, err := receiveStartup(ss)
	if err != nil {
		return err
	}
	params := startup.Parameters
	if params == nil {
		params = map[string]string{}
	}
	ss.s.setParams(params)
	user, ok := params["user"]
	if !ok {
		_ = ss.send(fatal("28000", "no PostgreSQL user name specified in startup packet"))
		_ = ss.w.close()
		return errors.New("StartupMessage has no \"user\" parameter")
	}
	if err := h.authenticate(ss, user); err != nil {
		return err
	}
	msgs := []pgproto3.BackendMessage{&pgproto3.AuthenticationOk{}}
	for i := range h.status {
		msgs = append(msgs, &h.status[i])
	}
	msgs = append(msgs, &h.key, &pgproto3.ReadyForQuery{TxStatus: 'I'})
	return ss.send(msgs...)
}

// receiveStartup reads the StartupMessage, refusing encryption requests
// that come before it.
func receiveStartup(ss *session) (*pgproto3.StartupMessage, error) {
	for {
		msg, err := ss.receive()
		if err != nil {
			return nil, err
		}
		switch m := msg.(type) {
		case *pgproto3.StartupMessage:
			return m, nil
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			if err := ss.write([]byte{'N'}); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("got %s, want StartupMessage", formatMessage(msg))
		}
	}
}

// authenticate runs the password exchange, if one was asked for.
func (h *handshakeStep) authenticate(ss *session, user string) error {
	var want string
	switch h.method {
	case "":
		return nil
	case "cleartext":
		want = h.password
		if err := ss.send(&pgproto3.AuthenticationCleartextPassword{}); err != nil {
			return err
		}
	case "md5":
		want = md5Password(user, h.password, md5Salt)
		if err := ss.send(&pgproto3.AuthenticationMD5Password{Salt: md5Salt}); err != nil {
			return err
		}
	}
	msg, err := ss.receive()
	if err != nil {
		return err
	}
	pm, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		return fmt.Errorf("got %s, want PasswordMessage", formatMessage(msg))
	}
	if pm.Password != want {
		_ = ss.send(fatal("28P01", fmt.Sprintf("password authentication failed for user %q", user)))
		_ = ss.w.close()
		return fmt.Errorf("%w (%s): want %q got %q", ErrPasswordMismatch, h.method, want, pm.Password)
	}
	return nil
}

// md5Password computes what a client answers to AuthenticationMD5Password:
// "md5" + hex(md5(hex(md5(password + user)) + salt)).
func md5Password(user, password string, salt [4]byte) string {
	inner := md5.Sum([]byte(password + user))
	outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), salt[:]...))
	return "md5" + hex.EncodeToString(outer[:])
}

// fatal returns an ErrorResponse with severity FATAL.
func fatal(code, msg string) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg}
}
