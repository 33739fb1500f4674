package pgtest_test

import (
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/pgtest"
)

// A script for a simple query, played against a raw pgproto3 client. A
// driver test points the driver at s.Addr() instead.
func ExampleStart() {
	s, err := pgtest.Start(
		pgtest.Handshake(),
		pgtest.Expect(&pgproto3.Query{String: "select 1"}),
		pgtest.Send(
			pgtest.RowDescription(pgtest.Col{Name: "?column?", OID: 23, Size: 4}),
			pgtest.DataRow([]byte("1")),
			pgtest.CommandComplete("SELECT 1"),
			pgtest.ReadyForQuery('I'),
		),
		pgtest.ExpectTerminateOrClose(),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer conn.Close()
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{
		ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters:      map[string]string{"user": "bob"},
	})
	fe.Send(&pgproto3.Query{String: "select 1"})
	if err := fe.Flush(); err != nil {
		fmt.Println(err)
		return
	}
	for queries := 0; queries < 2; {
		msg, err := fe.Receive()
		if err != nil {
			fmt.Println(err)
			return
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			fmt.Printf("row: %s\n", m.Values[0])
		case *pgproto3.CommandComplete:
			fmt.Printf("done: %s\n", m.CommandTag)
		case *pgproto3.ReadyForQuery:
			queries++
		}
	}
	fe.Send(&pgproto3.Terminate{})
	if err := fe.Flush(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("script:", s.Wait(5*time.Second))
	// Output:
	// row: 1
	// done: SELECT 1
	// script: <nil>
}
