package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Direction is one direction of a proxied connection.
type Direction uint8

const (
	// ClientToServer carries the frontend's messages.
	ClientToServer Direction = iota + 1
	// ServerToClient carries the backend's messages.
	ServerToClient
)

func (d Direction) String() string {
	switch d {
	case ClientToServer:
		return "client->server"
	case ServerToClient:
		return "server->client"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// index maps a valid direction to 0 or 1.
func (d Direction) index() int { return int(d) - 1 }

// Action is what a rule does when it fires.
type Action uint8

const (
	// Cut closes both sides of the connection at the trigger point.
	Cut Action = iota + 1
	// Stall stops forwarding the rule's direction at the trigger point
	// until the fault is released, the connection ends or the proxy closes.
	Stall
	// CorruptLength writes Rule.Length over the 4-byte length of the
	// message at the trigger point (over the 4 bytes at the offset, for a
	// byte trigger) and forwards the rest unchanged.
	CorruptLength
	// Pass only records that the rule fired.
	Pass
)

func (a Action) String() string {
	switch a {
	case Cut:
		return "Cut"
	case Stall:
		return "Stall"
	case CorruptLength:
		return "CorruptLength"
	case Pass:
		return "Pass"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Msg describes a message the proxy framed, for [When] predicates.
type Msg struct {
	Conn int       // the connection's number: 1 for the first accepted
	Dir  Direction // the direction it travels
	// Name is the message's protocol name, e.g. "DataRow" (see the
	// package documentation).
	Name string
	// Type is the type byte; 0 for the startup packets, which have none,
	// and the answer itself ('S', 'N', 'G') for SSLResponse and
	// GSSEncResponse.
	Type byte
	// Length is the length field as sent: it counts itself and the body,
	// not the type byte. 0 for SSLResponse and GSSEncResponse.
	Length int64
	// Offset is where the message starts in its direction's byte stream.
	Offset int64
	// Seq counts the messages of this direction of the connection, this
	// one included (1 for the first); NameSeq counts those named Name.
	Seq, NameSeq int
}

// Trigger says where in a stream a rule fires. Build one with [On],
// [When] or [AtByte].
type Trigger struct {
	set    bool // built by On, When or AtByte
	desc   string
	name   string         // messages with this name count ("" any)
	match  func(Msg) bool // and for which this holds (nil: all)
	n      int            // fire at the nth counted message
	offset int64          // >= 0: fire at this byte offset instead
}

// On triggers at the next message named name (see the package
// documentation for the names), before its first byte is forwarded.
func On(name string) Trigger {
	return Trigger{set: true, desc: name, name: name, n: 1, offset: -1}
}

// When triggers at the next message for which f returns true, before its
// first byte is forwarded. desc names the trigger in String. f runs on a
// proxy goroutine, with the proxy's lock held: it must not call the
// Proxy's methods.
func When(desc string, f func(Msg) bool) Trigger {
	return Trigger{set: true, desc: desc, match: f, n: 1, offset: -1}
}

// Nth returns a trigger that fires at the nth message t matches instead of
// the first, counting from the moment the rule is added. n below 1 is 1.
func (t Trigger) Nth(n int) Trigger {
	if t.offset >= 0 {
		return t
	}
	t.n = max(n, 1)
	return t
}

// AtByte triggers when the direction's stream reaches offset: bytes before
// it are forwarded, the byte at it is the first affected. A connection
// already past offset when the rule is added triggers at its next byte.
func AtByte(offset int64) Trigger {
	return Trigger{set: true, desc: "byte " + strconv.FormatInt(offset, 10), offset: max(offset, 0)}
}

// String describes the trigger, e.g. "DataRow #3" or "byte 8".
func (t Trigger) String() string {
	if t.offset < 0 && t.n > 1 {
		return t.desc + " #" + strconv.Itoa(t.n)
	}
	return t.desc
}

func (t Trigger) valid() bool {
	return t.set && (t.offset >= 0 || t.name != "" || t.match != nil)
}

func (t Trigger) matches(m Msg) bool {
	return (t.name == "" || t.name == m.Name) && (t.match == nil || t.match(m))
}

// Rule is a fault to inject.
type Rule struct {
	// Conn is the connection the rule applies to: 0 for every connection,
	// n > 0 for the nth one the proxy accepts (CancelRequest connections
	// count).
	Conn int
	// Dir is the direction the trigger watches and the action affects
	// (Cut closes both).
	Dir    Direction
	At     Trigger
	Action Action
	// Length is what CorruptLength writes, big-endian, over the length
	// field. Every value is allowed: 0x7fffffff, 0xffffffff (-1) and 2
	// are all lies a receiver must survive.
	Length uint32
}

func (r Rule) String() string {
	conn := "every connection"
	if r.Conn > 0 {
		conn = "connection " + strconv.Itoa(r.Conn)
	}
	return fmt.Sprintf("%v at %v %v on %s", r.Action, r.Dir, r.At, conn)
}

func (r Rule) validate() error {
	switch {
	case r.Conn < 0:
		return errors.New("faultproxy: Rule.Conn is negative")
	case r.Dir != ClientToServer && r.Dir != ServerToClient:
		return errors.New("faultproxy: Rule.Dir must be ClientToServer or ServerToClient")
	case r.Action < Cut || r.Action > Pass:
		return errors.New("faultproxy: Rule.Action is not set")
	case !r.At.valid():
		return errors.New("faultproxy: Rule.At is not set: use On, When or AtByte")
	}
	return nil
}

// Fault is a rule added to a proxy: it reports when the rule fires and
// releases the connections it stalled.
type Fault struct {
	p       *Proxy
	rule    Rule
	fired   chan struct{} // closed when the rule first fires
	release chan struct{} // closed by Release

	// Guarded by p.mu.
	count     int
	announced bool // fired is closed
	removed   bool
	released  bool
	hits      map[int]int  // connection -> messages counted towards the trigger
	done      map[int]bool // connections where the rule fired
}

// Rule returns the rule the fault was added with.
func (f *Fault) Rule() Rule { return f.rule }

// Fired returns a channel closed when the rule fires for the first time.
// By then everything before the trigger point has been forwarded.
func (f *Fault) Fired() <-chan struct{} { return f.fired }

// Wait waits until the rule has fired or ctx ends, and returns ctx's error
// in the latter case.
func (f *Fault) Wait(ctx context.Context) error {
	select {
	case <-f.fired:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("faultproxy: %v did not fire: %w", f.rule, ctx.Err())
	}
}

// Count returns how many times the rule fired (at most once per
// connection).
func (f *Fault) Count() int {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	return f.count
}

// Release lets the connections a Stall rule holds go on, and turns later
// firings of the rule into no-ops. It may be called more than once.
func (f *Fault) Release() {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	if !f.released {
		f.released = true
		close(f.release)
	}
}

// Remove disarms the rule: it fires no more. Connections it stalls stay
// stalled until Release.
func (f *Fault) Remove() {
	f.p.mu.Lock()
	defer f.p.mu.Unlock()
	f.removed = true
}

// armedFor reports whether f may still fire on connection conn in
// direction dir. The caller holds p.mu.
func (f *Fault) armedFor(conn int, dir Direction) bool {
	return !f.removed && f.rule.Dir == dir && (f.rule.Conn == 0 || f.rule.Conn == conn) && !f.done[conn]
}

// fire records a firing on connection conn. The caller holds p.mu.
func (f *Fault) fire(conn int) {
	f.done[conn] = true
	f.count++
}
