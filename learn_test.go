package pgpipe

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/codec"
	"github.com/pgpipe/pgpipe/internal/pgtest"
)

// intervalBytes is the binary interval of us microseconds, no days and
// no months.
func intervalBytes(us int64) []byte {
	return append(binary.BigEndian.AppendUint64(nil, uint64(us)), 0, 0, 0, 0, 0, 0, 0, 0)
}

// TestTypeDependentArgumentsLearnParameterTypesWithoutSync checks the
// flights of a query whose arguments mean different things for different
// types ([]byte into jsonb, time.Duration into interval): the first
// execution describes the unnamed statement and flushes, with no Sync
// before the Bind, and binds the statement it described; the second knows
// the types and sends one flight; a query whose arguments do not depend on
// the types never describes.
func TestTypeDependentArgumentsLearnParameterTypesWithoutSync(t *testing.T) {
	const query = "INSERT INTO t (doc, d) VALUES ($1, $2)"
	doc := []byte(`{"a":1}`)
	jsonb := append([]byte{1}, doc...)
	bind := &pgproto3.Bind{ParameterFormatCodes: []int16{1, 1}, Parameters: [][]byte{jsonb, intervalBytes(1500000)}}
	done := pgtest.Send(&pgproto3.BindComplete{}, pgtest.CommandComplete("INSERT 0 1"), pgtest.ReadyForQuery('I'))
	parsedDone := pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("INSERT 0 1"), pgtest.ReadyForQuery('I'))
	s := script(t,
		pgtest.Expect(&pgproto3.Parse{Query: query}),
		pgtest.Expect(&pgproto3.Describe{ObjectType: 'S'}),
		pgtest.Expect(&pgproto3.Flush{}),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.ParameterDescription{ParameterOIDs: []uint32{codec.OIDJSONB, codec.OIDInterval}},
			&pgproto3.NoData{}),
		pgtest.Expect(bind),
		pgtest.Expect(&pgproto3.Execute{}),
		pgtest.Expect(&pgproto3.Sync{}),
		done,
		// The second execution: the types are known.
		pgtest.Expect(&pgproto3.Parse{Query: query, ParameterOIDs: []uint32{codec.OIDJSONB, codec.OIDInterval}}),
		pgtest.Expect(bind),
		pgtest.Expect(&pgproto3.Execute{}),
		pgtest.Expect(&pgproto3.Sync{}),
		parsedDone,
		// Arguments whose encoding does not depend on the types: one flight.
		pgtest.Expect(&pgproto3.Parse{Query: "UPDATE t SET n = $1"}),
		pgtest.Expect(&pgproto3.Bind{Parameters: [][]byte{[]byte("5")}}),
		pgtest.Expect(&pgproto3.Execute{}),
		pgtest.Expect(&pgproto3.Sync{}),
		parsedDone,
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	ctx := context.Background()
	for range 2 {
		if _, err := conn.ExecContext(ctx, query, doc, 1500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.ExecContext(ctx, "UPDATE t SET n = $1", 5); err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// TestLearningParameterTypesInsideTransaction checks that a deferred
// BEGIN goes in front of the Describe, in the same unit of work, and that
// a statement the server refuses at Parse ends the unit with a Sync, fails
// the transaction as the execution would have, and leaves the connection
// usable.
func TestLearningParameterTypesInsideTransaction(t *testing.T) {
	const query = "SELECT $1::nosuchtype"
	s := script(t,
		pgtest.Expect(&pgproto3.Parse{Query: "BEGIN"}),
		pgtest.Expect(&pgproto3.Bind{}),
		pgtest.Expect(&pgproto3.Execute{}),
		pgtest.Expect(&pgproto3.Parse{Query: query}),
		pgtest.Expect(&pgproto3.Describe{ObjectType: 'S'}),
		pgtest.Expect(&pgproto3.Flush{}),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("BEGIN"),
			&pgproto3.ErrorResponse{Severity: "ERROR", Code: "42704", Message: `type "nosuchtype" does not exist`}),
		pgtest.Expect(&pgproto3.Sync{}),
		pgtest.Send(pgtest.ReadyForQuery('E')),
		pgtest.Expect(&pgproto3.Query{String: "ROLLBACK"}),
		pgtest.Send(pgtest.CommandComplete("ROLLBACK"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	ctx := context.Background()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.ExecContext(ctx, query, []byte("x"))
	var pgErr *Error
	if !errors.As(err, &pgErr) || pgErr.Code != "42704" {
		t.Fatalf("got %v, want the server's 42704", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if !valid(t, conn) {
		t.Fatal("the connection reports itself invalid")
	}
	conn.Close()
}

// TestContextEndedWhileLearningRunsNothing checks that a context that ends
// while the server describes the statement (a cancel request then finds
// the server idle and does nothing) ends the unit of work with a Sync
// instead of binding and executing the statement.
func TestContextEndedWhileLearningRunsNothing(t *testing.T) {
	flushed := make(chan struct{})
	steps := []pgtest.Step{
		pgtest.Expect(&pgproto3.Parse{Query: "SELECT pg_sleep(10), $1::bytea"}),
		pgtest.Expect(&pgproto3.Describe{ObjectType: 'S'}),
		pgtest.ExpectFunc("Flush", func(m pgproto3.FrontendMessage) error {
			if _, ok := m.(*pgproto3.Flush); !ok {
				return errors.New("want a Flush")
			}
			close(flushed)
			return nil
		}),
		pgtest.WaitForCancel(),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.ParameterDescription{ParameterOIDs: []uint32{codec.OIDBytea}}, &pgproto3.NoData{}),
		pgtest.Expect(&pgproto3.Sync{}),
		pgtest.Send(pgtest.ReadyForQuery('I')),
	}
	s := script(t, append(steps, oneQuery()...)...)
	conn := scriptConn(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-flushed
		cancel()
	}()
	_, err := conn.ExecContext(ctx, "SELECT pg_sleep(10), $1::bytea", []byte{1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
	mustQueryOne(t, conn)
}

// TestLearnedTypesAreForgottenAfterATypeMismatch checks that when the
// server says an argument's type does not fit (42804, as after a column
// changed type), the next execution learns the types again.
func TestLearnedTypesAreForgottenAfterATypeMismatch(t *testing.T) {
	const query = "INSERT INTO t (c) VALUES ($1)"
	learn := func(oid uint32) []pgtest.Step {
		return []pgtest.Step{
			pgtest.ExpectFlight(&pgproto3.Parse{}, &pgproto3.Describe{}, &pgproto3.Flush{}),
			pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.ParameterDescription{ParameterOIDs: []uint32{oid}}, &pgproto3.NoData{}),
		}
	}
	var steps []pgtest.Step
	steps = append(steps, learn(codec.OIDBytea)...)
	steps = append(steps,
		pgtest.ExpectFlight(&pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}),
		pgtest.Send(&pgproto3.BindComplete{}, pgtest.CommandComplete("INSERT 0 1"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectFlight(&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}),
		pgtest.Send(&pgproto3.ErrorResponse{Severity: "ERROR", Code: "42804", Message: "column \"c\" is of type jsonb but expression is of type bytea"},
			pgtest.ReadyForQuery('I')))
	steps = append(steps, learn(codec.OIDJSONB)...)
	steps = append(steps,
		pgtest.Expect(&pgproto3.Bind{ParameterFormatCodes: []int16{1}, Parameters: [][]byte{append([]byte{1}, "{}"...)}}),
		pgtest.ExpectFlight(&pgproto3.Execute{}, &pgproto3.Sync{}),
		pgtest.Send(&pgproto3.BindComplete{}, pgtest.CommandComplete("INSERT 0 1"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectTerminateOrClose())
	s := script(t, steps...)
	conn := scriptConn(t, s)
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, query, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, query, []byte("{}")); err == nil {
		t.Fatal("the type mismatch did not fail")
	}
	if _, err := conn.ExecContext(ctx, query, []byte("{}")); err != nil {
		t.Fatal(err)
	}
	conn.Close()
}
