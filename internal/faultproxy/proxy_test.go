package faultproxy_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/faultproxy"
)

// ioTimeout bounds every read and write of a test, so that a proxy bug
// fails the test instead of hanging it.
const ioTimeout = 10 * time.Second

// target is a listener standing in for the server.
type target struct {
	ln    net.Listener
	conns chan net.Conn
}

// newTarget listens on a free port; accepted connections come out of next.
// Everything is closed when the test ends.
func newTarget(t *testing.T) *target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{ln: ln, conns: make(chan net.Conn, 16)}
	done := make(chan struct{})
	// The accept goroutine is owned by the test: it ends when the cleanup
	// closes the listener.
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(ioTimeout))
			tg.conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		close(tg.conns)
		for c := range tg.conns {
			c.Close()
		}
	})
	return tg
}

// next returns the next connection the target accepted.
func (tg *target) next(t *testing.T) net.Conn {
	t.Helper()
	select {
	case c := <-tg.conns:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(ioTimeout):
		t.Fatal("the proxy did not connect to the target")
		return nil
	}
}

// startProxy starts a proxy to tg, closed when the test ends.
func startProxy(t *testing.T, tg *target) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(tg.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// dial connects a client through p and returns it with the server end.
func dial(t *testing.T, p *faultproxy.Proxy, tg *target) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_ = client.SetDeadline(time.Now().Add(ioTimeout))
	t.Cleanup(func() { client.Close() })
	return client, tg.next(t)
}

func add(t *testing.T, p *faultproxy.Proxy, r faultproxy.Rule) *faultproxy.Fault {
	t.Helper()
	f, err := p.Add(r)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// waitFired waits for f, failing the test after ioTimeout.
func waitFired(t *testing.T, f *faultproxy.Fault) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	if err := f.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}

// encode concatenates the wire form of msgs.
func encode(t *testing.T, msgs ...interface{ Encode([]byte) ([]byte, error) }) []byte {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = m.Encode(b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func write(t *testing.T, c net.Conn, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readN reads exactly n bytes.
func readN(t *testing.T, c net.Conn, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("reading %d bytes: %v", n, err)
	}
	return b
}

// expectEOF checks that c has nothing more to read and was closed.
func expectEOF(t *testing.T, c net.Conn) {
	t.Helper()
	b, err := io.ReadAll(c)
	if len(b) > 0 || err != nil {
		t.Fatalf("read %d more bytes (%q) and %v; want the connection closed with nothing more", len(b), b, err)
	}
}

var startup = &pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "u"}}

func rows(n int) []interface{ Encode([]byte) ([]byte, error) } {
	msgs := []interface{ Encode([]byte) ([]byte, error) }{&pgproto3.RowDescription{Fields: []pgproto3.FieldDescription{{Name: []byte("n"), DataTypeOID: 23, DataTypeSize: 4, TypeModifier: -1}}}}
	for i := range n {
		msgs = append(msgs, &pgproto3.DataRow{Values: [][]byte{[]byte{'0' + byte(i%10)}}})
	}
	return append(msgs, &pgproto3.CommandComplete{CommandTag: []byte("SELECT")}, &pgproto3.ReadyForQuery{TxStatus: 'I'})
}

