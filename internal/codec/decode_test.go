package codec

import (
	"bytes"
	"database/sql/driver"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the DST tests must not depend on the host's zoneinfo
)

// The expected values below were read from a PostgreSQL 15 server: text
// values as psql prints them with DateStyle ISO, binary values as the
// type's send function (int8send, timestamptz_send, ...) returns them.

// decodeCase is one value to decode and what must come out.
type decodeCase struct {
	name string
	oid  uint32
	src  string // text, or hex digits for the binary format
	want driver.Value
}

// utc builds a time.Time in UTC; year is astronomical (0 is 1 BC).
func utc(year int, month time.Month, day, hour, minute, sec, nsec int) time.Time {
	return time.Date(year, month, day, hour, minute, sec, nsec, time.UTC)
}

// zoned returns t in a fixed zone offset seconds east of UTC.
func zoned(t time.Time, offset int) time.Time {
	return t.In(time.FixedZone("", offset))
}

var textCases = []decodeCase{
	{"int2", OIDInt2, "-32768", int64(-32768)},
	{"int4 max", OIDInt4, "2147483647", int64(math.MaxInt32)},
	{"int8 min", OIDInt8, "-9223372036854775808", int64(math.MinInt64)},
	{"int8 max", OIDInt8, "9223372036854775807", int64(math.MaxInt64)},
	{"oid max", OIDOID, "4294967295", int64(math.MaxUint32)},
	{"float4 0.1", OIDFloat4, "0.1", float64(float32(0.1))},
	{"float4 max", OIDFloat4, "3.4028235e+38", float64(float32(math.MaxFloat32))},
	{"float4 NaN", OIDFloat4, "NaN", math.NaN()},
	{"float8 -0", OIDFloat8, "-0", math.Copysign(0, -1)},
	{"float8 Infinity", OIDFloat8, "Infinity", math.Inf(1)},
	{"float8 -Infinity", OIDFloat8, "-Infinity", math.Inf(-1)},
	{"float8 exponent", OIDFloat8, "1e+21", 1e21},
	{"float8 smallest", OIDFloat8, "5e-324", 5e-324},
	{"numeric", OIDNumeric, "-123456789012345678901234567890.000000000000000000001", "-123456789012345678901234567890.000000000000000000001"},
	{"numeric NaN", OIDNumeric, "NaN", "NaN"},
	{"numeric Infinity", OIDNumeric, "-Infinity", "-Infinity"},
	{"bool true", OIDBool, "t", true},
	{"bool false", OIDBool, "f", false},
	{"text", OIDText, "héllo\n", "héllo\n"},
	{"empty text", OIDText, "", ""},
	{"varchar", OIDVarchar, "v", "v"},
	{"bpchar", OIDBPChar, "ab ", "ab "},
	{"name", OIDName, "pg_class", "pg_class"},
	{"char", OIDChar, "x", "x"},
	{"unknown", OIDUnknown, "lit", "lit"},
	{"xml", OIDXML, "<a/>", "<a/>"},
	{"unknown OID", 99999, "citext value", "citext value"},
	{"bytea hex", OIDBytea, `\x00ff5c`, []byte{0, 0xff, '\\'}},
	{"bytea hex upper", OIDBytea, `\xABCD`, []byte{0xab, 0xcd}},
	{"bytea empty hex", OIDBytea, `\x`, []byte{}},
	{"bytea escape", OIDBytea, `\000\377\\'ab`, []byte{0, 0xff, '\\', '\'', 'a', 'b'}},
	{"bytea empty escape", OIDBytea, ``, []byte{}},
	{"json", OIDJSON, `{"a": [1, "x"]}`, []byte(`{"a": [1, "x"]}`)},
	{"jsonb", OIDJSONB, `{"a": [1, "x"]}`, []byte(`{"a": [1, "x"]}`)},
	{"uuid", OIDUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	{"date", OIDDate, "2024-02-29", utc(2024, 2, 29, 0, 0, 0, 0)},
	{"date 1 BC", OIDDate, "0001-01-01 BC", utc(0, 1, 1, 0, 0, 0, 0)},
	{"date 4713 BC", OIDDate, "4713-01-01 BC", utc(-4712, 1, 1, 0, 0, 0, 0)},
	{"date year 10000", OIDDate, "10000-01-01", utc(10000, 1, 1, 0, 0, 0, 0)},
	{"date last", OIDDate, "5874897-12-31", utc(5874897, 12, 31, 0, 0, 0, 0)},
	{"date infinity", OIDDate, "infinity", "infinity"},
	{"date -infinity", OIDDate, "-infinity", "-infinity"},
	{"timestamp", OIDTimestamp, "2024-01-01 12:34:56.7", utc(2024, 1, 1, 12, 34, 56, 700_000_000)},
	{"timestamp 1 BC", OIDTimestamp, "0001-01-01 12:00:00 BC", utc(0, 1, 1, 12, 0, 0, 0)},
	{"timestamp year 10000", OIDTimestamp, "10000-01-01 00:00:00", utc(10000, 1, 1, 0, 0, 0, 0)},
	{"timestamp infinity", OIDTimestamp, "infinity", "infinity"},
	{"timestamp leap second", OIDTimestamp, "2016-12-31 23:59:60", utc(2017, 1, 1, 0, 0, 0, 0)},
	{"timestamptz 1 digit", OIDTimestamptz, "2024-01-01 12:00:00.1+00", utc(2024, 1, 1, 12, 0, 0, 100_000_000)},
	{"timestamptz 2 digits", OIDTimestamptz, "2024-01-01 12:00:00.12+00", utc(2024, 1, 1, 12, 0, 0, 120_000_000)},
	{"timestamptz 3 digits", OIDTimestamptz, "2024-01-01 12:00:00.123+00", utc(2024, 1, 1, 12, 0, 0, 123_000_000)},
	{"timestamptz 4 digits", OIDTimestamptz, "2024-01-01 12:00:00.1234+00", utc(2024, 1, 1, 12, 0, 0, 123_400_000)},
	{"timestamptz 5 digits", OIDTimestamptz, "2024-01-01 12:00:00.12345+00", utc(2024, 1, 1, 12, 0, 0, 123_450_000)},
	{"timestamptz 6 digits", OIDTimestamptz, "2024-01-01 12:00:00.123456+00", utc(2024, 1, 1, 12, 0, 0, 123_456_000)},
	{"timestamptz 9 digits", OIDTimestamptz, "2024-01-01 12:00:00.123456789+00", utc(2024, 1, 1, 12, 0, 0, 123_456_789)},
	{"timestamptz +05:45", OIDTimestamptz, "2024-01-01 05:45:00+05:45", zoned(utc(2024, 1, 1, 0, 0, 0, 0), 5*3600+45*60)},
	{"timestamptz LMT", OIDTimestamptz, "1883-11-18 12:03:57-04:56:02", zoned(utc(1883, 11, 18, 16, 59, 59, 0), -(4*3600 + 56*60 + 2))},
	{"timestamptz BC LMT", OIDTimestamptz, "4714-11-24 00:53:28+00:53:28 BC", zoned(utc(-4713, 11, 24, 0, 0, 0, 0), 53*60+28)},
	{"timestamptz max", OIDTimestamptz, "294277-01-01 00:59:59.999999+01", zoned(utc(294276, 12, 31, 23, 59, 59, 999_999_000), 3600)},
	{"timestamptz -infinity", OIDTimestamptz, "-infinity", "-infinity"},
	{"time", OIDTime, "12:34:56.789", "12:34:56.789"},
	{"timetz", OIDTimetz, "12:34:56.7+02", "12:34:56.7+02"},
	{"interval", OIDInterval, "1 year 2 mons 3 days 04:05:06", "1 year 2 mons 3 days 04:05:06"},
	{"int4 array", OIDInt4Array, "{{1,2},{3,4}}", "{{1,2},{3,4}}"},
	{"text array", OIDTextArray, `{"a\\\"b",NULL}`, `{"a\\\"b",NULL}`},
	{"inet", OIDInet, "192.168.0.1/24", "192.168.0.1/24"},
	{"cidr", OIDCidr, "10.0.0.0/8", "10.0.0.0/8"},
	{"macaddr", OIDMacaddr, "08:00:2b:01:02:03", "08:00:2b:01:02:03"},
	{"money", OIDMoney, "$1,000.00", "$1,000.00"},
	{"bit", OIDBit, "101", "101"},
	{"varbit", OIDVarbit, "1", "1"},
	{"jsonpath", OIDJSONPath, `$."a"`, `$."a"`},
	{"record", OIDRecord, `(1,"a b")`, `(1,"a b")`},
	{"int2vector", OIDInt2Vector, "1 2", "1 2"},
	{"oidvector", OIDOIDVector, "23 25", "23 25"},
	{"void", OIDVoid, "", nil},
}

var binaryCases = []decodeCase{
	{"int2", OIDInt2, "8000", int64(-32768)},
	{"int4", OIDInt4, "80000000", int64(math.MinInt32)},
	{"int8 min", OIDInt8, "8000000000000000", int64(math.MinInt64)},
	{"int8 max", OIDInt8, "7fffffffffffffff", int64(math.MaxInt64)},
	{"oid max", OIDOID, "ffffffff", int64(math.MaxUint32)},
	{"float4 0.1", OIDFloat4, "3dcccccd", float64(float32(0.1))},
	{"float4 NaN", OIDFloat4, "7fc00000", math.NaN()},
	{"float4 -Infinity", OIDFloat4, "ff800000", math.Inf(-1)},
	{"float8 -0", OIDFloat8, "8000000000000000", math.Copysign(0, -1)},
	{"float8 1.5e300", OIDFloat8, "7e41eb2d66005835", 1.5e300},
	{"bool true", OIDBool, "01", true},
	{"bool false", OIDBool, "00", false},
	{"bytea", OIDBytea, "00ff5c", []byte{0, 0xff, '\\'}},
	{"bytea empty", OIDBytea, "", []byte{}},
	{"json", OIDJSON, "7b2261223a205b312c202278225d7d", []byte(`{"a": [1, "x"]}`)},
	{"jsonb", OIDJSONB, "017b2261223a205b312c202278225d7d", []byte(`{"a": [1, "x"]}`)},
	{"uuid", OIDUUID, "a0eebc999c0b4ef8bb6d6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	{"date epoch", OIDDate, "00000000", utc(2000, 1, 1, 0, 0, 0, 0)},
	{"date before epoch", OIDDate, "ffffffff", utc(1999, 12, 31, 0, 0, 0, 0)},
	{"date 4713 BC", OIDDate, "ffda97cd", utc(-4712, 1, 1, 0, 0, 0, 0)},
	{"date last", OIDDate, "7fda970c", utc(5874897, 12, 31, 0, 0, 0, 0)},
	{"date infinity", OIDDate, "7fffffff", "infinity"},
	{"date -infinity", OIDDate, "80000000", "-infinity"},
	{"timestamp 1 BC", OIDTimestamp, "ff1fc63d1bb12000", utc(0, 1, 1, 0, 0, 0, 0)},
	{"timestamp before epoch", OIDTimestamp, "ffffffffffffffff", utc(1999, 12, 31, 23, 59, 59, 999_999_000)},
	{"timestamp year 10000", OIDTimestamp, "0380e70b913b8000", utc(10000, 1, 1, 0, 0, 0, 0)},
	{"timestamp infinity", OIDTimestamp, "7fffffffffffffff", "infinity"},
	{"timestamp -infinity", OIDTimestamp, "8000000000000000", "-infinity"},
	{"timestamptz", OIDTimestamptz, "0002b7e92934a400", utc(2024, 3, 31, 1, 0, 0, 0)},
	{"timestamptz max", OIDTimestamptz, "7fffff5bb3b29fff", utc(294276, 12, 31, 23, 59, 59, 999_999_000)},
	{"timestamptz 4714 BC", OIDTimestamptz, "fd0f7cc1411fa000", utc(-4713, 11, 24, 0, 0, 0, 0)},
	{"timestamptz infinity", OIDTimestamptz, "7fffffffffffffff", "infinity"},
	{"text", OIDText, "68c3a96c6c6f", "héllo"},
	{"varchar", OIDVarchar, "76", "v"},
	{"void", OIDVoid, "", nil},
	{"numeric (never asked in binary)", OIDNumeric, "0001000000000000000a", []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 10}},
	{"unknown OID", 99999, "0102", []byte{1, 2}},
}

func TestDecodeTextValues(t *testing.T) {
	for _, tc := range textCases {
		t.Run(tc.name, func(t *testing.T) {
			checkDecode(t, tc, FormatText, []byte(tc.src))
		})
	}
}

func TestDecodeBinaryValues(t *testing.T) {
	for _, tc := range binaryCases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := hex.DecodeString(tc.src)
			if err != nil {
				t.Fatalf("bad test hex %q: %v", tc.src, err)
			}
			checkDecode(t, tc, FormatBinary, src)
		})
	}
}

