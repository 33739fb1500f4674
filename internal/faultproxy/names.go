package faultproxy

import "encoding/binary"

// Startup packet codes (PostgreSQL protocol, "Message Formats").
const (
	codeCancelRequest = 80877102
	codeSSLRequest    = 80877103
	codeGSSEncRequest = 80877104
	codeProtocol3     = 3 << 16 // StartupMessage, protocol 3.x: the major version in the high half
)

// startupName names an untyped startup packet by its code.
func startupName(code uint32) string {
	switch {
	case code == codeCancelRequest:
		return "CancelRequest"
	case code == codeSSLRequest:
		return "SSLRequest"
	case code == codeGSSEncRequest:
		return "GSSEncRequest"
	case code>>16 == codeProtocol3>>16:
		return "StartupMessage"
	}
	return "StartupPacket"
}

var frontendNames = map[byte]string{
	'B': "Bind",
	'C': "Close",
	'd': "CopyData",
	'c': "CopyDone",
	'f': "CopyFail",
	'D': "Describe",
	'E': "Execute",
	'H': "Flush",
	'F': "FunctionCall",
	'P': "Parse",
	'Q': "Query",
	'S': "Sync",
	'X': "Terminate",
}

var backendNames = map[byte]string{
	'1': "ParseComplete",
	'2': "BindComplete",
	'3': "CloseComplete",
	'A': "NotificationResponse",
	'c': "CopyDone",
	'C': "CommandComplete",
	'd': "CopyData",
	'D': "DataRow",
	'E': "ErrorResponse",
	'G': "CopyInResponse",
	'H': "CopyOutResponse",
	'I': "EmptyQueryResponse",
	'K': "BackendKeyData",
	'n': "NoData",
	'N': "NoticeResponse",
	's': "PortalSuspended",
	'S': "ParameterStatus",
	't': "ParameterDescription",
	'T': "RowDescription",
	'v': "NegotiateProtocolVersion",
	'V': "FunctionCallResponse",
	'W': "CopyBothResponse",
	'Z': "ReadyForQuery",
}

// authNames names an Authentication request ('R') by its code.
var authNames = map[uint32]string{
	0:  "AuthenticationOk",
	2:  "AuthenticationKerberosV5",
	3:  "AuthenticationCleartextPassword",
	5:  "AuthenticationMD5Password",
	7:  "AuthenticationGSS",
	8:  "AuthenticationGSSContinue",
	9:  "AuthenticationSSPI",
	10: "AuthenticationSASL",
	11: "AuthenticationSASLContinue",
	12: "AuthenticationSASLFinal",
}

// unknownName names a type byte the protocol does not define.
func unknownName(t byte) string {
	if t >= 0x20 && t < 0x7f {
		return "Unknown(" + string(rune(t)) + ")"
	}
	const hex = "0123456789abcdef"
	return "Unknown(0x" + string([]byte{hex[t>>4], hex[t&15]}) + ")"
}

// authKind is what the server's last authentication request asked for;
// it names the client's next 'p' message.
type authKind uint8

const (
	authPassword    authKind = iota // PasswordMessage
	authSASLInitial                 // the next 'p' is SASLInitialResponse
	authSASL                        // the next ones are SASLResponse
	authGSS                         // GSSResponse
)

// backendName names a server message from its header (and, for 'R', the
// first 4 body bytes in hdr[5:9] when present), and reports what an
// authentication request means for the client's next 'p' message.
func backendName(hdr []byte) (string, authKind, bool) {
	t := hdr[0]
	if t != 'R' {
		if n, ok := backendNames[t]; ok {
			return n, 0, false
		}
		return unknownName(t), 0, false
	}
	if len(hdr) < 9 {
		return "Authentication", 0, false
	}
	code := binary.BigEndian.Uint32(hdr[5:9])
	name, ok := authNames[code]
	if !ok {
		name = "Authentication"
	}
	switch code {
	case 10:
		return name, authSASLInitial, true
	case 7, 8, 9:
		return name, authGSS, true
	case 0:
		return name, authPassword, true
	}
	return name, authPassword, code == 3 || code == 5
}

// frontendName names a client message; auth is the state the server's
// authentication requests left, for 'p'.
func frontendName(t byte, auth authKind) string {
	if t == 'p' {
		switch auth {
		case authSASLInitial:
			return "SASLInitialResponse"
		case authSASL:
			return "SASLResponse"
		case authGSS:
			return "GSSResponse"
		}
		return "PasswordMessage"
	}
	if n, ok := frontendNames[t]; ok {
		return n
	}
	return unknownName(t)
}
