package pgpipe

import (
	"context"
	"encoding/binary"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/codec"
	"github.com/pgpipe/pgpipe/internal/pgtest"
)

// TestAutomaticPreparationLearnsParameterTypes checks the flights of an
// automatically prepared query: the preparing one describes the statement
// (its replies come before BindComplete) and binds text; the next binds
// the int8 argument in binary, the text one in text, and asks for the
// int4 result in binary.
func TestAutomaticPreparationLearnsParameterTypes(t *testing.T) {
	const query = "SELECT $1::int8::int4 WHERE $2 <> ''"
	var name string // the server's goroutine runs the steps in order
	parse := func(m pgproto3.FrontendMessage) error {
		p, ok := m.(*pgproto3.Parse)
		if !ok || p.Query != query || !strings.HasPrefix(p.Name, "pgpipe_") || len(p.ParameterOIDs) != 0 {
			return fmt.Errorf("want a Parse of the query under a pgpipe_ name, without types")
		}
		name = p.Name
		return nil
	}
	describe := func(m pgproto3.FrontendMessage) error {
		if d, ok := m.(*pgproto3.Describe); !ok || d.ObjectType != 'S' || d.Name != name {
			return fmt.Errorf("want a Describe of the statement %q", name)
		}
		return nil
	}
	bind := func(formats []int16, params [][]byte, results []int16) func(pgproto3.FrontendMessage) error {
		return func(m pgproto3.FrontendMessage) error {
			b, ok := m.(*pgproto3.Bind)
			same := func(a, b []int16) bool { return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b) }
			if !ok || b.PreparedStatement != name || !same(b.ParameterFormatCodes, formats) ||
				!reflect.DeepEqual(b.Parameters, params) || !same(b.ResultFormatCodes, results) {
				return fmt.Errorf("want a Bind of %q with formats %v, parameters %q, result formats %v", name, formats, params, results)
			}
			return nil
		}
	}
	eight := binary.BigEndian.AppendUint64(nil, 8)
	s := script(t,
		// With preparation on, the driver asks at connect whether a pooler
		// sits in between.
		pgtest.Expect(&pgproto3.Query{String: "SELECT pg_catalog.pg_backend_pid()"}),
		pgtest.Send(pgtest.RowDescription(pgtest.Col{Name: "pg_backend_pid", OID: codec.OIDInt4, Size: 4}),
			pgtest.DataRow([]byte(itoa(pgtest.DefaultProcessID))), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectFunc("Parse", parse),
		pgtest.ExpectFunc("Describe statement", describe),
		pgtest.ExpectFunc("Bind in text", bind(nil, [][]byte{[]byte("7"), []byte("x")}, nil)),
		pgtest.Expect(&pgproto3.Execute{}),
		pgtest.Expect(&pgproto3.Sync{}),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.ParameterDescription{ParameterOIDs: []uint32{codec.OIDInt8, codec.OIDText}},
			pgtest.RowDescription(int4Col), &pgproto3.BindComplete{},
			pgtest.DataRow([]byte("7")), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectFunc("Bind in binary", bind([]int16{1, 0}, [][]byte{eight, []byte("x")}, []int16{1})),
		pgtest.Expect(&pgproto3.Execute{}),
		pgtest.Expect(&pgproto3.Sync{}),
		pgtest.Send(&pgproto3.BindComplete{}, pgtest.DataRow(binary.BigEndian.AppendUint32(nil, 8)),
			pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s, "prepare_threshold=0")
	for _, want := range []int{7, 8} {
		var n int
		if err := conn.QueryRowContext(context.Background(), query, want, "x").Scan(&n); err != nil || n != want {
			t.Fatalf("got %d, %v; want %d", n, err, want)
		}
	}
	conn.Close()
}

// TestParameterDescriptionNobodyAskedFor is a protocol violation.
func TestParameterDescriptionNobodyAskedFor(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flightQuery...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.ParameterDescription{ParameterOIDs: []uint32{codec.OIDInt4}}),
		pgtest.ExpectClosed(),
	)
	conn := scriptConn(t, s)
	_, err := conn.QueryContext(context.Background(), "SELECT $1", 1)
	if err == nil || !strings.Contains(err.Error(), "protocol violation") || !strings.Contains(err.Error(), "ParameterDescription") {
		t.Fatalf("err = %v; want a protocol violation naming ParameterDescription", err)
	}
}

// TestBehindAPoolerTheFirstStatementOfATransactionRunsUnnamed: the first
// statement of a transaction travels with its deferred BEGIN; behind a
// pooler it must run unnamed like every statement inside a transaction,
// since a statement the pooler lost could not be retried there.
func TestBehindAPoolerTheFirstStatementOfATransactionRunsUnnamed(t *testing.T) {
	const query = "UPDATE t SET x = $1"
	unnamed := func(m pgproto3.FrontendMessage) error {
		if p, ok := m.(*pgproto3.Parse); !ok || p.Query != query || p.Name != "" {
			return fmt.Errorf("want an unnamed Parse of %q", query)
		}
		return nil
	}
	s := script(t,
		// The backend that answers differs from the one of the startup: a
		// pooler sits in between.
		pgtest.Expect(&pgproto3.Query{String: "SELECT pg_catalog.pg_backend_pid()"}),
		pgtest.Send(pgtest.RowDescription(pgtest.Col{Name: "pg_backend_pid", OID: codec.OIDInt4, Size: 4}),
			pgtest.DataRow([]byte(itoa(pgtest.DefaultProcessID+1))), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectType(&pgproto3.Parse{}), // BEGIN
		pgtest.ExpectType(&pgproto3.Bind{}),
		pgtest.ExpectType(&pgproto3.Execute{}),
		pgtest.ExpectFunc("unnamed Parse", unnamed),
		pgtest.ExpectType(&pgproto3.Bind{}),
		pgtest.ExpectType(&pgproto3.Execute{}),
		pgtest.Expect(&pgproto3.Sync{}),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("BEGIN"),
			&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("UPDATE 1"), pgtest.ReadyForQuery('T')),
		pgtest.Expect(&pgproto3.Query{String: "COMMIT"}),
		pgtest.Send(pgtest.CommandComplete("COMMIT"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s, "prepare_threshold=0")
	ctx := context.Background()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, query, 1); err != nil {
		tx.Rollback() // else the cleanup's conn.Close waits for the transaction
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	conn.Close()
}