func checkDecode(t *testing.T, tc decodeCase, format int16, src []byte) {
	t.Helper()
	got, err := DecoderFor(tc.oid, format)(src, nil)
	if err != nil {
		t.Fatalf("decode %s %q: %v", TypeName(tc.oid), src, err)
	}
	if !sameValue(got, tc.want) {
		t.Fatalf("decode %s %q = %#v (%T), want %#v (%T)", TypeName(tc.oid), src, got, got, tc.want, tc.want)
	}
	// valueType holds in the text format and wherever ResultFormat asks for
	// binary; the binary fallback for other types is a copied []byte.
	if _, isString := got.(string); got != nil && !(isString && isTimeType(tc.oid)) &&
		(format == FormatText || ResultFormat(tc.oid) == FormatBinary) {
		if typ := reflect.TypeOf(got); typ != valueType(tc.oid) {
			t.Errorf("decoded type %v, but valueType says %v", typ, valueType(tc.oid))
		}
	}
}

func isTimeType(oid uint32) bool {
	return oid == OIDDate || oid == OIDTimestamp || oid == OIDTimestamptz
}

// sameValue compares decoded values: floats bit for bit except NaN (any
// NaN), times as instants with the same UTC offset.
func sameValue(got, want driver.Value) bool {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		if math.IsNaN(w) {
			return ok && math.IsNaN(g)
		}
		return ok && math.Float64bits(g) == math.Float64bits(w)
	case []byte:
		g, ok := got.([]byte)
		return ok && g != nil && bytes.Equal(g, w)
	case time.Time:
		g, ok := got.(time.Time)
		if !ok || !g.Equal(w) {
			return false
		}
		_, goff := g.Zone()
		_, woff := w.Zone()
		return goff == woff
	}
	return got == want
}