func TestProxyForwardsBothDirectionsAndCountsMessages(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	client, server := dial(t, p, tg)

	up := encode(t, startup, &pgproto3.Query{String: "select n"})
	write(t, client, up)
	if got := readN(t, server, len(up)); !bytes.Equal(got, up) {
		t.Fatalf("server got %q, want %q", got, up)
	}
	down := encode(t, append([]interface{ Encode([]byte) ([]byte, error) }{&pgproto3.AuthenticationOk{}, &pgproto3.ReadyForQuery{TxStatus: 'I'}}, rows(3)...)...)
	write(t, server, down)
	if got := readN(t, client, len(down)); !bytes.Equal(got, down) {
		t.Fatalf("client got %q, want %q", got, down)
	}
	for _, c := range []struct {
		dir  faultproxy.Direction
		name string
		want int
	}{
		{faultproxy.ClientToServer, "StartupMessage", 1},
		{faultproxy.ClientToServer, "Query", 1},
		{faultproxy.ServerToClient, "AuthenticationOk", 1},
		{faultproxy.ServerToClient, "DataRow", 3},
		{faultproxy.ServerToClient, "ReadyForQuery", 2},
		{faultproxy.ServerToClient, "Query", 0},
	} {
		if got := p.Forwarded(1, c.dir, c.name); got != c.want {
			t.Errorf("Forwarded(1, %v, %s) = %d, want %d", c.dir, c.name, got, c.want)
		}
		if got := p.Seen(0, c.dir, c.name); got != c.want {
			t.Errorf("Seen(0, %v, %s) = %d, want %d", c.dir, c.name, got, c.want)
		}
	}
	if got := p.Bytes(1, faultproxy.ServerToClient); got != int64(len(down)) {
		t.Errorf("Bytes = %d, want %d", got, len(down))
	}
	if p.Conns() != 1 || !p.Open(1) {
		t.Errorf("Conns() = %d, Open(1) = %v; want 1 open connection", p.Conns(), p.Open(1))
	}
}

func TestCutAtTheThirdDataRowForwardsTheTwoBefore(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ServerToClient, At: faultproxy.On("DataRow").Nth(3), Action: faultproxy.Cut})
	client, server := dial(t, p, tg)
	write(t, client, encode(t, startup))
	readN(t, server, len(encode(t, startup)))

	all := rows(5)
	write(t, server, encode(t, all...))
	want := encode(t, all[:3]...) // RowDescription and two DataRows
	if got := readN(t, client, len(want)); !bytes.Equal(got, want) {
		t.Fatalf("client got %q, want %q", got, want)
	}
	expectEOF(t, client)
	waitFired(t, f)
	if seen, fwd := p.Seen(1, faultproxy.ServerToClient, "DataRow"), p.Forwarded(1, faultproxy.ServerToClient, "DataRow"); seen != 3 || fwd != 2 {
		t.Errorf("DataRows seen %d, forwarded %d; want 3 and 2", seen, fwd)
	}
	if _, err := server.Read(make([]byte, 1)); err == nil {
		t.Error("the server side is still open after Cut")
	}
	if p.Open(1) || f.Count() != 1 {
		t.Errorf("Open(1) = %v, Count() = %d; want a closed connection and one firing", p.Open(1), f.Count())
	}
}

func TestStallHoldsOneDirectionUntilRelease(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Conn: 1, Dir: faultproxy.ServerToClient, At: faultproxy.On("ReadyForQuery"), Action: faultproxy.Stall})
	client, server := dial(t, p, tg)
	write(t, client, encode(t, startup))
	readN(t, server, len(encode(t, startup)))

	all := rows(2)
	write(t, server, encode(t, all...))
	before := encode(t, all[:len(all)-1]...)
	if got := readN(t, client, len(before)); !bytes.Equal(got, before) {
		t.Fatalf("client got %q, want %q", got, before)
	}
	waitFired(t, f)
	if n := p.Forwarded(1, faultproxy.ServerToClient, "ReadyForQuery"); n != 0 {
		t.Fatalf("%d ReadyForQuery forwarded during the stall", n)
	}
	// The other direction still flows.
	sync := encode(t, &pgproto3.Sync{})
	write(t, client, sync)
	if got := readN(t, server, len(sync)); !bytes.Equal(got, sync) {
		t.Fatalf("server got %q during the stall, want a Sync", got)
	}
	f.Release()
	rfq := encode(t, all[len(all)-1])
	if got := readN(t, client, len(rfq)); !bytes.Equal(got, rfq) {
		t.Fatalf("after Release the client got %q, want ReadyForQuery", got)
	}
}

