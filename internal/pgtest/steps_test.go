package pgtest

import (
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

func TestExpectAcceptsEqualMessages(t *testing.T) {
	s := start(t, Handshake(),
		Expect(&pgproto3.Parse{Query: "select $1"}),
		Expect(&pgproto3.Bind{Parameters: [][]byte{[]byte("1"), nil, {}}}),
		Expect(&pgproto3.Sync{}),
	)
	c := dial(t, s)
	c.startup()
	c.send(
		&pgproto3.Parse{Query: "select $1", ParameterOIDs: []uint32{}}, // empty equals nil
		&pgproto3.Bind{Parameters: [][]byte{[]byte("1"), nil, {}}, ResultFormatCodes: []int16{}},
		&pgproto3.Sync{},
	)
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
}

func TestExpectMismatchNamesTypeAndFields(t *testing.T) {
	tests := []struct {
		name string
		want pgproto3.FrontendMessage
		got  pgproto3.FrontendMessage
		err  string
	}{
		{
			name: "other type",
			want: &pgproto3.Bind{},
			got:  &pgproto3.Parse{Name: "x", Query: "select 1"},
			err:  `pgtest: step 1 Expect(Bind): got Parse{Name:"x", Query:"select 1"}`,
		},
		{
			name: "one element differs",
			want: &pgproto3.Bind{ResultFormatCodes: []int16{1}},
			got:  &pgproto3.Bind{ResultFormatCodes: []int16{0}},
			err:  `pgtest: step 1 Expect(Bind): field ResultFormatCodes[0]: want 1 got 0`,
		},
		{
			name: "lengths differ",
			want: &pgproto3.Bind{ResultFormatCodes: []int16{1}},
			got:  &pgproto3.Bind{},
			err:  `pgtest: step 1 Expect(Bind): field ResultFormatCodes: want [1] got []`,
		},
		{
			name: "NULL is not empty",
			want: &pgproto3.Bind{Parameters: [][]byte{nil}},
			got:  &pgproto3.Bind{Parameters: [][]byte{{}}},
			err:  `pgtest: step 1 Expect(Bind): field Parameters[0]: want NULL got ""`,
		},
		{
			name: "two fields",
			want: &pgproto3.Describe{ObjectType: 'S', Name: "a"},
			got:  &pgproto3.Describe{ObjectType: 'P', Name: "b"},
			err:  `pgtest: step 1 Expect(Describe): field ObjectType: want 'S' got 'P'; field Name: want "a" got "b"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Handshake(), Expect(tt.want), Send(ReadyForQuery('I')))
			c := dial(t, s)
			c.startup()
			c.send(tt.got)
			wantErr(t, s.Wait(safetyNet), tt.err)
			c.expectEOF() // a failed script closes the connection
		})
	}
}

func TestExpectTypeIgnoresFields(t *testing.T) {
	s := start(t, Handshake(), ExpectType(&pgproto3.Bind{}), ExpectType(&pgproto3.Sync{}))
	c := dial(t, s)
	c.startup()
	c.send(&pgproto3.Bind{PreparedStatement: "s1", Parameters: [][]byte{[]byte("x")}}, &pgproto3.Flush{})
	wantErr(t, s.Wait(safetyNet), "pgtest: step 2 ExpectType(Sync): got Flush{}")
}

func TestExpectFlightChecksTypesInOrder(t *testing.T) {
	flight := ExpectFlight(&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Describe{}, &pgproto3.Execute{}, &pgproto3.Sync{})
	tests := []struct {
		name string
		send []pgproto3.FrontendMessage
		err  string
	}{
		{
			name: "in order",
			send: []pgproto3.FrontendMessage{&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Describe{ObjectType: 'P'}, &pgproto3.Execute{}, &pgproto3.Sync{}},
		},
		{
			name: "Describe missing",
			send: []pgproto3.FrontendMessage{&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}},
			err:  "pgtest: step 1 ExpectFlight(Parse, Bind, Describe, Execute, Sync): message 2: want Describe got Execute{}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Handshake(), flight)
			c := dial(t, s)
			c.startup()
			c.send(tt.send...)
			err := s.Wait(safetyNet)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tt.err)
		})
	}
}

func TestExpectFuncReportsCheckErrorWithMessage(t *testing.T) {
	var kept pgproto3.FrontendMessage
	s := start(t, Handshake(),
		ExpectFunc("any Query", func(m pgproto3.FrontendMessage) error {
			kept = m
			return nil
		}),
		ExpectFunc("no Sync", func(m pgproto3.FrontendMessage) error {
			if _, ok := m.(*pgproto3.Sync); ok {
				return errors.New("Sync not allowed here")
			}
			return nil
		}),
	)
	c := dial(t, s)
	c.startup()
	c.send(&pgproto3.Query{String: "select 1"}, &pgproto3.Sync{})
	wantErr(t, s.Wait(safetyNet), "pgtest: step 2 ExpectFunc(no Sync): Sync not allowed here; got Sync{}")
	// Wait orders the server's write of kept before this read.
	if q, ok := kept.(*pgproto3.Query); !ok || q.String != "select 1" {
		t.Fatalf("ExpectFunc kept %s", formatMessage(kept))
	}
}

func TestSendWritesMessagesInOrder(t *testing.T) {
	want := []pgproto3.BackendMessage{
		RowDescription(Col{Name: "a", OID: 23, Size: 4}, Col{Name: "b", OID: 25, Format: 1}),
		DataRow([]byte("1"), nil),
		CommandComplete("SELECT 1"),
		ErrorResponse("42P01", `relation "t" does not exist`),
		ReadyForQuery('E'),
	}
	s := start(t, Handshake(), Send(want...))
	c := dial(t, s)
	c.startup()
	for i, w := range want {
		got := c.receive()
		if !reflect.DeepEqual(got, w) {
			t.Fatalf("message %d: got %s want %s", i, formatMessage(got), formatMessage(w))
		}
	}
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
}

func TestSendRawWritesBytesAsGiven(t *testing.T) {
	half := []byte{'Z', 0, 0} // the first 3 bytes of a ReadyForQuery
	// No Handshake: the client reads the raw socket, with no Frontend
	// buffering the bytes ahead.
	s := start(t, ExpectType(&pgproto3.StartupMessage{}), SendRaw(half), CloseConn())
	c := dial(t, s)
	c.send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "bob"}})
	got, err := io.ReadAll(c.conn)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(half) {
		t.Fatalf("read %q, want %q", got, half)
	}
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
}

func TestCloseConnGivesClientEOF(t *testing.T) {
	s := start(t, Handshake(), Expect(&pgproto3.Query{String: "select 1"}), CloseConn())
	c := dial(t, s)
	c.startup()
	c.send(&pgproto3.Query{String: "select 1"})
	c.expectEOF()
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
}

func TestStepsAfterCloseConnFail(t *testing.T) {
	s := start(t, Handshake(), CloseConn(), Send(ReadyForQuery('I')))
	c := dial(t, s)
	c.startup()
	wantErr(t, s.Wait(safetyNet), "pgtest: step 2 Send(ReadyForQuery): the script already closed the connection")
}

func TestWaitForCancelResumesAfterCancelRequest(t *testing.T) {
	s := start(t, Handshake(),
		Expect(&pgproto3.Query{String: "select pg_sleep(10)"}),
		WaitForCancel(),
		Send(ErrorResponse("57014", "canceling statement due to user request"), ReadyForQuery('I')),
	)
	c := dial(t, s)
	c.startup()
	c.send(&pgproto3.Query{String: "select pg_sleep(10)"})
	cancel(t, s, DefaultProcessID, []byte{0, 0, 4, 210})

	msgs := c.receiveUntilReady()
	if e, ok := msgs[0].(*pgproto3.ErrorResponse); !ok || e.Code != "57014" {
		t.Fatalf("got %s, want ErrorResponse 57014", formatMessage(msgs[0]))
	}
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
	want := []pgproto3.CancelRequest{{ProcessID: DefaultProcessID, SecretKey: []byte{0, 0, 4, 210}}}
	if got := s.CancelRequests(); !reflect.DeepEqual(got, want) {
		t.Fatalf("CancelRequests() = %v, want %v", got, want)
	}
}

func TestWaitForCancelCountsCancelThatCameFirst(t *testing.T) {
	s := start(t, Handshake(), WaitForCancel(), Send(ReadyForQuery('I')))
	c := dial(t, s)
	cancel(t, s, 1, []byte{9, 9, 9, 9}) // before the client even starts up
	c.startup()
	c.receiveUntilReady()
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
}

func TestPauseHoldsUntilChannelClosed(t *testing.T) {
	ch := make(chan struct{})
	s := start(t, Handshake(), Pause(ch), Send(CommandComplete("DONE")))
	c := dial(t, s)
	c.startup()
	select {
	case <-s.Done():
		t.Fatalf("script ended during Pause: %v", s.Err())
	default:
	}
	close(ch)
	if m, ok := c.receive().(*pgproto3.CommandComplete); !ok || string(m.CommandTag) != "DONE" {
		t.Fatalf("got %s after Pause", formatMessage(m))
	}
	if err := s.Wait(safetyNet); err != nil {
		t.Fatal(err)
	}
}

func TestExpectTerminateOrCloseAcceptsBoth(t *testing.T) {
	tests := []struct {
		name string
		end  func(c *client)
	}{
		{"Terminate", func(c *client) { c.send(&pgproto3.Terminate{}) }},
		{"close", func(c *client) { c.conn.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Handshake(), ExpectTerminateOrClose())
			c := dial(t, s)
			c.startup()
			tt.end(c)
			if err := s.Wait(safetyNet); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestExpectTerminateOrCloseRejectsOtherMessage(t *testing.T) {
	s := start(t, Handshake(), ExpectTerminateOrClose())
	c := dial(t, s)
	c.startup()
	c.send(&pgproto3.Sync{})
	wantErr(t, s.Wait(safetyNet), "pgtest: step 1 ExpectTerminateOrClose: got Sync{}, want Terminate or the connection closed")
}

func TestExpectClosed(t *testing.T) {
	tests := []struct {
		name string
		end  func(c *client)
		err  string
	}{
		{
			name: "clean close",
			end:  func(c *client) { c.conn.Close() },
		},
		{
			name: "message first",
			end:  func(c *client) { c.send(&pgproto3.Sync{}); c.conn.Close() },
			err:  "pgtest: step 1 ExpectClosed: got Sync{}, want the connection closed",
		},
		{
			name: "half a message",
			end: func(c *client) {
				if _, err := c.conn.Write([]byte{'S', 0, 0}); err != nil {
					c.t.Fatal(err)
				}
				c.conn.Close()
			},
			err: "pgtest: step 1 ExpectClosed: client closed the connection in the middle of a message (3 bytes of it came)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := start(t, Handshake(), ExpectClosed())
			c := dial(t, s)
			c.startup()
			tt.end(c)
			err := s.Wait(safetyNet)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantErr(t, err, tt.err)
		})
	}
}

func TestExpectAfterClientClosedSaysSo(t *testing.T) {
	s := start(t, Handshake(), Expect(&pgproto3.Sync{}))
	c := dial(t, s)
	c.startup()
	c.conn.Close()
	wantErr(t, s.Wait(safetyNet), "pgtest: step 1 Expect(Sync): client closed the connection")
}
