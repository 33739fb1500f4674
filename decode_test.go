package pgpipe

import (
	"bytes"
	"database/sql/driver"
	"encoding/hex"
	"math"
	"reflect"
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
	{"int2", oidInt2, "-32768", int64(-32768)},
	{"int4 max", oidInt4, "2147483647", int64(math.MaxInt32)},
	{"int8 min", oidInt8, "-9223372036854775808", int64(math.MinInt64)},
	{"int8 max", oidInt8, "9223372036854775807", int64(math.MaxInt64)},
	{"oid max", oidOID, "4294967295", int64(math.MaxUint32)},
	{"float4 0.1", oidFloat4, "0.1", float64(float32(0.1))},
	{"float4 max", oidFloat4, "3.4028235e+38", float64(float32(math.MaxFloat32))},
	{"float4 NaN", oidFloat4, "NaN", math.NaN()},
	{"float8 -0", oidFloat8, "-0", math.Copysign(0, -1)},
	{"float8 Infinity", oidFloat8, "Infinity", math.Inf(1)},
	{"float8 -Infinity", oidFloat8, "-Infinity", math.Inf(-1)},
	{"float8 exponent", oidFloat8, "1e+21", 1e21},
	{"float8 smallest", oidFloat8, "5e-324", 5e-324},
	{"numeric", oidNumeric, "-123456789012345678901234567890.000000000000000000001", "-123456789012345678901234567890.000000000000000000001"},
	{"numeric NaN", oidNumeric, "NaN", "NaN"},
	{"numeric Infinity", oidNumeric, "-Infinity", "-Infinity"},
	{"bool true", oidBool, "t", true},
	{"bool false", oidBool, "f", false},
	{"text", oidText, "héllo\n", "héllo\n"},
	{"empty text", oidText, "", ""},
	{"varchar", oidVarchar, "v", "v"},
	{"bpchar", oidBPChar, "ab ", "ab "},
	{"name", oidName, "pg_class", "pg_class"},
	{"char", oidChar, "x", "x"},
	{"unknown", oidUnknown, "lit", "lit"},
	{"xml", oidXML, "<a/>", "<a/>"},
	{"unknown OID", 99999, "citext value", "citext value"},
	{"bytea hex", oidBytea, `\x00ff5c`, []byte{0, 0xff, '\\'}},
	{"bytea hex upper", oidBytea, `\xABCD`, []byte{0xab, 0xcd}},
	{"bytea empty hex", oidBytea, `\x`, []byte{}},
	{"bytea escape", oidBytea, `\000\377\\'ab`, []byte{0, 0xff, '\\', '\'', 'a', 'b'}},
	{"bytea empty escape", oidBytea, ``, []byte{}},
	{"json", oidJSON, `{"a": [1, "x"]}`, []byte(`{"a": [1, "x"]}`)},
	{"jsonb", oidJSONB, `{"a": [1, "x"]}`, []byte(`{"a": [1, "x"]}`)},
	{"uuid", oidUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	{"date", oidDate, "2024-02-29", utc(2024, 2, 29, 0, 0, 0, 0)},
	{"date 1 BC", oidDate, "0001-01-01 BC", utc(0, 1, 1, 0, 0, 0, 0)},
	{"date 4713 BC", oidDate, "4713-01-01 BC", utc(-4712, 1, 1, 0, 0, 0, 0)},
	{"date year 10000", oidDate, "10000-01-01", utc(10000, 1, 1, 0, 0, 0, 0)},
	{"date last", oidDate, "5874897-12-31", utc(5874897, 12, 31, 0, 0, 0, 0)},
	{"date infinity", oidDate, "infinity", "infinity"},
	{"date -infinity", oidDate, "-infinity", "-infinity"},
	{"timestamp", oidTimestamp, "2024-01-01 12:34:56.7", utc(2024, 1, 1, 12, 34, 56, 700_000_000)},
	{"timestamp 1 BC", oidTimestamp, "0001-01-01 12:00:00 BC", utc(0, 1, 1, 12, 0, 0, 0)},
	{"timestamp year 10000", oidTimestamp, "10000-01-01 00:00:00", utc(10000, 1, 1, 0, 0, 0, 0)},
	{"timestamp infinity", oidTimestamp, "infinity", "infinity"},
	{"timestamp leap second", oidTimestamp, "2016-12-31 23:59:60", utc(2017, 1, 1, 0, 0, 0, 0)},
	{"timestamptz 1 digit", oidTimestamptz, "2024-01-01 12:00:00.1+00", utc(2024, 1, 1, 12, 0, 0, 100_000_000)},
	{"timestamptz 2 digits", oidTimestamptz, "2024-01-01 12:00:00.12+00", utc(2024, 1, 1, 12, 0, 0, 120_000_000)},
	{"timestamptz 3 digits", oidTimestamptz, "2024-01-01 12:00:00.123+00", utc(2024, 1, 1, 12, 0, 0, 123_000_000)},
	{"timestamptz 4 digits", oidTimestamptz, "2024-01-01 12:00:00.1234+00", utc(2024, 1, 1, 12, 0, 0, 123_400_000)},
	{"timestamptz 5 digits", oidTimestamptz, "2024-01-01 12:00:00.12345+00", utc(2024, 1, 1, 12, 0, 0, 123_450_000)},
	{"timestamptz 6 digits", oidTimestamptz, "2024-01-01 12:00:00.123456+00", utc(2024, 1, 1, 12, 0, 0, 123_456_000)},
	{"timestamptz 9 digits", oidTimestamptz, "2024-01-01 12:00:00.123456789+00", utc(2024, 1, 1, 12, 0, 0, 123_456_789)},
	{"timestamptz +05:45", oidTimestamptz, "2024-01-01 05:45:00+05:45", zoned(utc(2024, 1, 1, 0, 0, 0, 0), 5*3600+45*60)},
	{"timestamptz LMT", oidTimestamptz, "1883-11-18 12:03:57-04:56:02", zoned(utc(1883, 11, 18, 16, 59, 59, 0), -(4*3600 + 56*60 + 2))},
	{"timestamptz BC LMT", oidTimestamptz, "4714-11-24 00:53:28+00:53:28 BC", zoned(utc(-4713, 11, 24, 0, 0, 0, 0), 53*60+28)},
	{"timestamptz max", oidTimestamptz, "294277-01-01 00:59:59.999999+01", zoned(utc(294276, 12, 31, 23, 59, 59, 999_999_000), 3600)},
	{"timestamptz -infinity", oidTimestamptz, "-infinity", "-infinity"},
	{"time", oidTime, "12:34:56.789", "12:34:56.789"},
	{"timetz", oidTimetz, "12:34:56.7+02", "12:34:56.7+02"},
	{"interval", oidInterval, "1 year 2 mons 3 days 04:05:06", "1 year 2 mons 3 days 04:05:06"},
	{"int4 array", oidInt4Array, "{{1,2},{3,4}}", "{{1,2},{3,4}}"},
	{"text array", oidTextArray, `{"a\\\"b",NULL}`, `{"a\\\"b",NULL}`},
	{"inet", oidInet, "192.168.0.1/24", "192.168.0.1/24"},
	{"cidr", oidCidr, "10.0.0.0/8", "10.0.0.0/8"},
	{"macaddr", oidMacaddr, "08:00:2b:01:02:03", "08:00:2b:01:02:03"},
	{"money", oidMoney, "$1,000.00", "$1,000.00"},
	{"bit", oidBit, "101", "101"},
	{"varbit", oidVarbit, "1", "1"},
	{"jsonpath", oidJSONPath, `$."a"`, `$."a"`},
	{"record", oidRecord, `(1,"a b")`, `(1,"a b")`},
	{"int2vector", oidInt2Vector, "1 2", "1 2"},
	{"oidvector", oidOIDVector, "23 25", "23 25"},
	{"void", oidVoid, "", nil},
}

var binaryCases = []decodeCase{
	{"int2", oidInt2, "8000", int64(-32768)},
	{"int4", oidInt4, "80000000", int64(math.MinInt32)},
	{"int8 min", oidInt8, "8000000000000000", int64(math.MinInt64)},
	{"int8 max", oidInt8, "7fffffffffffffff", int64(math.MaxInt64)},
	{"oid max", oidOID, "ffffffff", int64(math.MaxUint32)},
	{"float4 0.1", oidFloat4, "3dcccccd", float64(float32(0.1))},
	{"float4 NaN", oidFloat4, "7fc00000", math.NaN()},
	{"float4 -Infinity", oidFloat4, "ff800000", math.Inf(-1)},
	{"float8 -0", oidFloat8, "8000000000000000", math.Copysign(0, -1)},
	{"float8 1.5e300", oidFloat8, "7e41eb2d66005835", 1.5e300},
	{"bool true", oidBool, "01", true},
	{"bool false", oidBool, "00", false},
	{"bytea", oidBytea, "00ff5c", []byte{0, 0xff, '\\'}},
	{"bytea empty", oidBytea, "", []byte{}},
	{"json", oidJSON, "7b2261223a205b312c202278225d7d", []byte(`{"a": [1, "x"]}`)},
	{"jsonb", oidJSONB, "017b2261223a205b312c202278225d7d", []byte(`{"a": [1, "x"]}`)},
	{"uuid", oidUUID, "a0eebc999c0b4ef8bb6d6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	{"date epoch", oidDate, "00000000", utc(2000, 1, 1, 0, 0, 0, 0)},
	{"date before epoch", oidDate, "ffffffff", utc(1999, 12, 31, 0, 0, 0, 0)},
	{"date 4713 BC", oidDate, "ffda97cd", utc(-4712, 1, 1, 0, 0, 0, 0)},
	{"date last", oidDate, "7fda970c", utc(5874897, 12, 31, 0, 0, 0, 0)},
	{"date infinity", oidDate, "7fffffff", "infinity"},
	{"date -infinity", oidDate, "80000000", "-infinity"},
	{"timestamp 1 BC", oidTimestamp, "ff1fc63d1bb12000", utc(0, 1, 1, 0, 0, 0, 0)},
	{"timestamp before epoch", oidTimestamp, "ffffffffffffffff", utc(1999, 12, 31, 23, 59, 59, 999_999_000)},
	{"timestamp year 10000", oidTimestamp, "0380e70b913b8000", utc(10000, 1, 1, 0, 0, 0, 0)},
	{"timestamp infinity", oidTimestamp, "7fffffffffffffff", "infinity"},
	{"timestamp -infinity", oidTimestamp, "8000000000000000", "-infinity"},
	{"timestamptz", oidTimestamptz, "0002b7e92934a400", utc(2024, 3, 31, 1, 0, 0, 0)},
	{"timestamptz max", oidTimestamptz, "7fffff5bb3b29fff", utc(294276, 12, 31, 23, 59, 59, 999_999_000)},
	{"timestamptz 4714 BC", oidTimestamptz, "fd0f7cc1411fa000", utc(-4713, 11, 24, 0, 0, 0, 0)},
	{"timestamptz infinity", oidTimestamptz, "7fffffffffffffff", "infinity"},
	{"text", oidText, "68c3a96c6c6f", "héllo"},
	{"varchar", oidVarchar, "76", "v"},
	{"void", oidVoid, "", nil},
	{"numeric (never asked in binary)", oidNumeric, "0001000000000000000a", []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 10}},
	{"unknown OID", 99999, "0102", []byte{1, 2}},
}

func TestDecodeTextValues(t *testing.T) {
	for _, tc := range textCases {
		t.Run(tc.name, func(t *testing.T) {
			checkDecode(t, tc, formatText, []byte(tc.src))
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
			checkDecode(t, tc, formatBinary, src)
		})
	}
}

func checkDecode(t *testing.T, tc decodeCase, format int16, src []byte) {
	t.Helper()
	got, err := decoderFor(tc.oid, format)(src, nil)
	if err != nil {
		t.Fatalf("decode %s %q: %v", typeName(tc.oid), src, err)
	}
	if !sameValue(got, tc.want) {
		t.Fatalf("decode %s %q = %#v (%T), want %#v (%T)", typeName(tc.oid), src, got, got, tc.want, tc.want)
	}
	// valueType holds in the text format and wherever resultFormat asks for
	// binary; the binary fallback for other types is a copied []byte.
	if _, isString := got.(string); got != nil && !(isString && isTimeType(tc.oid)) &&
		(format == formatText || resultFormat(tc.oid) == formatBinary) {
		if typ := reflect.TypeOf(got); typ != valueType(tc.oid) {
			t.Errorf("decoded type %v, but valueType says %v", typ, valueType(tc.oid))
		}
	}
}

func isTimeType(oid uint32) bool {
	return oid == oidDate || oid == oidTimestamp || oid == oidTimestamptz
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
		{oidDate, formatText, "2024-03-31"},
		{oidDate, formatBinary, "\x00\x00\x00\x00"},
		{oidTimestamp, formatText, "2024-03-31 02:30:00"},
		{oidTimestamp, formatBinary, "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{oidTimestamptz, formatBinary, "\x00\x00\x00\x00\x00\x00\x00\x00"},
	}
	for _, tc := range cases {
		got, err := decoderFor(tc.oid, tc.format)([]byte(tc.src), nil)
		if err != nil {
			t.Fatalf("%s: %v", typeName(tc.oid), err)
		}
		if loc := got.(time.Time).Location(); loc != time.UTC {
			t.Errorf("%s in format %d: location %v, want UTC", typeName(tc.oid), tc.format, loc)
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
		for format, src := range map[int16][]byte{formatText: []byte(tc.text), formatBinary: binary} {
			got, err := decoderFor(oidTimestamptz, format)(src, loc)
			if err != nil {
				t.Fatalf("%s %q: %v", tc.zone, tc.text, err)
			}
			g := got.(time.Time)
			if _, off := g.Zone(); !g.Equal(tc.instant) || g.Location() != loc || off != tc.offset {
				t.Errorf("%s %q in format %d = %v (%v), want %v with offset %d in %v",
					tc.zone, tc.text, format, g, g.Location(), tc.instant, tc.offset, loc)
			}
		}
		got, err := decoderFor(oidTimestamptz, formatText)([]byte(tc.text), nil)
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
		text, err1 := decoderFor(oidFloat4, formatText)([]byte(c.text), nil)
		bin, err2 := decoderFor(oidFloat4, formatBinary)([]byte(c.bin), nil)
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
		{oidInt4, formatText, ""},
		{oidInt4, formatText, "-"},
		{oidInt4, formatText, "12a"},
		{oidInt4, formatText, " 1"},
		{oidInt8, formatText, "9223372036854775808"},
		{oidInt8, formatText, "-9223372036854775809"},
		{oidInt8, formatText, "99999999999999999999"},
		{oidFloat8, formatText, "1.2.3"},
		{oidFloat8, formatText, ""},
		{oidFloat4, formatText, "1e39"},
		{oidBool, formatText, "true"},
		{oidBool, formatText, ""},
		{oidBytea, formatText, `\x0`},
		{oidBytea, formatText, `\xzz`},
		{oidBytea, formatText, `\`},
		{oidBytea, formatText, `\12`},
		{oidBytea, formatText, `\400`},
		{oidBytea, formatText, `\a`},
		{oidDate, formatText, ""},
		{oidDate, formatText, "Infinity"},
		{oidDate, formatText, "24-01-01"},
		{oidDate, formatText, "2024-1-01"},
		{oidDate, formatText, "2024-13-01"},
		{oidDate, formatText, "2023-02-29"},
		{oidDate, formatText, "2024-04-31"},
		{oidDate, formatText, "0000-01-01"},
		{oidDate, formatText, "2024-01-01 BC BC"},
		{oidDate, formatText, "2024-01-01 00:00:00"},
		{oidDate, formatText, "1234567890-01-01"},
		{oidTimestamp, formatText, "2024-01-01"},
		{oidTimestamp, formatText, "2024-01-01 24:00:00"},
		{oidTimestamp, formatText, "2024-01-01 12:60:00"},
		{oidTimestamp, formatText, "2024-01-01 12:00:61"},
		{oidTimestamp, formatText, "2024-01-01 12:00:00."},
		{oidTimestamp, formatText, "2024-01-01 12:00:00.1234567890"},
		{oidTimestamp, formatText, "2024-01-01 12:00:00+00"},
		{oidTimestamp, formatText, "2024-01-01T12:00:00"},
		{oidTimestamptz, formatText, "2024-01-01 12:00:00"},
		{oidTimestamptz, formatText, "2024-01-01 12:00:00+1"},
		{oidTimestamptz, formatText, "2024-01-01 12:00:00+16"},
		{oidTimestamptz, formatText, "2024-01-01 12:00:00+05:60"},
		{oidTimestamptz, formatText, "2024-01-01 12:00:00+05:3"},
		{oidTimestamptz, formatText, "2024-01-01 12:00:00+05:30:00:00"},
		{oidTimestamptz, formatText, "2024-01-01 12:00:00 UTC"},
		{oidInt2, formatBinary, "\x00"},
		{oidInt4, formatBinary, "\x00\x00\x00"},
		{oidInt8, formatBinary, "\x00\x00\x00\x00"},
		{oidOID, formatBinary, ""},
		{oidFloat4, formatBinary, "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{oidFloat8, formatBinary, "\x00\x00\x00\x00"},
		{oidBool, formatBinary, "\x02"},
		{oidBool, formatBinary, ""},
		{oidJSONB, formatBinary, ""},
		{oidJSONB, formatBinary, "{}"},
		{oidDate, formatBinary, "\x00\x00\x00"},
		{oidTimestamp, formatBinary, "\x00"},
		{oidTimestamptz, formatBinary, "\x00\x00\x00\x00\x00\x00\x00\x00\x00"},
		{oidUUID, formatBinary, "\x00\x01"},
	}
	for _, tc := range cases {
		got, err := decoderFor(tc.oid, tc.format)([]byte(tc.src), nil)
		if err == nil {
			t.Errorf("decode %s %q in format %d = %#v, want an error", typeName(tc.oid), tc.src, tc.format, got)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "pgpipe: ") || strings.Count(msg, "pgpipe:") != 1 {
			t.Errorf("error %q does not start with a single \"pgpipe: \"", msg)
		}
	}
}

func TestDecodeJSONBNamesAnUnknownVersion(t *testing.T) {
	_, err := decoderFor(oidJSONB, formatBinary)([]byte("\x02{}"), nil)
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
		{oidBytea, formatBinary, true},
		{oidJSON, formatBinary, true},
		{oidJSONB, formatBinary, true},
		{oidJSON, formatText, true},
		{oidJSONB, formatText, true},
		{oidBytea, formatText, false},
		{99999, formatBinary, false},
	} {
		src := []byte("\x01{}")
		if tc.oid == oidBytea && tc.format == formatText {
			src = []byte(`\x7b7d`)
		}
		got, err := decoderFor(tc.oid, tc.format)(src, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := got.([]byte)
		aliased := len(b) > 0 && &b[len(b)-1] == &src[len(src)-1]
		if aliased != tc.alias {
			t.Errorf("%s in format %d: aliases src = %v, want %v", typeName(tc.oid), tc.format, aliased, tc.alias)
		}
	}
}

func TestResultFormatAsksBinaryOnlyWhereItHelps(t *testing.T) {
	binary := map[uint32]bool{
		oidInt2: true, oidInt4: true, oidInt8: true, oidOID: true, oidFloat4: true, oidFloat8: true,
		oidBool: true, oidBytea: true, oidDate: true, oidTimestamp: true, oidTimestamptz: true,
		oidUUID: true, oidJSON: true, oidJSONB: true,
	}
	for oid := range typeNames {
		want := formatText
		if binary[oid] {
			want = formatBinary
		}
		if got := resultFormat(oid); got != want {
			t.Errorf("resultFormat(%s) = %d, want %d", typeName(oid), got, want)
		}
	}
	if got := resultFormat(99999); got != formatText {
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
		{"int8 text", oidInt8, formatText, "123456789", nil, 1},
		{"int8 binary", oidInt8, formatBinary, "\x01\x02\x03\x04\x05\x06\x07\x08", nil, 1},
		{"float8 text", oidFloat8, formatText, "3.141592653589793", nil, 1},
		{"float4 binary", oidFloat4, formatBinary, "\x3d\xcc\xcc\xcd", nil, 1},
		{"bool text", oidBool, formatText, "t", nil, 0},
		{"bytea binary", oidBytea, formatBinary, "abc", nil, 1},
		{"bytea text", oidBytea, formatText, `\x616263`, nil, 2},
		{"jsonb binary", oidJSONB, formatBinary, "\x01{}", nil, 1},
		{"text", oidText, formatText, "hello", nil, 2},
		{"numeric", oidNumeric, formatText, "12.5", nil, 2},
		{"uuid binary", oidUUID, formatBinary, "0123456789abcdef", nil, 2},
		{"date text", oidDate, formatText, "2024-03-31", nil, 1},
		{"date binary", oidDate, formatBinary, "\x00\x00\x10\x00", nil, 1},
		{"timestamp text", oidTimestamp, formatText, "2024-03-31 02:30:00.123456", nil, 1},
		{"timestamptz text in zone", oidTimestamptz, formatText, "2024-03-31 03:30:00.123456+02", berlin, 1},
		{"timestamptz text hour offset", oidTimestamptz, formatText, "2024-03-31 03:30:00.123456+02", nil, 1},
		{"timestamptz binary in zone", oidTimestamptz, formatBinary, "\x00\x02\xb7\xe9\x29\x34\xa4\x00", berlin, 1},
	}
	for _, tc := range cases {
		dec := decoderFor(tc.oid, tc.format)
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
	dec := decoderFor(oidTimestamptz, formatText)
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
	dec := decoderFor(oidTimestamptz, formatBinary)
	for b.Loop() {
		if _, err := dec(src, loc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTextInt8(b *testing.B) {
	src := []byte("1234567890123")
	dec := decoderFor(oidInt8, formatText)
	for b.Loop() {
		if _, err := dec(src, nil); err != nil {
			b.Fatal(err)
		}
	}
}
