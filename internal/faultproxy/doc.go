// Package faultproxy is a TCP proxy that understands PostgreSQL's message
// framing in both directions and breaks connections on purpose: at a chosen
// message ("the 3rd DataRow from the server", "the first Bind from the
// client", a predicate on the message) or at a byte offset, it cuts the
// connection, stalls it, or corrupts a length. The driver's fault tests put
// it between pgpipe and a real server (or the scripted backend of
// internal/pgtest); it is not part of the driver.
//
//	p, err := faultproxy.Start("127.0.0.1:5432")
//	if err != nil {
//		return err
//	}
//	defer p.Close()
//	f, err := p.Add(faultproxy.Rule{
//		Conn:   1,                                  // the first connection only
//		Dir:    faultproxy.ServerToClient,
//		At:     faultproxy.On("DataRow").Nth(3),    // the 3rd DataRow from now
//		Action: faultproxy.Cut,
//	})
//	// ... connect to p.Addr(), run a query ...
//	<-f.Fired()
//
// # Framing
//
// The proxy parses each direction as the protocol frames it (PostgreSQL
// protocol, "Message Formats"): from the client, startup packets without
// a type byte (SSLRequest, GSSEncRequest, CancelRequest, StartupMessage)
// until the StartupMessage, typed messages after it; from the server,
// typed messages, except the one-byte answer to an SSLRequest
// ("SSLResponse") or GSSEncRequest ("GSSEncResponse"). After an 'S' (or
// 'G') answer the stream is encrypted and the proxy sees only bytes: byte
// offset triggers still work there, message triggers no longer fire. A
// message whose length is below 4 cannot be framed; the rest of that
// direction is treated as bytes too.
//
// Messages are named as in the protocol documentation: "DataRow", "Bind",
// "ReadyForQuery", "StartupMessage", "CopyData" (both directions: [Rule]
// has a direction). Authentication requests are named by their kind
// ("AuthenticationOk", "AuthenticationSASL", "AuthenticationMD5Password",
// ...), and the client's 'p' messages by what they answer
// ("PasswordMessage", "SASLInitialResponse", "SASLResponse",
// "GSSResponse"). A type byte the protocol does not define is named
// "Unknown(x)".
//
// Offsets count the bytes of one direction of one connection from its
// first byte, as the sender wrote them, TLS records included: the
// client's SSLRequest is bytes 0 to 7, so its TLS ClientHello starts at
// offset 8; the server's 'S' is byte 0 and its ServerHello starts at 1.
//
// # Faults
//
// A [Rule] names the connections it applies to (every one, or the Nth
// accepted), a direction, a [Trigger] and an [Action]. Triggers count
// from the moment the rule is added, on each connection separately, and a
// rule fires at most once per connection. When it fires, everything
// before the trigger point has been forwarded and nothing after it:
//
//   - [Cut] closes both sides of the connection;
//   - [Stall] stops forwarding in the rule's direction (the other keeps
//     flowing) until [Fault.Release], the connection's end or
//     [Proxy.Close]; what the sender sends meanwhile is read ahead and
//     held (up to 1 MiB; beyond that the sender blocks), and a sender
//     that hangs up ends the connection;
//   - [CorruptLength] forwards the message with Rule.Length written over
//     its 4-byte length field (for a byte trigger: over the 4 bytes at the
//     offset), then goes on as if nothing happened;
//   - [Pass] changes nothing; the rule only records that it fired, so a
//     test can wait for a point in the conversation.
//
// [Fault.Fired] and [Fault.Wait] tell when a rule fired. [Proxy.Seen] and
// [Proxy.Forwarded] count messages by name, so a test can tell whether the
// first byte of a statement reached the server; [Proxy.Closed] tells when
// a connection ended, so a test can check that a client closed the
// connection it gave up.
//
// # Goroutines
//
// [Start] starts an accept goroutine; each connection has two more, one
// per direction. All of them belong to the Proxy and end when
// [Proxy.Close] returns. Every method is safe for concurrent use.
package faultproxy