func TestDecodeTimestampsAreUTC(t *testing.T) {
	cases := []struct {
		oid    uint32
		format int16
		src    string
	}{
		{OIDDate, FormatText, "2024-03-31"},
		{OIDDate, FormatBinary, "\x00\x00\x00\x00"},
		{OIDTimestamp, FormatText, "2024-03-31 02:30:00"},
		{OIDTimestamp, FormatBinary, "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{OIDTimestamptz, FormatBinary, "\x00\x00\x00\x00\x00\x00\x00\x00"},
	}
	for _, tc := range cases {
		got, err := DecoderFor(tc.oid, tc.format)([]byte(tc.src), nil)
		if err != nil {
			t.Fatalf("%s: %v", TypeName(tc.oid), err)
		}
		if loc := got.(time.Time).Location(); loc != time.UTC {
			t.Errorf("%s in format %d: location %v, want UTC", TypeName(tc.oid), tc.format, loc)
		}
	}
}

func TestDecodeTimestamptzAcrossDSTInSessionZone(t *testing.T) {
	// Each text value is the server's output in that TimeZone for the
	// instant given in UTC.
	cases := []struct {
		zone, text string
		instant    time.Time
		offset     int
	}{
		{"Europe/Berlin", "2024-03-31 01:59:59.999999+01", utc(2024, 3, 31, 0, 59, 59, 999_999_000), 3600},
		{"Europe/Berlin", "2024-03-31 03:00:00+02", utc(2024, 3, 31, 1, 0, 0, 0), 7200},
		{"Europe/Berlin", "2024-10-27 02:30:00+02", utc(2024, 10, 27, 0, 30, 0, 0), 7200},
		{"Europe/Berlin", "2024-10-27 02:30:00+01", utc(2024, 10, 27, 1, 30, 0, 0), 3600},
		{"Europe/Berlin", "1893-03-31 23:59:59+00:53:28", utc(1893, 3, 31, 23, 6, 31, 0), 3208},
		{"Europe/Berlin", "1893-04-01 00:06:32+01", utc(1893, 3, 31, 23, 6, 32, 0), 3600},
		{"America/New_York", "2024-03-10 01:59:59-05", utc(2024, 3, 10, 6, 59, 59, 0), -5 * 3600},
		{"America/New_York", "2024-03-10 03:00:00-04", utc(2024, 3, 10, 7, 0, 0, 0), -4 * 3600},
		{"America/New_York", "2024-11-03 01:30:00-04", utc(2024, 11, 3, 5, 30, 0, 0), -4 * 3600},
		{"America/New_York", "2024-11-03 01:30:00-05", utc(2024, 11, 3, 6, 30, 0, 0), -5 * 3600},
		{"America/New_York", "1883-11-18 12:03:57-04:56:02", utc(1883, 11, 18, 16, 59, 59, 0), -(4*3600 + 56*60 + 2)},
	}
	for _, tc := range cases {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		binary := make([]byte, 8)
		putMicros(binary, tc.instant)
		for format, src := range map[int16][]byte{FormatText: []byte(tc.text), FormatBinary: binary} {
			got, err := DecoderFor(OIDTimestamptz, format)(src, loc)
			if err != nil {
				t.Fatalf("%s %q: %v", tc.zone, tc.text, err)
			}
			g := got.(time.Time)
			if _, off := g.Zone(); !g.Equal(tc.instant) || g.Location() != loc || off != tc.offset {
				t.Errorf("%s %q in format %d = %v (%v), want %v with offset %d in %v",
					tc.zone, tc.text, format, g, g.Location(), tc.instant, tc.offset, loc)
			}
		}
		got, err := DecoderFor(OIDTimestamptz, FormatText)([]byte(tc.text), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, off := got.(time.Time).Zone(); off != tc.offset {
			t.Errorf("%q without a session zone: offset %d, want the printed %d", tc.text, off, tc.offset)
		}
	}
}

// putMicros writes t as the binary timestamptz the server would send.
func putMicros(dst []byte, t time.Time) {
	us := t.Sub(utc(2000, 1, 1, 0, 0, 0, 0)).Microseconds()
	for i := range 8 {
		dst[i] = byte(us >> (56 - 8*i))
	}
}

func TestDecodeFloat4AgreesInBothFormats(t *testing.T) {
	for _, c := range []struct{ text, bin string }{
		{"0.1", "\x3d\xcc\xcc\xcd"},
		{"3.4028235e+38", "\x7f\x7f\xff\xff"},
		{"1e-45", "\x00\x00\x00\x01"},
		{"-Infinity", "\xff\x80\x00\x00"},
	} {
		text, err1 := DecoderFor(OIDFloat4, FormatText)([]byte(c.text), nil)
		bin, err2 := DecoderFor(OIDFloat4, FormatBinary)([]byte(c.bin), nil)
		if err1 != nil || err2 != nil || text != bin {
			t.Errorf("float4 %s: text %v (%v), binary %v (%v)", c.text, text, err1, bin, err2)
		}
	}
}

func TestDecodeRejectsMalformedValues(t *testing.T) {
	cases := []struct {
		oid    uint32
		format int16
		src    string
	}{
		{OIDInt4, FormatText, ""},
		{OIDInt4, FormatText, "-"},
		{OIDInt4, FormatText, "12a"},
		{OIDInt4, FormatText, " 1"},
		{OIDInt8, FormatText, "9223372036854775808"},
		{OIDInt8, FormatText, "-9223372036854775809"},
		{OIDInt8, FormatText, "99999999999999999999"},
		{OIDFloat8, FormatText, "1.2.3"},
		{OIDFloat8, FormatText, ""},
		{OIDFloat4, FormatText, "1e39"},
		{OIDBool, FormatText, "true"},
		{OIDBool, FormatText, ""},
		{OIDBytea, FormatText, `\x0`},
		{OIDBytea, FormatText, `\xzz`},
		{OIDBytea, FormatText, `\`},
		{OIDBytea, FormatText, `\12`},
		{OIDBytea, FormatText, `\400`},
		{OIDBytea, FormatText, `\a`},
		{OIDDate, FormatText, ""},
		{OIDDate, FormatText, "Infinity"},
		{OIDDate, FormatText, "24-01-01"},
		{OIDDate, FormatText, "2024-1-01"},
		{OIDDate, FormatText, "2024-13-01"},
		{OIDDate, FormatText, "2023-02-29"},
		{OIDDate, FormatText, "2024-04-31"},
		{OIDDate, FormatText, "0000-01-01"},
		{OIDDate, FormatText, "2024-01-01 BC BC"},
		{OIDDate, FormatText, "2024-01-01 00:00:00"},
		{OIDDate, FormatText, "1234567890-01-01"},
		{OIDTimestamp, FormatText, "2024-01-01"},
		{OIDTimestamp, FormatText, "2024-01-01 24:00:00"},
		{OIDTimestamp, FormatText, "2024-01-01 12:60:00"},
		{OIDTimestamp, FormatText, "2024-01-01 12:00:61"},
		{OIDTimestamp, FormatText, "2024-01-01 12:00:00."},
		{OIDTimestamp, FormatText, "2024-01-01 12:00:00.1234567890"},
		{OIDTimestamp, FormatText, "2024-01-01 12:00:00+00"},
		{OIDTimestamp, FormatText, "2024-01-01T12:00:00"},
		{OIDTimestamptz, FormatText, "2024-01-01 12:00:00"},
		{OIDTimestamptz, FormatText, "2024-01-01 12:00:00+1"},
		{OIDTimestamptz, FormatText, "2024-01-01 12:00:00+16"},
		{OIDTimestamptz, FormatText, "2024-01-01 12:00:00+05:60"},
		{OIDTimestamptz, FormatText, "2024-01-01 12:00:00+05:3"},
		{OIDTimestamptz, FormatText, "2024-01-01 12:00:00+05:30:00:00"},
		{OIDTimestamptz, FormatText, "2024-01-01 12:00:00 UTC"},
		{OIDInt2, FormatBinary, "\x00"},
		{OIDInt4, FormatBinary, "\x00\x00\x00"},
		{OIDInt8, FormatBinary, "\x00\x00\x00\x00"},
		{OIDOID, FormatBinary, ""},
		{OIDFloat4, FormatBinary, "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{OIDFloat8, FormatBinary, "\x00\x00\x00\x00"},
		{OIDBool, FormatBinary, "\x02"},
		{OIDBool, FormatBinary, ""},
		{OIDJSONB, FormatBinary, ""},
		{OIDJSONB, FormatBinary, "{}"},
		{OIDDate, FormatBinary, "\x00\x00\x00"},
		{OIDTimestamp, FormatBinary, "\x00"},
		{OIDTimestamptz, FormatBinary, "\x00\x00\x00\x00\x00\x00\x00\x00\x00"},
		{OIDUUID, FormatBinary, "\x00\x01"},
	}
	for _, tc := range cases {
		got, err := DecoderFor(tc.oid, tc.format)([]byte(tc.src), nil)
		if err == nil {
			t.Errorf("decode %s %q in format %d = %#v, want an error", TypeName(tc.oid), tc.src, tc.format, got)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "pgpipe: ") || strings.Count(msg, "pgpipe:") != 1 {
			t.Errorf("error %q does not start with a single \"pgpipe: \"", msg)
		}
	}
}

func TestDecodeJSONBNamesAnUnknownVersion(t *testing.T) {
	_, err := DecoderFor(OIDJSONB, FormatBinary)([]byte("\x02{}"), nil)
	if err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("err = %v, want one naming version 2", err)
	}
}

func TestDecodeAliasesOnlyByteaAndJSON(t *testing.T) {
	for _, tc := range []struct {
		oid    uint32
		format int16
		alias  bool
	}{
		{OIDBytea, FormatBinary, true},
		{OIDJSON, FormatBinary, true},
		{OIDJSONB, FormatBinary, true},
		{OIDJSON, FormatText, true},
		{OIDJSONB, FormatText, true},
		{OIDBytea, FormatText, false},
		{99999, FormatBinary, false},
	} {
		src := []byte("\x01{}")
		if tc.oid == OIDBytea && tc.format == FormatText {
			src = []byte(`\x7b7d`)
		}
		got, err := DecoderFor(tc.oid, tc.format)(src, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := got.([]byte)
		aliased := len(b) > 0 && &b[len(b)-1] == &src[len(src)-1]
		if aliased != tc.alias {
			t.Errorf("%s in format %d: aliases src = %v, want %v", TypeName(tc.oid), tc.format, aliased, tc.alias)
		}
	}
}

func TestResultFormatAsksBinaryOnlyWhereItHelps(t *testing.T) {
	binary := map[uint32]bool{
		OIDInt2: true, OIDInt4: true, OIDInt8: true, OIDOID: true, OIDFloat4: true, OIDFloat8: true,
		OIDBool: true, OIDBytea: true, OIDDate: true, OIDTimestamp: true, OIDTimestamptz: true,
		OIDUUID: true, OIDJSON: true, OIDJSONB: true,
	}
	for oid := range typeNames {
		want := FormatText
		if binary[oid] {
			want = FormatBinary
		}
		if got := ResultFormat(oid); got != want {
			t.Errorf("resultFormat(%s) = %d, want %d", TypeName(oid), got, want)
		}
	}
	if got := ResultFormat(99999); got != FormatText {
		t.Errorf("resultFormat(unknown) = %d, want text", got)
	}
}

func TestDecodersAllocateOnlyTheValue(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		oid    uint32
		format int16
		src    string
		loc    *time.Location
		allocs float64
	}{
		{"int8 text", OIDInt8, FormatText, "123456789", nil, 1},
		{"int8 binary", OIDInt8, FormatBinary, "\x01\x02\x03\x04\x05\x06\x07\x08", nil, 1},
		{"float8 text", OIDFloat8, FormatText, "3.141592653589793", nil, 1},
		{"float4 binary", OIDFloat4, FormatBinary, "\x3d\xcc\xcc\xcd", nil, 1},
		{"bool text", OIDBool, FormatText, "t", nil, 0},
		{"bytea binary", OIDBytea, FormatBinary, "abc", nil, 1},
		{"bytea text", OIDBytea, FormatText, `\x616263`, nil, 2},
		{"jsonb binary", OIDJSONB, FormatBinary, "\x01{}", nil, 1},
		{"text", OIDText, FormatText, "hello", nil, 2},
		{"numeric", OIDNumeric, FormatText, "12.5", nil, 2},
		{"uuid binary", OIDUUID, FormatBinary, "0123456789abcdef", nil, 2},
		{"date text", OIDDate, FormatText, "2024-03-31", nil, 1},
		{"date binary", OIDDate, FormatBinary, "\x00\x00\x10\x00", nil, 1},
		{"timestamp text", OIDTimestamp, FormatText, "2024-03-31 02:30:00.123456", nil, 1},
		{"timestamptz text in zone", OIDTimestamptz, FormatText, "2024-03-31 03:30:00.123456+02", berlin, 1},
		{"timestamptz text hour offset", OIDTimestamptz, FormatText, "2024-03-31 03:30:00.123456+02", nil, 1},
		{"timestamptz binary in zone", OIDTimestamptz, FormatBinary, "\x00\x02\xb7\xe9\x29\x34\xa4\x00", berlin, 1},
	}
	for _, tc := range cases {
		dec := DecoderFor(tc.oid, tc.format)
		src := []byte(tc.src)
		if _, err := dec(src, tc.loc); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := testing.AllocsPerRun(100, func() { _, _ = dec(src, tc.loc) }); got > tc.allocs {
			t.Errorf("%s: %v allocations, want at most %v", tc.name, got, tc.allocs)
		}
	}
}

func BenchmarkDecodeTextTimestamptz(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	src := []byte("2024-03-31 03:30:00.123456+02")
	dec := DecoderFor(OIDTimestamptz, FormatText)
	for b.Loop() {
		if _, err := dec(src, loc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinaryTimestamptz(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	src := []byte("\x00\x02\xb7\xe9\x29\x34\xa4\x00")
	dec := DecoderFor(OIDTimestamptz, FormatBinary)
	for b.Loop() {
		if _, err := dec(src, loc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTextInt8(b *testing.B) {
	src := []byte("1234567890123")
	dec := DecoderFor(OIDInt8, FormatText)
	for b.Loop() {
		if _, err := dec(src, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// parseFloat8Cases are float8 texts on both sides of the fast path's
// limits (2^53, 22 fraction digits, 19 digits), and what it leaves to
// strconv.
var parseFloat8Cases = []string{
	"0", "-0", "0.0", "1", "-1", "1.", ".5", "-.5", "567.1340206185567", "36759.5",
	"9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740.993",
	"0.1", "0.30000000000000004", "1.7976931348623157e+308", "5e-324", "1e+22", "1e-07",
	"0.0000000000000000000001", "0.00000000000000000000001", "1234567890123456789", "12345678901234567890",
	"0000000000000000000000001", "18014398509481986", "9007199254740993.0", "1844674407370955161.5",
	"9999999999999999999", "0.9999999999999999999", "1030.9278350515465", "NaN", "Infinity", "-Infinity", "", "-", ".", "1..2", "1.2.3", "+1", "1_0", "0x1p-2", " 1",
}

// checkParseFloat8 compares parseFloat8 with strconv.ParseFloat.
func checkParseFloat8(t *testing.T, s string) {
	t.Helper()
	got, ok := parseFloat8([]byte(s))
	want, err := strconv.ParseFloat(s, 64)
	if ok != (err == nil) {
		t.Fatalf("%q: ok %v, strconv's error %v", s, ok, err)
	}
	if ok && math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
		t.Fatalf("%q: %v (%#x), strconv %v (%#x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
	}
}

func TestParseFloat8MatchesStrconv(t *testing.T) {
	for _, s := range parseFloat8Cases {
		checkParseFloat8(t, s)
	}
	// Plain decimals of every length and point position, around 2^53.
	for _, m := range []uint64{1, 7, 123456789, 1<<53 - 1, 1 << 53, 1<<53 + 1, 4503599627370497, 8999999999999999} {
		digits := strconv.FormatUint(m, 10)
		for point := 0; point <= len(digits); point++ {
			s := digits[:point] + "." + digits[point:]
			checkParseFloat8(t, s)
			checkParseFloat8(t, "-"+s)
		}
	}
	// Shortest forms of values of every magnitude the fast path reaches.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		f := math.Ldexp(rng.Float64(), rng.IntN(120)-70)
		checkParseFloat8(t, strconv.FormatFloat(f, 'f', -1, 64))
		checkParseFloat8(t, strconv.FormatFloat(float64(rng.IntN(100_003))/97, 'f', -1, 64))
	}
	// Any 16 to 19 digits with the point anywhere: the checked path.
	checked := 0
	for range 300_000 {
		m, frac := rng.Uint64N(1e19-1<<53)+1<<53, rng.IntN(23)
		s := strconv.FormatUint(m, 10)
		if frac > 0 {
			s = strings.Repeat("0", max(0, frac-len(s)+1)) + s
			s = s[:len(s)-frac] + "." + s[len(s)-frac:]
		}
		checkParseFloat8(t, s)
		if _, ok := decimalToFloat(m, frac); ok {
			checked++
		}
	}
	if checked < 250_000 {
		t.Fatalf("only %d of 300,000 values took the checked path", checked)
	}
}

func BenchmarkDecodeTextFloat8(b *testing.B) {
	src := []byte("567.1340206185567")
	for b.Loop() {
		if _, ok := parseFloat8(src); !ok {
			b.Fatal("not parsed")
		}
	}
}
