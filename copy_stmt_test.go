package pgpipe

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/codec"
	"github.com/pgpipe/pgpipe/internal/pgtest"
)

func TestPlainCopyInFindsTableAndColumns(t *testing.T) {
	for _, tc := range []struct {
		sql     string
		table   string
		columns []string
	}{
		{`COPY "t" ("a", "b") FROM STDIN`, `"t"`, []string{"a", "b"}},
		{`copy public.Items (Id, "Na""me") from stdin;`, `public.Items`, []string{"id", `Na"me`}},
		{`COPY t (a) FROM STDIN (FORMAT csv)`, "", nil},
		{`COPY t FROM STDIN`, "", nil},
		{`COPY t ("a,b") FROM STDIN`, `t`, nil},
	} {
		m := plainCopyIn.FindStringSubmatch(tc.sql)
		if tc.table == "" {
			if m != nil {
				t.Errorf("%s: matched as a plain COPY", tc.sql)
			}
			continue
		}
		if m == nil || m[1] != tc.table {
			t.Errorf("%s: table %v, want %s", tc.sql, m, tc.table)
			continue
		}
		var got []string
		ok := true
		for _, part := range splitColumns(m[2]) {
			name, good := unquoteIdent(part)
			ok = ok && good
			got = append(got, name)
		}
		if tc.columns == nil {
			if ok {
				t.Errorf("%s: columns %q accepted", tc.sql, got)
			}
			continue
		}
		if !ok || len(got) != len(tc.columns) || got[0] != tc.columns[0] || got[len(got)-1] != tc.columns[len(tc.columns)-1] {
			t.Errorf("%s: columns %q, want %q", tc.sql, got, tc.columns)
		}
	}
}

// binaryPlanFor is the binary plan of a COPY into columns of types oids.
func binaryPlanFor(oids ...uint32) *copyBinary {
	b := &copyBinary{}
	for _, oid := range oids {
		b.cols = append(b.cols, column{oid: oid})
		b.encs = append(b.encs, codec.BinaryEncoderFor(oid))
		b.kinds = append(b.kinds, copyKindOf(oid))
	}
	return b
}

func TestCopyRowOfUsualValuesIsWhatTheColumnEncodersWrite(t *testing.T) {
	at := time.Date(2024, 2, 29, 13, 14, 15, 123456789, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		oid uint32
		v   any
	}{
		{codec.OIDInt8, int64(-1 << 40)}, {codec.OIDInt8, int32(7)}, {codec.OIDFloat8, 2.5}, {codec.OIDFloat8, math.Inf(-1)},
		{codec.OIDText, "tab\there, é"}, {codec.OIDText, ""}, {codec.OIDVarchar, "v"}, {codec.OIDText, 42},
		{codec.OIDTimestamptz, at}, {codec.OIDTimestamp, at}, {codec.OIDDate, at}, {codec.OIDTimestamptz, "infinity"},
		{codec.OIDInt8, nil},
	} {
		b := binaryPlanFor(tc.oid)
		want := binary.BigEndian.AppendUint16(nil, 1)
		if codec.IsNull(tc.v) {
			want = binary.BigEndian.AppendUint32(want, 0xffffffff)
		} else {
			val, err := b.encs[0](nil, tc.v)
			if err != nil {
				t.Fatalf("%T %v into %d: %v", tc.v, tc.v, tc.oid, err)
			}
			want = append(binary.BigEndian.AppendUint32(want, uint32(len(val))), val...)
		}
		s := &copyStmt{w: &copyWriter{}, bin: b}
		ok, err := s.binaryRow([]driver.NamedValue{{Ordinal: 1, Value: tc.v}})
		if !ok || err != nil {
			t.Fatalf("%T %v into %d: %v, %v", tc.v, tc.v, tc.oid, ok, err)
		}
		if got := s.w.buf[5:]; !bytes.Equal(got, want) {
			t.Errorf("%T %v into %d: wrote %x, want %x", tc.v, tc.v, tc.oid, got, want)
		}
	}
}

