package codec

import (
	"bytes"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"testing"
	"time"
)

func TestBoxedValuesBehaveLikeCompilerBoxedOnes(t *testing.T) {
	var b Boxer
	now := time.Date(2024, 5, 6, 7, 8, 9, 10, time.FixedZone("X", 3600))
	for _, tc := range []struct{ boxed, plain driver.Value }{
		{b.int64(-5), int64(-5)},
		{b.int64(1 << 40), int64(1 << 40)},
		{b.int64(7), int64(7)},
		{b.float64(2.5), 2.5},
		{b.float64(math.Inf(-1)), math.Inf(-1)},
		{b.string([]byte("héllo")), "héllo"},
		{b.string(nil), ""},
		{b.time(now), now},
	} {
		if tc.boxed != tc.plain {
			t.Errorf("%#v != %#v", tc.boxed, tc.plain)
		}
		if reflect.TypeOf(tc.boxed) != reflect.TypeOf(tc.plain) || !reflect.DeepEqual(tc.boxed, tc.plain) {
			t.Errorf("reflect sees %T %v, want %T %v", tc.boxed, tc.boxed, tc.plain, tc.plain)
		}
		if fmt.Sprint(tc.boxed) != fmt.Sprint(tc.plain) {
			t.Errorf("fmt prints %v, want %v", tc.boxed, tc.plain)
		}
		m := map[any]bool{tc.plain: true}
		if !m[tc.boxed] {
			t.Errorf("%v does not hash like %v", tc.boxed, tc.plain)
		}
	}
}

func TestBoxedValuesSurviveTheGarbageCollector(t *testing.T) {
	var vals []driver.Value
	var b Boxer
	for i := 0; i < 10000; i++ {
		vals = append(vals, b.int64(int64(i)*1000), b.string([]byte(fmt.Sprint("s", i))), b.float64(float64(i)/4), b.time(time.Unix(int64(i), 0)))
		if i%1000 == 0 {
			b = Boxer{} // drop the slabs: only the interfaces keep them alive
			runtime.GC()
		}
	}
	runtime.GC()
	for i := 0; i < 10000; i++ {
		got := vals[4*i : 4*i+4]
		if got[0] != int64(i)*1000 || got[1] != fmt.Sprint("s", i) || got[2] != float64(i)/4 || !got[3].(time.Time).Equal(time.Unix(int64(i), 0)) {
			t.Fatalf("row %d came back as %v", i, got)
		}
	}
}

func TestFastDecodingMatchesTheDecoders(t *testing.T) {
	var b Boxer
	loc, _ := time.LoadLocation("Europe/Berlin")
	i8 := binary.BigEndian.AppendUint64(nil, uint64(1<<40+3))
	ts := binary.BigEndian.AppendUint64(nil, uint64(int64(770000000123456)))
	inf := binary.BigEndian.AppendUint64(nil, math.MaxInt64)
	f8 := binary.BigEndian.AppendUint64(nil, math.Float64bits(-1.25))
	for _, tc := range []struct {
		oid    uint32
		format int16
		src    []byte
	}{
		{OIDInt8, 1, i8}, {OIDInt4, 1, i8[4:]}, {OIDInt2, 1, i8[6:]}, {OIDFloat8, 1, f8},
		{OIDFloat4, 1, binary.BigEndian.AppendUint32(nil, math.Float32bits(0.1))},
		{OIDTimestamptz, 1, ts}, {OIDTimestamp, 1, ts}, {OIDTimestamptz, 1, inf},
		{OIDText, 0, []byte("text")}, {OIDVarchar, 1, []byte("vc")}, {OIDName, 0, []byte("")},
	} {
		k := FastKindFor(tc.oid, tc.format)
		got, ok := b.DecodeFast(k, tc.src, loc)
		want, err := DecoderFor(tc.oid, tc.format)(tc.src, loc)
		if !ok || err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("oid %d: fast %#v (%v), decoder %#v (%v)", tc.oid, got, ok, want, err)
		}
	}
	if _, ok := b.DecodeFast(fastInt8, []byte{1, 2}, nil); ok {
		t.Error("a wrong-length int8 was decoded by the fast path")
	}
}