func TestCorruptLengthRewritesTheLengthField(t *testing.T) {
	for _, length := range []uint32{0x7fffffff, 0xffffffff, 2} {
		tg := newTarget(t)
		p := startProxy(t, tg)
		add(t, p, faultproxy.Rule{Dir: faultproxy.ClientToServer, At: faultproxy.On("Bind"), Action: faultproxy.CorruptLength, Length: length})
		client, server := dial(t, p, tg)
		parse := encode(t, startup, &pgproto3.Parse{Query: "select 1"})
		bind := encode(t, &pgproto3.Bind{})
		write(t, client, append(append(append([]byte(nil), parse...), bind...), encode(t, &pgproto3.Sync{})...))
		got := readN(t, server, len(parse)+len(bind)+5)
		want := append(append([]byte(nil), parse...), bind...)
		binary.BigEndian.PutUint32(want[len(parse)+1:], length)
		want = append(want, encode(t, &pgproto3.Sync{})...)
		if !bytes.Equal(got, want) {
			t.Fatalf("length %#x: server got %q, want %q", length, got, want)
		}
	}
}

func TestByteTriggerCutsAtTheExactOffset(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	add(t, p, faultproxy.Rule{Dir: faultproxy.ClientToServer, At: faultproxy.AtByte(10), Action: faultproxy.Cut})
	client, server := dial(t, p, tg)
	up := encode(t, startup, &pgproto3.Query{String: "select 1"})
	write(t, client, up)
	if got := readN(t, server, 10); !bytes.Equal(got, up[:10]) {
		t.Fatalf("server got %q, want the first 10 bytes %q", got, up[:10])
	}
	expectEOF(t, server)
}

func TestByteCorruptionOverwritesFourBytesAcrossMessages(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	client, server := dial(t, p, tg)
	write(t, client, encode(t, startup))
	readN(t, server, len(encode(t, startup)))
	// Armed after 0 bytes went down: offset 3 is inside the first message
	// and the 4 bytes spill into the next one.
	add(t, p, faultproxy.Rule{Dir: faultproxy.ServerToClient, At: faultproxy.AtByte(3), Action: faultproxy.CorruptLength, Length: 0xdeadbeef})
	down := encode(t, &pgproto3.ParseComplete{}, &pgproto3.BindComplete{})
	write(t, server, down)
	want := append([]byte(nil), down...)
	copy(want[3:], []byte{0xde, 0xad, 0xbe, 0xef})
	if got := readN(t, client, len(down)); !bytes.Equal(got, want) {
		t.Fatalf("client got % x, want % x", got, want)
	}
}

func TestTriggersCountFromWhenTheRuleIsAdded(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	client, server := dial(t, p, tg)
	write(t, client, encode(t, startup))
	readN(t, server, len(encode(t, startup)))
	first := encode(t, &pgproto3.DataRow{Values: [][]byte{[]byte("a")}}, &pgproto3.DataRow{Values: [][]byte{[]byte("b")}})
	write(t, server, first)
	readN(t, client, len(first))

	var got faultproxy.Msg
	f := add(t, p, faultproxy.Rule{Conn: 1, Dir: faultproxy.ServerToClient, At: faultproxy.When("DataRow", func(m faultproxy.Msg) bool {
		got = m // runs under the proxy's lock, before Fired is closed
		return m.Name == "DataRow"
	}).Nth(2), Action: faultproxy.Cut})
	more := encode(t, &pgproto3.DataRow{Values: [][]byte{[]byte("c")}}, &pgproto3.DataRow{Values: [][]byte{[]byte("d")}})
	write(t, server, more)
	waitFired(t, f)
	if got.NameSeq != 4 || got.Seq != 4 || got.Offset != int64(len(first)+len(more)/2) || got.Type != 'D' || got.Length != int64(len(more)/2-1) || got.Conn != 1 {
		t.Fatalf("the trigger fired at %+v; want the 4th DataRow of the stream, the 2nd since the rule was added", got)
	}
	if n := p.Forwarded(1, faultproxy.ServerToClient, "DataRow"); n != 3 {
		t.Fatalf("%d DataRows forwarded, want 3", n)
	}
}