func TestCopyRowWithTextTheEncoderRefusesAppendsNothing(t *testing.T) {
	for _, v := range []string{"nul\x00byte", "bad\xffutf8"} {
		s := &copyStmt{w: &copyWriter{}, bin: binaryPlanFor(codec.OIDInt8, codec.OIDText)}
		ok, err := s.binaryRow([]driver.NamedValue{{Ordinal: 1, Value: int64(1)}, {Ordinal: 2, Value: v}})
		if ok || err != nil || len(s.w.buf) != 5 {
			t.Errorf("%q: ok %v, err %v, %d bytes buffered; want the row refused (it goes in text) and nothing appended", v, ok, err, len(s.w.buf)-5)
		}
	}
}

func TestCopyRowWithAValueTheConnectionCouldNotConvertFailsWithoutGoingToText(t *testing.T) {
	s := &copyStmt{w: &copyWriter{}, bin: binaryPlanFor(codec.OIDInt8, codec.OIDText)}
	cause := errors.New("pgpipe: cannot send a value of type chan int")
	ok, err := s.binaryRow([]driver.NamedValue{{Ordinal: 1, Value: int64(1)}, {Ordinal: 2, Value: codec.BadArg{Err: cause}}})
	var ae *ArgError
	if ok || !errors.As(err, &ae) || ae.Position != 2 || !errors.Is(err, cause) || len(s.w.buf) != 5 {
		t.Errorf("ok %v, err %v, %d bytes buffered; want an *ArgError for $2 and nothing appended (a text COPY could not send it either)", ok, err, len(s.w.buf)-5)
	}
}

func TestPlainTextIsValidUTF8WithoutNUL(t *testing.T) {
	bases := []string{"", "a", "abcdefg", "abcdefgh", "abcdefghijklmnopq", "héllo wörld, 8 bytes", "日本語のテキスト"}
	marks := []string{"\x00", "\xff", "\xc3", "\xe6\x97", "é", "\x7f"}
	check := func(s string) {
		want := strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
		if got := plainText(s); got != want {
			t.Errorf("plainText(%q) = %v, want %v", s, got, want)
		}
	}
	for _, b := range bases {
		check(b)
		for i := 0; i <= len(b); i++ {
			for _, m := range marks {
				check(b[:i] + m + b[i:]) // may also split a rune of b: invalid
			}
		}
	}
}