func TestBoxingAllocatesOncePerSlab(t *testing.T) {
	var b Boxer
	src := binary.BigEndian.AppendUint64(nil, 1<<33)
	allocs := testing.AllocsPerRun(10000, func() {
		b.DecodeFast(fastInt8, src, nil)
		b.DecodeFast(fastFloat8, src, nil)
		b.DecodeFast(fastTimestamptz, src, time.UTC)
	})
	if allocs > 3.0/boxSlab*1.5 {
		t.Fatalf("%.3f allocations per row of three values, want about %.3f", allocs, 3.0/boxSlab)
	}
}

func TestTextFastDecodingMatchesTheDecoders(t *testing.T) {
	var b Boxer
	berlin, _ := time.LoadLocation("Europe/Berlin")
	for _, loc := range []*time.Location{nil, time.UTC, berlin} {
		for _, tc := range []struct {
			oid uint32
			src string
		}{
			{OIDInt8, "-9223372036854775808"}, {OIDInt4, "2147483647"}, {OIDInt2, "-7"}, {OIDOID, "4294967295"},
			{OIDFloat8, "-1.25e-300"}, {OIDFloat8, "NaN"}, {OIDFloat8, "-Infinity"}, {OIDFloat4, "0.1"},
			{OIDTimestamptz, "2024-03-31 03:30:00.123456+02"}, {OIDTimestamptz, "1800-01-01 12:53:28+00:53:28 BC"},
			{OIDTimestamp, "2024-03-31 02:30:00.5"}, {OIDNumeric, "-12345678901234567890.000001"},
		} {
			k := FastKindFor(tc.oid, 0)
			got, ok := b.DecodeFast(k, []byte(tc.src), loc)
			want, err := DecoderFor(tc.oid, 0)([]byte(tc.src), loc)
			nan := fmt.Sprint(got) == "NaN" && fmt.Sprint(want) == "NaN"
			if !ok || err != nil || !reflect.DeepEqual(got, want) && !nan {
				t.Errorf("oid %d %q: fast %#v (%v), decoder %#v (%v)", tc.oid, tc.src, got, ok, want, err)
			}
		}
	}
	// What the fast path does not take, the decoder reports or decodes.
	for _, tc := range []struct {
		oid uint32
		src string
	}{{OIDInt8, "99999999999999999999"}, {OIDFloat8, "x"}, {OIDTimestamptz, "infinity"}, {OIDTimestamp, "-infinity"}} {
		if v, ok := b.DecodeFast(FastKindFor(tc.oid, 0), []byte(tc.src), nil); ok {
			t.Errorf("oid %d %q: the fast path returned %#v", tc.oid, tc.src, v)
		}
	}
}

func TestTextBoxingAllocatesOncePerSlab(t *testing.T) {
	var b Boxer
	i, f, ts := []byte("123456789"), []byte("1234.5678"), []byte("2024-01-01 00:00:37.000001+00")
	allocs := testing.AllocsPerRun(10000, func() {
		b.DecodeFast(fastTextInt, i, nil)
		b.DecodeFast(fastTextFloat8, f, nil)
		b.DecodeFast(fastTextTimestamptz, ts, time.UTC)
	})
	if allocs > 3.0/boxSlab*1.5 {
		t.Fatalf("%.3f allocations per row of three text values, want about %.3f", allocs, 3.0/boxSlab)
	}
}

func TestShortStringsShareBlocksAndKeepTheirBytes(t *testing.T) {
	var b Boxer
	src := make([]byte, 64) // reused for every value, as the read buffer is
	var got []driver.Value
	var want []string
	for i := 0; i < 2000; i++ {
		n := 1 + i%(shortString+8) // short ones, and some just past the bound
		for j := range n {
			src[j] = byte('a' + (i+j)%26)
		}
		got, want = append(got, b.string(src[:n])), append(want, string(src[:n]))
		clear(src) // the next message overwrites the buffer
	}
	runtime.GC()
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("value %d is %q, want %q", i, got[i], want[i])
		}
	}

	short, long := bytes.Repeat([]byte("s"), shortString), bytes.Repeat([]byte("l"), shortString+1)
	if a := testing.AllocsPerRun(1000, func() { b.string(short) }); a > 1.0/(strBlock/shortString)+1.0/boxSlab {
		t.Errorf("a %d-byte string costs %.3f allocations, want a block's share", shortString, a)
	}
	if a := testing.AllocsPerRun(1000, func() { b.string(long) }); a < 1 {
		t.Errorf("a %d-byte string costs %.3f allocations, want one of its own", shortString+1, a)
	}
}
