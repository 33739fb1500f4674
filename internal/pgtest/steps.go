package pgtest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Step is one action of a script: receive and check a message, send
// messages, close the connection, wait for an event. Steps are built with
// the functions of this package ([Handshake], [Expect], [Send], ...) and
// played in order by a [Server]. Every step is bounded by the step timeout
// (see [Options]). A Step holds its own copy of the messages it was built
// from and can be reused in several scripts.
type Step interface {
	// run plays the step on the script goroutine.
	run(ss *session) error
	// describe names the step in errors, e.g. "Expect(Bind)".
	describe() string
}

// invalidStep is what a step constructor returns for invalid arguments;
// Start reports it before anything runs.
type invalidStep struct {
	desc string
	err  error
}

func (b invalidStep) run(*session) error { return b.err }
func (b invalidStep) describe() string   { return b.desc }

// isNil reports whether m is nil or a nil pointer.
func isNil(m any) bool {
	if m == nil {
		return true
	}
	v := reflect.ValueOf(m)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// Expect returns a step that receives the next message and checks that it
// has msg's type and equal fields. A nil slice or map equals an empty one
// (a Bind with no ResultFormatCodes matches one with []int16{}); inside
// Bind.Parameters, nil (SQL NULL) and an empty value stay different. On a
// mismatch the error names the type received, or each differing field with
// the wanted and the received value.
func Expect(msg pgproto3.FrontendMessage) Step {
	if isNil(msg) {
		return invalidStep{"Expect(nil)", errors.New("no message given")}
	}
	return expectStep{copyMessage(msg)}
}

type expectStep struct{ want pgproto3.FrontendMessage }

func (e expectStep) describe() string { return "Expect(" + typeName(e.want) + ")" }

func (e expectStep) run(ss *session) error {
	got, err := ss.receive()
	if err != nil {
		return err
	}
	if typeName(got) != typeName(e.want) {
		return fmt.Errorf("got %s", formatMessage(got))
	}
	if diffs := diffMessages(e.want, got); len(diffs) > 0 {
		return errors.New(strings.Join(diffs, "; "))
	}
	return nil
}

// ExpectType returns a step that receives the next message and checks only
// its type: msg's fields are ignored, so ExpectType(&pgproto3.Bind{})
// accepts any Bind.
func ExpectType(msg pgproto3.FrontendMessage) Step {
	if isNil(msg) {
		return invalidStep{"ExpectType(nil)", errors.New("no message given")}
	}
	return expectTypeStep{typeName(msg)}
}

type expectTypeStep struct{ name string }

func (e expectTypeStep) describe() string { return "ExpectType(" + e.name + ")" }

func (e expectTypeStep) run(ss *session) error {
	got, err := ss.receive()
	if err != nil {
		return err
	}
	if typeName(got) != e.name {
		return fmt.Errorf("got %s", formatMessage(got))
	}
	return nil
}

// ExpectFlight returns a step that receives len(types) messages and checks
// that they come with these types, in this order (fields are ignored, as in
// [ExpectType]). It reads one flight of the extended protocol in a line:
//
//	ExpectFlight(&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Describe{}, &pgproto3.Execute{}, &pgproto3.Sync{})
func ExpectFlight(types ...pgproto3.FrontendMessage) Step {
	names := make([]string, len(types))
	for i, t := range types {
		if isNil(t) {
			return invalidStep{"ExpectFlight", fmt.Errorf("message %d is nil", i)}
		}
		names[i] = typeName(t)
	}
	if len(names) == 0 {
		return invalidStep{"ExpectFlight()", errors.New("no message types given")}
	}
	return expectFlightStep{names}
}

type expectFlightStep struct{ names []string }

func (e expectFlightStep) describe() string {
	return "ExpectFlight(" + strings.Join(e.names, ", ") + ")"
}

func (e expectFlightStep) run(ss *session) error {
	for i, name := range e.names {
		got, err := ss.receive()
		if err != nil {
			return fmt.Errorf("message %d (%s): %w", i, name, err)
		}
		if typeName(got) != name {
			return fmt.Errorf("message %d: want %s got %s", i, name, formatMessage(got))
		}
	}
	return nil
}

// ExpectFunc returns a step that receives the next message and passes it to
// f, which returns nil to accept it. desc names the check in errors, which
// also show the message. f runs on the server goroutine: it must not call
// t.Fatal; it may keep the message (it is a private copy).
func ExpectFunc(desc string, f func(pgproto3.FrontendMessage) error) Step {
	name := "ExpectFunc(" + desc + ")"
	if f == nil {
		return invalidStep{name, errors.New("nil function")}
	}
	return expectFuncStep{name, f}
}

type expectFuncStep struct {
	name string
	f    func(pgproto3.FrontendMessage) error
}

func (e expectFuncStep) describe() string { return e.name }

func (e expectFuncStep) run(ss *session) error {
	got, err := ss.receive()
	if err != nil {
		return err
	}
	if err := e.f(got); err != nil {
		return fmt.Errorf("%w; got %s", err, formatMessage(got))
	}
	return nil
}

// ExpectUntil returns a step that receives messages, whatever they are,
// until one of the type of msg arrives (a pipeline's many commands up to
// its Sync, say). It fails when more than max messages come first.
func ExpectUntil(msg pgproto3.FrontendMessage, max int) Step {
	if isNil(msg) {
		return invalidStep{"ExpectUntil", errors.New("nil message")}
	}
	return expectUntilStep{typeName(msg), max}
}

type expectUntilStep struct {
	name string
	max  int
}

func (e expectUntilStep) describe() string { return "ExpectUntil(" + e.name + ")" }

func (e expectUntilStep) run(ss *session) error {
	for i := 0; i <= e.max; i++ {
		got, err := ss.receive()
		if err != nil {
			return fmt.Errorf("after %d messages: %w", i, err)
		}
		if typeName(got) == e.name {
			return nil
		}
	}
	return fmt.Errorf("no %s within %d messages", e.name, e.max)
}

// Send returns a step that encodes msgs and writes them to the client in a
// single write, in order.
func Send(msgs ...pgproto3.BackendMessage) Step {
	if len(msgs) == 0 {
		return invalidStep{"Send()", errors.New("no messages given")}
	}
	names := make([]string, len(msgs))
	own := make([]pgproto3.BackendMessage, len(msgs))
	for i, m := range msgs {
		if isNil(m) {
			return invalidStep{"Send", fmt.Errorf("message %d is nil", i)}
		}
		names[i] = typeName(m)
		own[i] = copyMessage(m)
	}
	return sendStep{own, "Send(" + strings.Join(names, ", ") + ")"}
}

type sendStep struct {
	msgs []pgproto3.BackendMessage
	name string
}

func (st sendStep) describe() string { return st.name }

func (st sendStep) run(ss *session) error { return ss.send(st.msgs...) }

// SendRaw returns a step that writes b to the client as it is: half a
// frame, a bad length, garbage. b is copied.
func SendRaw(b []byte) Step {
	return sendRawStep(append([]byte(nil), b...))
}

type sendRawStep []byte

func (st sendRawStep) describe() string { return fmt.Sprintf("SendRaw(%d bytes)", len(st)) }

func (st sendRawStep) run(ss *session) error { return ss.write(st) }

// CloseConn returns a step that closes the client connection from the
// server side; the client then reads EOF. Later steps that read or write
// fail; [WaitForCancel] and [Pause] still work.
func CloseConn() Step { return closeConnStep{} }

type closeConnStep struct{}

func (closeConnStep) describe() string { return "CloseConn" }

func (closeConnStep) run(ss *session) error {
	if ss.w.closed {
		return nil
	}
	return ss.w.close()
}

// WaitForCancel returns a step that waits until a CancelRequest arrives on
// another connection to the server, whatever its process ID and secret key
// (check them with [Server.CancelRequests]). Each WaitForCancel consumes one
// CancelRequest; one that arrived before the step ran counts. It does not
// read the client connection, so it models a server that is busy and
// silent until cancelled.
func WaitForCancel() Step { return waitForCancelStep{} }

type waitForCancelStep struct{}

func (waitForCancelStep) describe() string { return "WaitForCancel" }

func (waitForCancelStep) run(ss *session) error {
	return ss.wait(nil, true, "no CancelRequest arrived")
}

// Pause returns a step that waits until the test closes ch, to model a
// server that stalls. It does not read the client connection: if the client
// disconnects meanwhile, the next step that reads sees it (use
// [ExpectClosed] to require it). A Pause longer than the step timeout
// fails the script, so a test that forgets to close ch does not hang.
func Pause(ch <-chan struct{}) Step {
	if ch == nil {
		return invalidStep{"Pause(nil)", errors.New("nil channel would never be closed")}
	}
	return pauseStep{ch}
}

type pauseStep struct{ ch <-chan struct{} }

func (pauseStep) describe() string { return "Pause" }

func (p pauseStep) run(ss *session) error {
	return ss.wait(p.ch, false, "the test did not close the Pause channel")
}

// ExpectTerminateOrClose returns a step that passes when the client sends
// Terminate or closes the connection (between messages). After Terminate,
// the server leaves the connection for the client to close.
func ExpectTerminateOrClose() Step { return expectTerminateStep{} }

type expectTerminateStep struct{}

func (expectTerminateStep) describe() string { return "ExpectTerminateOrClose" }

func (expectTerminateStep) run(ss *session) error {
	got, err := ss.receive()
	if errors.Is(err, errClientClosed) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := got.(*pgproto3.Terminate); !ok {
		return fmt.Errorf("got %s, want Terminate or the connection closed", formatMessage(got))
	}
	return nil
}

// ExpectClosed returns a step that passes when the client closes the
// connection without sending anything more: no message, not part of one.
func ExpectClosed() Step { return expectClosedStep{} }

type expectClosedStep struct{}

func (expectClosedStep) describe() string { return "ExpectClosed" }

func (expectClosedStep) run(ss *session) error {
	got, err := ss.receive()
	if errors.Is(err, errClientClosed) {
		return nil
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("got %s, want the connection closed", formatMessage(got))
}