func TestRulesApplyToTheirConnectionOnly(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Conn: 2, Dir: faultproxy.ClientToServer, At: faultproxy.On("StartupMessage"), Action: faultproxy.Cut})
	up := encode(t, startup)
	for n := 1; n <= 3; n++ {
		client, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		_ = client.SetDeadline(time.Now().Add(ioTimeout))
		write(t, client, up)
		server := tg.next(t) // the proxy dials the target before the client's first byte
		if n == 2 {
			expectEOF(t, client)
			expectEOF(t, server)
			continue
		}
		if got := readN(t, server, len(up)); !bytes.Equal(got, up) {
			t.Fatalf("connection %d: server got %q", n, got)
		}
	}
	if f.Count() != 1 || p.Conns() != 3 || p.Seen(2, faultproxy.ClientToServer, "StartupMessage") != 1 || p.Forwarded(0, faultproxy.ClientToServer, "StartupMessage") != 2 {
		t.Fatalf("count %d, conns %d, seen on 2: %d, forwarded: %d; want 1, 3, 1, 2", f.Count(), p.Conns(),
			p.Seen(2, faultproxy.ClientToServer, "StartupMessage"), p.Forwarded(0, faultproxy.ClientToServer, "StartupMessage"))
	}
}

func TestAuthenticationMessagesAreNamed(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	client, server := dial(t, p, tg)
	steps := []struct {
		fromServer bool
		msg        interface{ Encode([]byte) ([]byte, error) }
		name       string
	}{
		{false, startup, "StartupMessage"},
		{true, &pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}}, "AuthenticationSASL"},
		{false, &pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,,n=,r=abc")}, "SASLInitialResponse"},
		{true, &pgproto3.AuthenticationSASLContinue{Data: []byte("r=abcdef,s=c2FsdA==,i=4096")}, "AuthenticationSASLContinue"},
		{false, &pgproto3.SASLResponse{Data: []byte("c=biws,r=abcdef,p=cHJvb2Y=")}, "SASLResponse"},
		{true, &pgproto3.AuthenticationSASLFinal{Data: []byte("v=c2ln")}, "AuthenticationSASLFinal"},
		{true, &pgproto3.AuthenticationMD5Password{Salt: [4]byte{1, 2, 3, 4}}, "AuthenticationMD5Password"},
		{false, &pgproto3.PasswordMessage{Password: "md5abc"}, "PasswordMessage"},
	}
	for _, s := range steps {
		b := encode(t, s.msg)
		from, to, dir := client, server, faultproxy.ClientToServer
		if s.fromServer {
			from, to, dir = server, client, faultproxy.ServerToClient
		}
		write(t, from, b)
		readN(t, to, len(b))
		if n := p.Forwarded(1, dir, s.name); n != 1 {
			t.Errorf("%s: forwarded %d times, want 1", s.name, n)
		}
	}
}

func TestMessagesWithLengthsBelowFourLoseTheFramingButNotTheBytes(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	client, server := dial(t, p, tg)
	write(t, client, encode(t, startup))
	readN(t, server, len(encode(t, startup)))
	down := append([]byte{'Z', 0, 0, 0, 2}, encode(t, &pgproto3.ReadyForQuery{TxStatus: 'I'})...)
	write(t, server, down)
	if got := readN(t, client, len(down)); !bytes.Equal(got, down) {
		t.Fatalf("client got % x, want % x", got, down)
	}
	if n := p.Seen(1, faultproxy.ServerToClient, "ReadyForQuery"); n != 1 {
		t.Fatalf("%d ReadyForQuery framed; want only the one with the bad length", n)
	}
}

func TestUnknownTypeBytesAreNamed(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ServerToClient, At: faultproxy.On("Unknown(x)"), Action: faultproxy.Pass})
	client, server := dial(t, p, tg)
	write(t, client, encode(t, startup))
	readN(t, server, len(encode(t, startup)))
	down := []byte{'x', 0, 0, 0, 5, 1}
	write(t, server, down)
	readN(t, client, len(down))
	waitFired(t, f)
}

func TestCutClosesAnIdleConnectionAtOnce(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	client, server := dial(t, p, tg)
	p.Cut(1)
	expectEOF(t, client)
	expectEOF(t, server)
	if p.Open(1) {
		t.Fatal("Open(1) after Cut")
	}
	p.Cut(7) // no such connection: nothing happens
}

