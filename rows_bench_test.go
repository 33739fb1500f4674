package pgpipe

import (
	"database/sql/driver"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe/internal/codec"
)

// benchColumns are the Read100k workload's columns (int8, text, float8,
// timestamptz) in format f.
func benchColumns(f int16) []column {
	oids := []uint32{codec.OIDInt8, codec.OIDText, codec.OIDFloat8, codec.OIDTimestamptz}
	cols := make([]column, len(oids))
	for i, oid := range oids {
		cols[i] = column{oid: oid, format: f, dec: codec.DecoderFor(oid, f), fast: codec.FastKindFor(oid, f)}
	}
	return cols
}

func benchmarkDecodeRow(b *testing.B, cols []column, row [][]byte) {
	e := &decodeEnv{loc: loadLocation("Europe/Berlin")}
	var box codec.Boxer
	dest := make([]driver.Value, len(cols))
	b.ReportAllocs()
	for b.Loop() {
		if err := e.decodeRow(&box, cols, row, dest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRowText(b *testing.B) {
	row := [][]byte{[]byte("73519"), []byte("name-0000073519"), []byte("36759.5"), []byte("2024-01-01 20:25:19.123456+01")}
	benchmarkDecodeRow(b, benchColumns(0), row)
}

func BenchmarkDecodeRowBinary(b *testing.B) {
	at := time.Date(2024, 1, 1, 20, 25, 19, 123456000, time.UTC).Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).Microseconds()
	row := [][]byte{binary.BigEndian.AppendUint64(nil, 73519), []byte("name-0000073519"),
		binary.BigEndian.AppendUint64(nil, math.Float64bits(36759.5)), binary.BigEndian.AppendUint64(nil, uint64(at))}
	benchmarkDecodeRow(b, benchColumns(1), row)
}