// BenchmarkCopyStmtBinaryRow is the driver's own work for one row of
// lib/pq's COPY idiom (int8, text, float8, timestamptz), past database/sql.
func BenchmarkCopyStmtBinaryRow(b *testing.B) {
	s := &copyStmt{w: &copyWriter{}, bin: binaryPlanFor(codec.OIDInt8, codec.OIDText, codec.OIDFloat8, codec.OIDTimestamptz)}
	row := []driver.NamedValue{{Ordinal: 1, Value: int64(1 << 40)}, {Ordinal: 2, Value: "abcdef ghijklmnop"},
		{Ordinal: 3, Value: 12.5}, {Ordinal: 4, Value: time.Unix(1700000000, 123456000)}}
	b.ReportAllocs()
	for b.Loop() {
		if len(s.w.buf) > copyChunk {
			s.w.buf = s.w.buf[:5]
		}
		for i := range row {
			if err := s.CheckNamedValue(&row[i]); err != nil {
				b.Fatal(err)
			}
		}
		if ok, err := s.binaryRow(row); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// rawCopyStmt prepares query as lib/pq's COPY idiom on sc's driver
// connection and runs f with it.
func rawCopyStmt(t *testing.T, sc *sql.Conn, query string, f func(driver.StmtExecContext)) {
	t.Helper()
	err := sc.Raw(func(dc any) error {
		st, err := dc.(*conn).PrepareContext(context.Background(), query)
		if err != nil {
			return err
		}
		defer st.Close()
		f(st.(driver.StmtExecContext))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCopyIdiomRowWithACancellableContextAllocatesNothing(t *testing.T) {
	s := script(t,
		pgtest.Expect(&pgproto3.Query{String: "COPY t (a) FROM STDIN"}),
		pgtest.Send(&pgproto3.CopyInResponse{ColumnFormatCodes: []uint16{0}}),
		pgtest.ExpectType(&pgproto3.CopyData{}),
		pgtest.Expect(&pgproto3.CopyDone{}),
		pgtest.Send(pgtest.CommandComplete("COPY 102"), pgtest.ReadyForQuery('I')),
	)
	sc := scriptConn(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rawCopyStmt(t, sc, "COPY t (a) FROM STDIN", func(st driver.StmtExecContext) {
		row := []driver.NamedValue{{Ordinal: 1, Value: int64(7)}}
		if _, err := st.ExecContext(ctx, row); err != nil { // starts the COPY
			t.Fatal(err)
		}
		// A row that only goes into the buffer registers nothing with
		// the context: database/sql calls this for every row.
		if n := testing.AllocsPerRun(100, func() {
			if _, err := st.ExecContext(ctx, row); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%v allocations per row with a cancellable context, want 0", n)
		}
		res, err := st.ExecContext(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != 102 {
			t.Fatalf("%d rows, want 102", n)
		}
	})
}

func TestCopyIdiomRowAfterTheContextEndedAbortsTheCopyAndKeepsTheConnection(t *testing.T) {
	s := script(t, append([]pgtest.Step{
		pgtest.Expect(&pgproto3.Query{String: "COPY t (a) FROM STDIN"}),
		pgtest.Send(&pgproto3.CopyInResponse{ColumnFormatCodes: []uint16{0}}),
		pgtest.ExpectType(&pgproto3.CopyFail{}),
		pgtest.Send(pgtest.ErrorResponse("57014", "COPY from stdin failed: context canceled"), pgtest.ReadyForQuery('I')),
	}, oneQuery()...)...)
	sc := scriptConn(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	rawCopyStmt(t, sc, "COPY t (a) FROM STDIN", func(st driver.StmtExecContext) {
		row := []driver.NamedValue{{Ordinal: 1, Value: int64(7)}}
		if _, err := st.ExecContext(ctx, row); err != nil {
			t.Fatal(err)
		}
		cancel()
		if _, err := st.ExecContext(ctx, row); !errors.Is(err, context.Canceled) {
			t.Fatalf("a row after the context ended: %v, want context.Canceled", err)
		}
	})
	mustQueryOne(t, sc)
}

func TestCopyIdiomSendsChunksOfOneSizeFromABufferThatNeverGrows(t *testing.T) {
	const rows, chunks = 30000, 4 // 9 bytes a row in text: 4 full chunks and a rest
	chunk := pgtest.ExpectFunc("a CopyData of one chunk", func(m pgproto3.FrontendMessage) error {
		d, ok := m.(*pgproto3.CopyData)
		if !ok || len(d.Data) < copyChunk-5 || len(d.Data) > copyChunk+copyRowSlack {
			return errors.New("want a CopyData of one chunk")
		}
		return nil
	})
	steps := []pgtest.Step{
		pgtest.Expect(&pgproto3.Query{String: "COPY t (a) FROM STDIN"}),
		pgtest.Send(&pgproto3.CopyInResponse{ColumnFormatCodes: []uint16{0}}),
	}
	for range chunks {
		steps = append(steps, chunk)
	}
	steps = append(steps, pgtest.ExpectType(&pgproto3.CopyData{}), pgtest.Expect(&pgproto3.CopyDone{}),
		pgtest.Send(pgtest.CommandComplete("COPY 30000"), pgtest.ReadyForQuery('I')))
	sc := scriptConn(t, script(t, append(steps, oneQuery()...)...))
	rawCopyStmt(t, sc, "COPY t (a) FROM STDIN", func(st driver.StmtExecContext) {
		ctx := context.Background()
		s := st.(*copyStmt)
		capacity := 0
		for i := range rows {
			if _, err := st.ExecContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: int64(10000000 + i)}}); err != nil {
				t.Fatal(err)
			}
			if capacity == 0 {
				capacity = cap(s.w.buf)
			} else if cap(s.w.buf) != capacity {
				t.Fatalf("row %d: the buffer grew from %d to %d bytes", i+1, capacity, cap(s.w.buf))
			}
		}
		res, err := st.ExecContext(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := res.RowsAffected(); n != rows {
			t.Fatalf("%d rows, want %d", n, rows)
		}
	})
	mustQueryOne(t, sc)
}
