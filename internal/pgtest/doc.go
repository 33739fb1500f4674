// Package pgtest is a scripted PostgreSQL backend for the driver's unit
// tests.
//
// A test lists what the server should receive and what it should answer,
// starts a [Server] on a loopback port, points the client at
// [Server.Addr], and at the end checks that the script ran as written:
//
//	s, err := pgtest.Start(
//		pgtest.Handshake(),
//		pgtest.Expect(&pgproto3.Query{String: "select 1"}),
//		pgtest.Send(
//			pgtest.RowDescription(pgtest.Col{Name: "?column?", OID: 23, Size: 4}),
//			pgtest.DataRow([]byte("1")),
//			pgtest.CommandComplete("SELECT 1"),
//			pgtest.ReadyForQuery('I'),
//		),
//		pgtest.ExpectTerminateOrClose(),
//	)
//	if err != nil {
//		t.Fatal(err)
//	}
//	t.Cleanup(func() { s.Close() })
//
//	// ... connect to s.Addr(), run "select 1", close the connection ...
//
//	if err := s.Wait(5 * time.Second); err != nil {
//		t.Fatal(err) // e.g. pgtest: step 1 Expect(Query): got Parse{Query:"select 1"}
//	}
//
// # Steps
//
// Receiving: [Handshake], [Expect], [ExpectType], [ExpectFlight],
// [ExpectFunc], [ExpectTerminateOrClose], [ExpectClosed]. Sending: [Send],
// [SendRaw] (half frames, bad lengths). Rude behaviour: [CloseConn],
// [Pause] (silence until the test says so), [WaitForCancel] (silence until
// a CancelRequest arrives on another connection). [RowDescription],
// [DataRow], [ErrorResponse], [FatalResponse], [ReadyForQuery] and
// [CommandComplete] build the usual replies.
//
// # Goroutines and errors
//
// The script runs on a goroutine owned by the Server; [Server.Close] stops
// it and every other goroutine the server started. That goroutine never
// touches *testing.T: a failed step ends the script, closes the client
// connection and is reported by [Server.Err] and [Server.Wait], which the
// test goroutine checks. Each step is bounded by a timeout (5s by default,
// see [Options]), so a client that stalls fails the script instead of
// hanging the test.
package pgtest
