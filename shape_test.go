package pgpipe

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/codec"
	"github.com/pgpipe/pgpipe/internal/pgtest"
)

// shapeFlight expects an unnamed query's flight whose Bind asks for
// formats.
func shapeFlight(formats ...int16) []pgtest.Step {
	return shapeFlightOf("SELECT a, b FROM t", formats...)
}

// shapeFlightOf is shapeFlight for the query sql.
func shapeFlightOf(sql string, formats ...int16) []pgtest.Step {
	return []pgtest.Step{
		pgtest.Expect(&pgproto3.Parse{Query: sql}),
		pgtest.Expect(&pgproto3.Bind{ResultFormatCodes: formats}),
		pgtest.Expect(&pgproto3.Describe{ObjectType: 'P'}),
		pgtest.Expect(&pgproto3.Execute{}),
		pgtest.Expect(&pgproto3.Sync{}),
	}
}

// shapeReply answers with a row of (int8 a, text b) in the given formats.
func shapeReply(aFormat int16, a []byte) pgtest.Step {
	return pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{},
		pgtest.RowDescription(pgtest.Col{Name: "a", OID: 20, Size: 8, Format: aFormat}, pgtest.Col{Name: "b", OID: 25}),
		pgtest.DataRow(a, []byte("x")), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I'))
}

var int8Seven = []byte{0, 0, 0, 0, 0, 0, 0, 7}

func TestUnnamedQueryAsksForBinaryResultsOnceItsColumnsAreKnown(t *testing.T) {
	steps := append(shapeFlight(), shapeReply(0, []byte("7"))) // first: text, columns learned
	steps = append(steps, shapeFlight(1, 0)...)                // second: int8 in binary, same flight
	steps = append(steps, shapeReply(1, int8Seven))            // the server says it used binary
	steps = append(steps, shapeFlight(1, 0)...)                // a server that answers in text anyway
	steps = append(steps, shapeReply(0, []byte("7")))          // is decoded as it says
	s := script(t, steps...)
	conn := scriptConn(t, s)
	for i := 0; i < 3; i++ {
		var a int64
		var b string
		if err := conn.QueryRowContext(context.Background(), "SELECT a, b FROM t").Scan(&a, &b); err != nil || a != 7 || b != "x" {
			t.Fatalf("execution %d: %d %q %v", i+1, a, b, err)
		}
	}
}

func TestShapeThatNoLongerFitsIsRetriedInText(t *testing.T) {
	steps := append(shapeFlight(), shapeReply(0, []byte("7")))
	steps = append(steps, shapeFlight(1, 0)...)
	// The table lost a column meanwhile: Bind fails, nothing ran.
	steps = append(steps, pgtest.Send(&pgproto3.ParseComplete{},
		pgtest.ErrorResponse("08P01", "bind message has 2 result formats but query has 1 columns"), pgtest.ReadyForQuery('I')))
	steps = append(steps, shapeFlight()...) // retried in text
	steps = append(steps,
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{},
			pgtest.RowDescription(pgtest.Col{Name: "a", OID: 20, Size: 8}),
			pgtest.DataRow([]byte("7")), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')))
	s := script(t, steps...)
	conn := scriptConn(t, s)
	var a int64
	var b string
	if err := conn.QueryRowContext(context.Background(), "SELECT a, b FROM t").Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(context.Background(), "SELECT a, b FROM t").Scan(&a); err != nil || a != 7 {
		t.Fatalf("the query after the table changed: %d, %v", a, err)
	}
}

// TestShapeFollowsTheColumnTypesTheServerReported: column b became an
// int4 (and a stays an int8): the execution that still asked for text b
// is decoded as the server says, and the next one asks for b in binary
// too, without a text execution in between.
func TestShapeFollowsTheColumnTypesTheServerReported(t *testing.T) {
	steps := append(shapeFlight(), shapeReply(0, []byte("7"))) // learns (int8, text)
	steps = append(steps, shapeFlight(1, 0)...)
	steps = append(steps, pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{},
		pgtest.RowDescription(pgtest.Col{Name: "a", OID: 20, Size: 8, Format: 1}, pgtest.Col{Name: "b", OID: 23, Size: 4}),
		pgtest.DataRow(int8Seven, []byte("8")), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')))
	steps = append(steps, shapeFlight(1, 1)...)
	steps = append(steps, pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{},
		pgtest.RowDescription(pgtest.Col{Name: "a", OID: 20, Size: 8, Format: 1}, pgtest.Col{Name: "b", OID: 23, Size: 4, Format: 1}),
		pgtest.DataRow(int8Seven, []byte{0, 0, 0, 8}), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')))
	s := script(t, steps...)
	conn := scriptConn(t, s)
	var a int64
	var b string
	if err := conn.QueryRowContext(context.Background(), "SELECT a, b FROM t").Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		var n int64
		if err := conn.QueryRowContext(context.Background(), "SELECT a, b FROM t").Scan(&a, &n); err != nil || a != 7 || n != 8 {
			t.Fatalf("execution %d after the change: %d %d %v", i+2, a, n, err)
		}
	}
}

func TestShapeIsKnownToTextsThatDifferOnlyInComments(t *testing.T) {
	first, traced := "SELECT a, b FROM t /* traceparent='00-01' */", "SELECT a, b FROM t -- caller: b.go:9"
	other := "SELECT a, b FROM t WHERE true /* traceparent='00-01' */"
	steps := append(shapeFlightOf(first), shapeReply(0, []byte("7"))) // learns (int8, text)
	steps = append(steps, shapeFlightOf(traced, 1, 0)...)             // the same query, sent as written
	steps = append(steps, shapeReply(1, int8Seven))
	steps = append(steps, shapeFlightOf(other)...) // another query: not known yet
	steps = append(steps, shapeReply(0, []byte("7")))
	s := script(t, steps...)
	conn := scriptConn(t, s)
	for _, sql := range []string{first, traced, other} {
		var a int64
		var b string
		if err := conn.QueryRowContext(context.Background(), sql).Scan(&a, &b); err != nil || a != 7 || b != "x" {
			t.Fatalf("%s: %d %q %v", sql, a, b, err)
		}
	}
}

func TestShapeOfACommentedTextIsLookedUpWithoutAllocating(t *testing.T) {
	var c stmtState
	r := &request{res: &result{sql: "SELECT a FROM t /* run 1 */", cols: []column{{oid: codec.OIDInt8}}}}
	c.learnShape(r, false)
	sql := "SELECT a FROM t -- run 2"
	if f, ok := c.shapeFormats(sql, false); !ok || len(f) != 1 || f[0] != codec.FormatBinary {
		t.Fatalf("formats %v, %v: want the shape learned under another comment", f, ok)
	}
	if n := testing.AllocsPerRun(100, func() { c.shapeFormats(sql, false) }); n != 0 {
		t.Errorf("a lookup costs %v allocations", n)
	}
	r.res.sql = sql
	if n := testing.AllocsPerRun(100, func() { c.learnShape(r, false) }); n != 0 {
		t.Errorf("confirming a known shape costs %v allocations", n)
	}
}
