package pgpipe

import (
	"bytes"
	"database/sql/driver"
	"encoding/binary"
	"math"
	"testing"
	"time"
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
		b.encs = append(b.encs, binaryEncoderFor(oid))
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
		{oidInt8, int64(-1 << 40)}, {oidInt8, int32(7)}, {oidFloat8, 2.5}, {oidFloat8, math.Inf(-1)},
		{oidText, "tab\there, é"}, {oidText, ""}, {oidVarchar, "v"}, {oidText, 42},
		{oidTimestamptz, at}, {oidTimestamp, at}, {oidDate, at}, {oidTimestamptz, "infinity"},
		{oidInt8, nil},
	} {
		b := binaryPlanFor(tc.oid)
		want := binary.BigEndian.AppendUint16(nil, 1)
		if isNullArg(tc.v) {
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
		s := &copyStmt{w: &copyWriter{}, bin: binaryPlanFor(oidInt8, oidText)}
		ok, err := s.binaryRow([]driver.NamedValue{{Ordinal: 1, Value: int64(1)}, {Ordinal: 2, Value: v}})
		if ok || err != nil || len(s.w.buf) != 5 {
			t.Errorf("%q: ok %v, err %v, %d bytes buffered; want the row refused (it goes in text) and nothing appended", v, ok, err, len(s.w.buf)-5)
		}
	}
}

// BenchmarkCopyStmtBinaryRow is the driver's own work for one row of
// lib/pq's COPY idiom (int8, text, float8, timestamptz), past database/sql.
func BenchmarkCopyStmtBinaryRow(b *testing.B) {
	s := &copyStmt{w: &copyWriter{}, bin: binaryPlanFor(oidInt8, oidText, oidFloat8, oidTimestamptz)}
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