func TestCloseEndsStalledConnections(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ClientToServer, At: faultproxy.On("StartupMessage"), Action: faultproxy.Stall})
	client, _ := dial(t, p, tg)
	write(t, client, encode(t, startup))
	waitFired(t, f)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	expectEOF(t, client)
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestFaultWaitReturnsTheContextError(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ClientToServer, At: faultproxy.On("Terminate"), Action: faultproxy.Cut})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	f.Remove()
	client, server := dial(t, p, tg)
	up := encode(t, startup, &pgproto3.Terminate{})
	write(t, client, up)
	if got := readN(t, server, len(up)); !bytes.Equal(got, up) {
		t.Fatal("a removed rule still fired")
	}
	if f.Count() != 0 {
		t.Fatalf("Count() = %d after Remove", f.Count())
	}
}

func TestAddRejectsIncompleteRules(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	for _, r := range []faultproxy.Rule{
		{At: faultproxy.On("Bind"), Action: faultproxy.Cut},
		{Dir: faultproxy.ClientToServer, Action: faultproxy.Cut},
		{Dir: faultproxy.ClientToServer, At: faultproxy.On("Bind")},
		{Conn: -1, Dir: faultproxy.ClientToServer, At: faultproxy.On("Bind"), Action: faultproxy.Cut},
	} {
		if _, err := p.Add(r); err == nil {
			t.Errorf("Add(%v) accepted an incomplete rule", r)
		}
	}
}

func TestRuleAndTriggerDescribeThemselves(t *testing.T) {
	r := faultproxy.Rule{Conn: 2, Dir: faultproxy.ServerToClient, At: faultproxy.On("DataRow").Nth(3), Action: faultproxy.Stall}
	if got, want := r.String(), "Stall at server->client DataRow #3 on connection 2"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := faultproxy.AtByte(8).Nth(2).String(); got != "byte 8" {
		t.Errorf("AtByte(8).Nth(2) = %q, want byte 8", got)
	}
}

func TestASenderHangingUpDuringAStallEndsTheConnection(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ClientToServer, At: faultproxy.On("Query"), Action: faultproxy.Stall})
	client, server := dial(t, p, tg)
	up := encode(t, startup)
	write(t, client, append(append([]byte(nil), up...), encode(t, &pgproto3.Query{String: "select 1"})...))
	readN(t, server, len(up))
	waitFired(t, f)
	write(t, client, encode(t, &pgproto3.Sync{})) // read into the buffer, not forwarded
	client.Close()
	select {
	case <-p.Closed(1):
	case <-time.After(ioTimeout):
		t.Fatal("the proxy kept the connection after the client hung up during a stall")
	}
	expectEOF(t, server)
}

func TestDataSentDuringAStallIsForwardedInOrderAfterRelease(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ClientToServer, At: faultproxy.On("Query"), Action: faultproxy.Stall})
	client, server := dial(t, p, tg)
	var all []byte
	all = append(all, encode(t, startup, &pgproto3.Query{String: "select 1"})...)
	write(t, client, all)
	waitFired(t, f)
	for i := range 50 {
		b := encode(t, &pgproto3.Query{String: "select " + string(rune('a'+i%26))})
		all = append(all, b...)
		write(t, client, b)
	}
	f.Release()
	if got := readN(t, server, len(all)); !bytes.Equal(got, all) {
		t.Fatal("the bytes after a released stall came out of order or changed")
	}
	if n := p.Forwarded(1, faultproxy.ClientToServer, "Query"); n != 51 {
		t.Fatalf("%d queries forwarded, want 51", n)
	}
}

func TestASenderHangingUpAfterFillingTheBufferDuringAStallEndsTheConnection(t *testing.T) {
	tg := newTarget(t)
	p := startProxy(t, tg)
	f := add(t, p, faultproxy.Rule{Dir: faultproxy.ClientToServer, At: faultproxy.On("CopyData").Nth(2), Action: faultproxy.Stall})
	client, server := dial(t, p, tg)
	up := encode(t, startup)
	write(t, client, up)
	readN(t, server, len(up))
	chunk := encode(t, &pgproto3.CopyData{Data: bytes.Repeat([]byte("x"), 64<<10)})
	write(t, client, chunk)
	readN(t, server, len(chunk))
	write(t, client, chunk) // stalled
	write(t, client, chunk) // more than the proxy's read buffer
	waitFired(t, f)
	client.Close()
	select {
	case <-p.Closed(1):
	case <-time.After(ioTimeout):
		t.Fatal("the proxy kept the connection after the client hung up during a stall")
	}
}
