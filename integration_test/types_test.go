package integration_test

// Every value type the driver documents (internal/codec/encode_text.go for arguments,
// internal/codec/decode.go for results) round-trips exactly through a real server, as a
// database/sql user sees it. Each result is checked in every result format
// the driver uses: checkValues (types_helpers_test.go) runs every query on
// one connection under default automatic preparation (five unnamed, text
// executions, then prepared, then binary), with prepare_threshold=0, with
// prepare_threshold=none and as an explicitly prepared statement, and
// requires the same value every time.

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// inUTC makes the session TimeZone UTC, so that timestamptz results are
// comparable with time.UTC values whatever the server's default.
var inUTC = []string{"SET TimeZone = 'UTC'"}

func TestIntegerArgumentsRoundTripExactly(t *testing.T) {
	t.Parallel()
	checkValues(t, inUTC, []valueCase{
		{name: "int", query: "SELECT $1::int8", args: []any{-42}, want: int64(-42), dbType: "INT8", typed: []any{ptr(-42)}},
		{name: "int max", query: "SELECT $1::int8", args: []any{math.MaxInt}, want: int64(math.MaxInt64)},
		{name: "int8 min", query: "SELECT $1::int2", args: []any{int8(math.MinInt8)}, want: int64(-128), dbType: "INT2", typed: []any{ptr(int8(math.MinInt8))}},
		{name: "int8 max", query: "SELECT $1::int2", args: []any{int8(math.MaxInt8)}, want: int64(127)},
		{name: "int16 min", query: "SELECT $1::int2", args: []any{int16(math.MinInt16)}, want: int64(math.MinInt16), typed: []any{ptr(int16(math.MinInt16))}},
		{name: "int16 max", query: "SELECT $1::int2", args: []any{int16(math.MaxInt16)}, want: int64(math.MaxInt16)},
		{name: "int32 min", query: "SELECT $1::int4", args: []any{int32(math.MinInt32)}, want: int64(math.MinInt32), dbType: "INT4", typed: []any{ptr(int32(math.MinInt32))}},
		{name: "int32 max", query: "SELECT $1::int4", args: []any{int32(math.MaxInt32)}, want: int64(math.MaxInt32)},
		{name: "int64 min", query: "SELECT $1::int8", args: []any{int64(math.MinInt64)}, want: int64(math.MinInt64), typed: []any{ptr(int64(math.MinInt64)), ptr("-9223372036854775808")}},
		{name: "int64 max", query: "SELECT $1::int8", args: []any{int64(math.MaxInt64)}, want: int64(math.MaxInt64)},
		{name: "uint8 max", query: "SELECT $1::int2", args: []any{uint8(math.MaxUint8)}, want: int64(255), typed: []any{ptr(uint8(255))}},
		{name: "uint16 max", query: "SELECT $1::int4", args: []any{uint16(math.MaxUint16)}, want: int64(math.MaxUint16), typed: []any{ptr(uint16(math.MaxUint16))}},
		{name: "uint32 max", query: "SELECT $1::int8", args: []any{uint32(math.MaxUint32)}, want: int64(math.MaxUint32), typed: []any{ptr(uint32(math.MaxUint32))}},
		{name: "uint64 at int64 max", query: "SELECT $1::int8", args: []any{uint64(math.MaxInt64)}, want: int64(math.MaxInt64), typed: []any{ptr(uint64(math.MaxInt64))}},
		{name: "uint64 max into numeric", query: "SELECT $1::numeric", args: []any{uint64(math.MaxUint64)}, want: "18446744073709551615", dbType: "NUMERIC", typed: []any{ptr(uint64(math.MaxUint64))}},
		{name: "uint64 2^63 into numeric", query: "SELECT $1::numeric", args: []any{uint64(1 << 63)}, want: "9223372036854775808"},
		{name: "uint max into numeric", query: "SELECT $1::numeric", args: []any{uint(math.MaxUint)}, want: "18446744073709551615"},
		{name: "int64 min into numeric", query: "SELECT $1::numeric", args: []any{int64(math.MinInt64)}, want: "-9223372036854775808"},
		{name: "int into float8", query: "SELECT $1::float8", args: []any{int64(1 << 53)}, want: float64(1 << 53)},
		{name: "int into text", query: "SELECT $1::text", args: []any{int16(-7)}, want: "-7"},
		// Arguments are sent with type OID 0: an uncast $1 is text to
		// the server, so an int comes back as its decimal text.
		{name: "uncast int is text", query: "SELECT $1", args: []any{5}, want: "5", dbType: "TEXT"},
		{name: "int in arithmetic", query: "SELECT $1::int8 + $2::int4", args: []any{int64(1) << 40, int32(-1)}, want: int64(1<<40 - 1)},
	})
}

func TestFloatArgumentsRoundTripBitForBit(t *testing.T) {
	t.Parallel()
	negZero := math.Copysign(0, -1)
	f32 := func(f float32) float64 { return float64(f) }
	checkValues(t, inUTC, []valueCase{
		{name: "float64 tenth", query: "SELECT $1::float8", args: []any{0.1}, want: 0.1, dbType: "FLOAT8", typed: []any{ptr(0.1), ptr("0.1")}},
		{name: "float64 third", query: "SELECT $1::float8", args: []any{1.0 / 3}, want: 1.0 / 3},
		{name: "float64 max", query: "SELECT $1::float8", args: []any{math.MaxFloat64}, want: math.MaxFloat64},
		{name: "float64 smallest normal", query: "SELECT $1::float8", args: []any{0x1p-1022}, want: 0x1p-1022},
		{name: "float64 smallest denormal", query: "SELECT $1::float8", args: []any{math.SmallestNonzeroFloat64}, want: math.SmallestNonzeroFloat64},
		{name: "float64 negative denormal", query: "SELECT $1::float8", args: []any{-2.5e-310}, want: -2.5e-310},
		{name: "float64 2^53+2", query: "SELECT $1::float8", args: []any{float64(1<<53 + 2)}, want: float64(1<<53 + 2)},
		{name: "float64 NaN", query: "SELECT $1::float8", args: []any{math.NaN()}, want: math.NaN(), typed: []any{ptr(math.NaN())}},
		{name: "float64 +Inf", query: "SELECT $1::float8", args: []any{math.Inf(1)}, want: math.Inf(1)},
		{name: "float64 -Inf", query: "SELECT $1::float8", args: []any{math.Inf(-1)}, want: math.Inf(-1)},
		{name: "float64 -0", query: "SELECT $1::float8", args: []any{negZero}, want: negZero, typed: []any{ptr(negZero)}},
		{name: "float64 +0", query: "SELECT $1::float8", args: []any{0.0}, want: 0.0},
		{name: "float32 tenth", query: "SELECT $1::float4", args: []any{float32(0.1)}, want: f32(0.1), dbType: "FLOAT4", typed: []any{ptr(float32(0.1))}},
		{name: "float32 max", query: "SELECT $1::float4", args: []any{float32(math.MaxFloat32)}, want: f32(math.MaxFloat32)},
		{name: "float32 smallest denormal", query: "SELECT $1::float4", args: []any{float32(math.SmallestNonzeroFloat32)}, want: f32(math.SmallestNonzeroFloat32)},
		{name: "float32 NaN", query: "SELECT $1::float4", args: []any{float32(math.NaN())}, want: math.NaN()},
		{name: "float32 +Inf", query: "SELECT $1::float4", args: []any{float32(math.Inf(1))}, want: math.Inf(1)},
		{name: "float32 -Inf", query: "SELECT $1::float4", args: []any{float32(math.Inf(-1))}, want: math.Inf(-1)},
		{name: "float32 -0", query: "SELECT $1::float4", args: []any{float32(negZero)}, want: negZero},
		{name: "float32 into float8", query: "SELECT $1::float8", args: []any{float32(0.1)}, want: 0.1},
		{name: "float64 into numeric", query: "SELECT $1::numeric", args: []any{0.1}, want: "0.1"},
		{name: "float64 NaN into numeric", query: "SELECT $1::numeric", args: []any{math.NaN()}, want: "NaN"},
		{name: "float64 +Inf into numeric", query: "SELECT $1::numeric", args: []any{math.Inf(1)}, want: "Infinity"},
		{name: "float64 -Inf into numeric", query: "SELECT $1::numeric", args: []any{math.Inf(-1)}, want: "-Infinity"},
		{name: "-0 is equal to 0 in SQL", query: "SELECT $1::float8 = 0", args: []any{negZero}, want: true},
	})
}

func TestBoolAndStringArgumentsRoundTrip(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é☃", 50000) // 250,000 bytes
	checkValues(t, inUTC, []valueCase{
		{name: "true", query: "SELECT $1::bool", args: []any{true}, want: true, dbType: "BOOL", typed: []any{ptr(true), ptr("true")}},
		{name: "false", query: "SELECT $1::bool", args: []any{false}, want: false, typed: []any{ptr(false)}},
		{name: "bool into text", query: "SELECT $1::text", args: []any{true}, want: "t"},
		{name: "empty", query: "SELECT $1::text", args: []any{""}, want: "", dbType: "TEXT", typed: []any{ptr(""), ptr([]byte{}), ptr(sql.NullString{Valid: true})}},
		{name: "empty is not NULL", query: "SELECT $1::text IS NULL", args: []any{""}, want: false},
		{name: "unicode", query: "SELECT $1::text", args: []any{"héllo, 世界 🎉\u00a0\u200d"}, want: "héllo, 世界 🎉\u00a0\u200d"},
		{name: "unicode length in characters", query: "SELECT length($1::text)", args: []any{"世界🎉"}, want: int64(3)},
		{name: "quotes", query: "SELECT $1::text", args: []any{`it's "quoted" ''`}, want: `it's "quoted" ''`},
		{name: "backslashes", query: "SELECT $1::text", args: []any{`C:\dir\new \x41 \\ \`}, want: `C:\dir\new \x41 \\ \`},
		{name: "control characters", query: "SELECT $1::text", args: []any{"tab\there\nline\r\x01\x7f"}, want: "tab\there\nline\r\x01\x7f"},
		{name: "the word NULL", query: "SELECT $1::text", args: []any{"NULL"}, want: "NULL"},
		{name: "long", query: "SELECT $1::text", args: []any{long}, want: long},
		{name: "varchar", query: "SELECT $1::varchar(20)", args: []any{"abc"}, want: "abc", dbType: "VARCHAR"},
		{name: "bpchar pads", query: "SELECT $1::char(5)", args: []any{"ab"}, want: "ab   ", dbType: "BPCHAR"},
		{name: "name", query: "SELECT $1::name", args: []any{"some_name"}, want: "some_name", dbType: "NAME"},
		{name: "char", query: `SELECT $1::"char"`, args: []any{"z"}, want: "z", dbType: "CHAR"},
		{name: "string into int", query: "SELECT $1::int4", args: []any{"-17"}, want: int64(-17)},
		{name: "string into uuid", query: "SELECT $1::uuid", args: []any{"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"}, want: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", dbType: "UUID"},
		{name: "string into interval", query: "SELECT $1::interval", args: []any{"1 day 2 hours"}, want: "1 day 02:00:00"},
		{name: "string into int array", query: "SELECT $1::int4[]", args: []any{"{1, 2,3}"}, want: "{1,2,3}"},
		{name: "string into timestamptz", query: "SELECT $1::timestamptz", args: []any{"2024-01-02 03:04:05.5+02"}, want: time.Date(2024, 1, 2, 1, 4, 5, 5e8, time.UTC)},
		{name: "time into text", query: "SELECT $1::text", args: []any{time.Date(2024, 1, 2, 3, 4, 5, 6e8, time.FixedZone("", 19800))}, want: "2024-01-02 03:04:05.6+05:30"},
		{name: "string into inet", query: "SELECT $1::inet", args: []any{"2001:db8::1/64"}, want: "2001:db8::1/64", dbType: "INET"},
	})
}

func TestByteSliceArgumentsAreSentInBinary(t *testing.T) {
	t.Parallel()
	checkValues(t, inUTC, []valueCase{
		{name: "all 256 bytes into bytea", query: "SELECT $1::bytea", args: []any{allBytes()}, want: allBytes(), dbType: "BYTEA", typed: []any{ptr(allBytes()), ptr(string(allBytes()))}},
		{name: "server sees 256 bytes", query: "SELECT length($1::bytea)", args: []any{allBytes()}, want: int64(256)},
		{name: "server sees the same bytes", query: `SELECT $1::bytea = '\x00ff5c27'::bytea`, args: []any{[]byte{0, 0xff, '\\', '\''}}, want: true},
		{name: "empty bytea", query: "SELECT $1::bytea", args: []any{[]byte{}}, want: []byte{}},
		{name: "empty bytea is not NULL", query: "SELECT $1::bytea IS NULL", args: []any{[]byte{}}, want: false},
		{name: "nil is NULL", query: "SELECT $1::bytea", args: []any{[]byte(nil)}, want: nil, typed: []any{ptr([]byte(nil))}},
		{name: "a megabyte", query: "SELECT $1::bytea", args: []any{bytes.Repeat(allBytes(), 4096)}, want: bytes.Repeat(allBytes(), 4096)},
		{name: "named byte type", query: "SELECT $1::bytea", args: []any{blob{1, 2, 3}}, want: []byte{1, 2, 3}},
		{name: "bytes into text", query: "SELECT $1::text", args: []any{[]byte("héllo")}, want: "héllo"},
		{name: "bytes into varchar", query: "SELECT $1::varchar", args: []any{[]byte("x y")}, want: "x y"},
		{name: "bytes into json", query: "SELECT $1::json", args: []any{[]byte(`{"b": 1, "a": [true]}`)}, want: []byte(`{"b": 1, "a": [true]}`), dbType: "JSON"},
		{name: "bytes into jsonb", query: "SELECT $1::jsonb", args: []any{[]byte(`{"b": 1, "a": [true]}`)}, want: []byte(`{"a": [true], "b": 1}`), dbType: "JSONB"},
		{name: "bytes into int4 are its text", query: "SELECT $1::int4 + 1", args: []any{[]byte("41")}, want: int64(42)},
		{name: "16 bytes into uuid", query: "SELECT $1::uuid", args: []any{[]byte{0: 0xab, 15: 1}}, want: "ab000000-0000-0000-0000-000000000001"},
		{name: "bytes into uuid are its text", query: "SELECT $1::uuid", args: []any{[]byte("AB000000-0000-0000-0000-000000000001")}, want: "ab000000-0000-0000-0000-000000000001"},
		{name: "bytes into numeric are its text", query: "SELECT $1::numeric", args: []any{[]byte("1.50")}, want: "1.50"},
		{name: "bytes and an int", query: "SELECT ($1::jsonb ->> 'a') || $2::int8", args: []any{[]byte(`{"a": "x"}`), 5}, want: "x5"},
	})
}

func TestDurationArgumentsAreIntervalsOrNanoseconds(t *testing.T) {
	t.Parallel()
	checkValues(t, inUTC, []valueCase{
		{name: "into interval", query: "SELECT $1::interval", args: []any{90*time.Minute + 1500*time.Millisecond}, want: "01:30:01.5"},
		{name: "rounded to microseconds", query: "SELECT $1::interval", args: []any{time.Nanosecond * 1500}, want: "00:00:00.000002"},
		{name: "negative", query: "SELECT $1::interval", args: []any{-36 * time.Hour}, want: "-36:00:00"},
		{name: "into bigint", query: "SELECT $1::int8", args: []any{time.Second}, want: int64(1e9)},
		{name: "into an interval expression", query: "SELECT now() - $1::interval < now()", args: []any{time.Hour}, want: true},
		{name: "into numeric", query: "SELECT $1::numeric", args: []any{time.Millisecond}, want: "1000000"},
		{name: "a Valuer's duration", query: "SELECT $1::interval", args: []any{timeout{time.Second}}, want: "00:00:01"},
	})
}

// timeout is a Valuer whose value is a time.Duration.
type timeout struct{ d time.Duration }

func (t timeout) Value() (driver.Value, error) { return t.d, nil }

func TestTimeArgumentsRoundTrip(t *testing.T) {
	t.Parallel()
	utc := time.UTC
	ny := mustLoad(t, "America/New_York")
	kolkata := mustLoad(t, "Asia/Kolkata")
	kiritimati := mustLoad(t, "Pacific/Kiritimati")
	tz := func(y int, mo time.Month, d, h, mi, s, ns int, loc *time.Location) any {
		return time.Date(y, mo, d, h, mi, s, ns, loc)
	}
	instant := func(y int, mo time.Month, d, h, mi, s, ns int, loc *time.Location) any {
		return time.Date(y, mo, d, h, mi, s, ns, loc).UTC()
	}
	ts := "SELECT $1::timestamptz"
	cases := []valueCase{
		{name: "UTC", query: ts, args: []any{tz(2024, 3, 31, 2, 30, 0, 123456000, utc)}, want: tz(2024, 3, 31, 2, 30, 0, 123456000, utc), dbType: "TIMESTAMPTZ",
			typed: []any{ptr(time.Date(2024, 3, 31, 2, 30, 0, 123456000, utc)), ptr(sql.NullTime{Time: time.Date(2024, 3, 31, 2, 30, 0, 123456000, utc), Valid: true})}},
		{name: "zero time.Time", query: ts, args: []any{time.Time{}}, want: time.Time{}},
		{name: "Unix epoch", query: ts, args: []any{time.Unix(0, 0)}, want: tz(1970, 1, 1, 0, 0, 0, 0, utc)},
	}
	for _, z := range []string{"America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Chatham", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Australia/Lord_Howe", "Europe/Amsterdam"} {
		loc := mustLoad(t, z)
		for _, when := range []time.Time{time.Date(2024, 1, 15, 9, 8, 7, 654321000, loc), time.Date(2024, 7, 15, 23, 59, 59, 999999000, loc), time.Date(1850, 6, 1, 12, 0, 0, 0, loc)} {
			cases = append(cases, valueCase{name: z + " " + when.Format(time.RFC3339), query: ts, args: []any{when}, want: when.UTC()})
		}
	}
	cases = append(cases, []valueCase{
		{name: "offset with seconds", query: ts, args: []any{tz(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("odd", -(3*3600+30*60+15)))}, want: instant(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", -(3*3600+30*60+15)))},
		{name: "offset beyond 16 hours", query: ts, args: []any{tz(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("far", 17*3600))}, want: instant(2024, 5, 6, 7, 8, 9, 0, time.FixedZone("", 17*3600))},
		// PostgreSQL keeps microseconds and rounds the rest (rint).
		{name: "nanoseconds round up", query: ts, args: []any{tz(2024, 5, 6, 7, 8, 9, 123456789, utc)}, want: tz(2024, 5, 6, 7, 8, 9, 123457000, utc)},
		{name: "nanoseconds round down", query: ts, args: []any{tz(2024, 5, 6, 7, 8, 9, 123456499, utc)}, want: tz(2024, 5, 6, 7, 8, 9, 123456000, utc)},
		{name: "one nanosecond rounds to zero", query: ts, args: []any{tz(2024, 5, 6, 7, 8, 9, 1, utc)}, want: tz(2024, 5, 6, 7, 8, 9, 0, utc)},
		{name: "rounding carries into the next year", query: ts, args: []any{tz(2024, 12, 31, 23, 59, 59, 999999600, utc)}, want: tz(2025, 1, 1, 0, 0, 0, 0, utc)},
		{name: "rounding carries in New York", query: ts, args: []any{tz(2024, 12, 31, 23, 59, 59, 999999900, ny)}, want: instant(2025, 1, 1, 0, 0, 0, 0, ny)},
		{name: "44 BC", query: ts, args: []any{tz(-43, 3, 15, 12, 0, 0, 250000000, utc)}, want: tz(-43, 3, 15, 12, 0, 0, 250000000, utc)},
		{name: "1 BC leap day", query: ts, args: []any{tz(0, 2, 29, 1, 2, 3, 0, utc)}, want: tz(0, 2, 29, 1, 2, 3, 0, utc)},
		{name: "1 AD", query: ts, args: []any{tz(1, 1, 1, 0, 0, 0, 1000, utc)}, want: tz(1, 1, 1, 0, 0, 0, 1000, utc)},
		{name: "BC in Kolkata", query: ts, args: []any{tz(-99, 6, 1, 12, 0, 0, 0, kolkata)}, want: instant(-99, 6, 1, 12, 0, 0, 0, kolkata)},
		{name: "earliest timestamptz", query: ts, args: []any{tz(-4713, 11, 24, 0, 0, 0, 0, utc)}, want: tz(-4713, 11, 24, 0, 0, 0, 0, utc)},
		{name: "year 10000", query: ts, args: []any{tz(10000, 1, 1, 0, 0, 0, 0, utc)}, want: tz(10000, 1, 1, 0, 0, 0, 0, utc)},
		{name: "year 12345", query: ts, args: []any{tz(12345, 6, 7, 8, 9, 10, 11000, kolkata)}, want: instant(12345, 6, 7, 8, 9, 10, 11000, kolkata)},
		{name: "latest timestamptz", query: ts, args: []any{tz(294276, 12, 31, 23, 59, 59, 999999000, utc)}, want: tz(294276, 12, 31, 23, 59, 59, 999999000, utc)},
		// timestamp has no zone: the server drops the offset of the text
		// the driver sends, so the wall clock is kept, not the instant.
		{name: "timestamp keeps the wall clock", query: "SELECT $1::timestamp", args: []any{tz(2024, 1, 15, 10, 0, 0, 500000000, ny)}, want: tz(2024, 1, 15, 10, 0, 0, 500000000, utc), dbType: "TIMESTAMP"},
		{name: "timestamp in Kiritimati", query: "SELECT $1::timestamp", args: []any{tz(2024, 2, 29, 23, 30, 0, 0, kiritimati)}, want: tz(2024, 2, 29, 23, 30, 0, 0, utc)},
		{name: "timestamp BC", query: "SELECT $1::timestamp", args: []any{tz(-43, 3, 15, 1, 2, 3, 4000, utc)}, want: tz(-43, 3, 15, 1, 2, 3, 4000, utc)},
		{name: "timestamp year 12345", query: "SELECT $1::timestamp", args: []any{tz(12345, 1, 2, 3, 4, 5, 0, utc)}, want: tz(12345, 1, 2, 3, 4, 5, 0, utc)},
		{name: "timestamp rounds", query: "SELECT $1::timestamp", args: []any{tz(2024, 1, 1, 0, 0, 0, 999, utc)}, want: tz(2024, 1, 1, 0, 0, 0, 1000, utc)},
		{name: "date of the wall clock", query: "SELECT $1::date", args: []any{tz(2024, 2, 29, 23, 30, 0, 0, kiritimati)}, want: tz(2024, 2, 29, 0, 0, 0, 0, utc), dbType: "DATE"},
		{name: "date BC", query: "SELECT $1::date", args: []any{tz(-43, 3, 15, 0, 0, 0, 0, utc)}, want: tz(-43, 3, 15, 0, 0, 0, 0, utc)},
		{name: "date year 10000", query: "SELECT $1::date", args: []any{tz(10000, 12, 31, 0, 0, 0, 0, utc)}, want: tz(10000, 12, 31, 0, 0, 0, 0, utc)},
		{name: "latest date", query: "SELECT $1::date", args: []any{tz(5874897, 12, 31, 0, 0, 0, 0, utc)}, want: tz(5874897, 12, 31, 0, 0, 0, 0, utc)},
		{name: "time of day", query: "SELECT $1::time", args: []any{tz(2024, 1, 1, 10, 11, 12, 500000000, kolkata)}, want: "10:11:12.5", dbType: "TIME"},
		{name: "time with zone", query: "SELECT $1::timetz", args: []any{tz(2024, 1, 1, 10, 11, 12, 500000000, kolkata)}, want: "10:11:12.5+05:30", dbType: "TIMETZ"},
	}...)
	checkValues(t, inUTC, cases)
}

func TestValuerAndNamedTypeArgumentsAreConverted(t *testing.T) {
	t.Parallel()
	when := time.Date(2024, 7, 4, 12, 0, 0, 0, mustLoad(t, "America/New_York"))
	checkValues(t, inUTC, []valueCase{
		{name: "nil", query: "SELECT $1::text", args: []any{nil}, want: nil, typed: []any{ptr(sql.NullString{}), ptr((*string)(nil))}},
		{name: "nil into int", query: "SELECT $1::int4", args: []any{nil}, want: nil, typed: []any{ptr(sql.NullInt64{}), ptr((*int64)(nil))}},
		{name: "nil is NULL", query: "SELECT $1::int4 IS NULL", args: []any{nil}, want: true},
		{name: "NullString valid", query: "SELECT $1::text", args: []any{sql.NullString{String: "x", Valid: true}}, want: "x", typed: []any{ptr(sql.NullString{String: "x", Valid: true})}},
		{name: "NullString invalid", query: "SELECT $1::text", args: []any{sql.NullString{String: "ignored"}}, want: nil},
		{name: "NullInt64 valid", query: "SELECT $1::int8", args: []any{sql.NullInt64{Int64: math.MinInt64, Valid: true}}, want: int64(math.MinInt64), typed: []any{ptr(sql.NullInt64{Int64: math.MinInt64, Valid: true})}},
		{name: "NullInt64 invalid", query: "SELECT $1::int8", args: []any{sql.NullInt64{Int64: 5}}, want: nil, typed: []any{ptr(sql.NullInt64{})}},
		{name: "NullInt32 valid", query: "SELECT $1::int4", args: []any{sql.NullInt32{Int32: -3, Valid: true}}, want: int64(-3), typed: []any{ptr(sql.NullInt32{Int32: -3, Valid: true})}},
		{name: "NullFloat64 valid", query: "SELECT $1::float8", args: []any{sql.NullFloat64{Float64: -0.5, Valid: true}}, want: -0.5, typed: []any{ptr(sql.NullFloat64{Float64: -0.5, Valid: true})}},
		{name: "NullBool valid", query: "SELECT $1::bool", args: []any{sql.NullBool{Bool: true, Valid: true}}, want: true, typed: []any{ptr(sql.NullBool{Bool: true, Valid: true})}},
		{name: "NullTime valid", query: "SELECT $1::timestamptz", args: []any{sql.NullTime{Time: when, Valid: true}}, want: when.UTC(), typed: []any{ptr(sql.NullTime{Time: when.UTC(), Valid: true})}},
		{name: "NullTime invalid", query: "SELECT $1::timestamptz", args: []any{sql.NullTime{Time: when}}, want: nil, typed: []any{ptr(sql.NullTime{})}},
		{name: "generic Null valid", query: "SELECT $1::int4", args: []any{sql.Null[int32]{V: -5, Valid: true}}, want: int64(-5), typed: []any{ptr(sql.Null[int32]{V: -5, Valid: true})}},
		{name: "generic Null invalid", query: "SELECT $1::int4", args: []any{sql.Null[int32]{V: 9}}, want: nil, typed: []any{ptr(sql.Null[int32]{})}},
		{name: "value receiver Valuer", query: "SELECT $1::text", args: []any{upper("abc")}, want: "ABC"},
		{name: "pointer to Valuer", query: "SELECT $1::text", args: []any{ptr(upper("x"))}, want: "X"},
		{name: "nil pointer Valuer", query: "SELECT $1::text", args: []any{(*upper)(nil)}, want: nil},
		{name: "Valuer returning a named type", query: "SELECT $1::text", args: []any{statusValuer{"active"}}, want: "active"},
		{name: "Valuer returning a slice", query: "SELECT $1::int8[]", args: []any{idList{[]int64{3, 1, 2}}}, want: "{3,1,2}"},
		{name: "named float", query: "SELECT $1::float8", args: []any{celsius(21.5)}, want: 21.5},
		{name: "named int", query: "SELECT $1::int4", args: []any{userID(42)}, want: int64(42), typed: []any{ptr(userID(42))}},
		{name: "named string", query: "SELECT $1::text", args: []any{label("lbl")}, want: "lbl", typed: []any{ptr(label("lbl"))}},
		{name: "pointer", query: "SELECT $1::int8", args: []any{ptr(int64(9))}, want: int64(9)},
		{name: "nil pointer", query: "SELECT $1::int8", args: []any{(*int64)(nil)}, want: nil},
		{name: "pointer to pointer", query: "SELECT $1::text", args: []any{ptr(ptr("deep"))}, want: "deep"},
		{name: "pointer to time", query: "SELECT $1::timestamptz", args: []any{&when}, want: when.UTC()},
		{name: "decimal", query: "SELECT $1::numeric", args: []any{decimal{coef: 12345, exp: -2}}, want: "123.45", typed: []any{ptr(123.45)}},
		{name: "decimal below one", query: "SELECT $1::numeric", args: []any{decimal{neg: true, coef: 5, exp: -3}}, want: "-0.005"},
		{name: "decimal positive exponent", query: "SELECT $1::numeric", args: []any{decimal{coef: 7, exp: 3}}, want: "7000"},
		{name: "decimal max coefficient", query: "SELECT $1::numeric", args: []any{decimal{coef: math.MaxUint64, exp: -10}}, want: "1844674407.3709551615"},
		{name: "decimal NaN", query: "SELECT $1::numeric", args: []any{decimal{form: 2}}, want: "NaN"},
		{name: "decimal +Inf", query: "SELECT $1::numeric", args: []any{decimal{form: 1}}, want: "Infinity"},
		{name: "decimal -Inf", query: "SELECT $1::numeric", args: []any{decimal{form: 1, neg: true}}, want: "-Infinity"},
	})
}

func TestJSONArgumentsRoundTrip(t *testing.T) {
	t.Parallel()
	doc := `{"b": 1,  "a": [1, 2.50, "x\u00e9", null]}`
	checkValues(t, inUTC, []valueCase{
		{name: "json keeps the text", query: "SELECT $1::json", args: []any{json.RawMessage(doc)}, want: []byte(doc), dbType: "JSON", typed: []any{ptr(json.RawMessage(doc)), ptr(doc)}},
		{name: "jsonb normalises", query: "SELECT $1::jsonb", args: []any{json.RawMessage(doc)}, want: []byte(`{"a": [1, 2.50, "xé", null], "b": 1}`), dbType: "JSONB"},
		{name: "jsonb scalar", query: "SELECT $1::jsonb", args: []any{json.RawMessage(`"snow \u2603"`)}, want: []byte(`"snow ☃"`)},
		{name: "jsonb operator", query: "SELECT ($1::jsonb)->>'a'", args: []any{json.RawMessage(`{"a":"x"}`)}, want: "x"},
		{name: "nil RawMessage is NULL", query: "SELECT $1::jsonb", args: []any{json.RawMessage(nil)}, want: nil},
		{name: "bytes into json", query: "SELECT $1::json", args: []any{[]byte(`[1,2]`)}, want: []byte(`[1,2]`)},
		{name: "string into jsonb", query: "SELECT $1::jsonb", args: []any{`{"k": true}`}, want: []byte(`{"k": true}`)},
	})
}

func TestSliceArgumentsAreSentAsArrays(t *testing.T) {
	t.Parallel()
	strs := []string{`a"b`, `c,d`, `{e}`, `f\g`, "NULL", "null", "", " spaced ", "ü", `\`, "x y"}
	strsText := `{"a\"b","c,d","{e}","f\\g","NULL","null",""," spaced ",ü,"\\","x y"}`
	floats := []float64{1.5, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0.1, 5e-324}
	times := []time.Time{time.Date(2024, 1, 2, 3, 4, 5, 123456000, mustLoad(t, "Asia/Kolkata")), time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC)}
	checkValues(t, inUTC, []valueCase{
		{name: "[]int64", query: "SELECT $1::int8[]", args: []any{[]int64{1, -2, math.MaxInt64, math.MinInt64}}, want: "{1,-2,9223372036854775807,-9223372036854775808}", dbType: "_INT8"},
		{name: "[]int32 into int[]", query: "SELECT $1::int[]", args: []any{[]int32{math.MinInt32, 0, math.MaxInt32}}, want: "{-2147483648,0,2147483647}", dbType: "_INT4"},
		{name: "[]int64 into int[]", query: "SELECT $1::int[]", args: []any{[]int64{7, 8}}, want: "{7,8}"},
		{name: "[]uint64 into numeric[]", query: "SELECT $1::numeric[]", args: []any{[]uint64{math.MaxUint64}}, want: "{18446744073709551615}", dbType: "_NUMERIC"},
		{name: "[]string", query: "SELECT $1::text[]", args: []any{strs}, want: strsText, dbType: "_TEXT"},
		{name: "[]string elements", query: "SELECT u FROM unnest($1::text[]) u", args: []any{strs}, want: rowsOf(toAny(strs))},
		{name: "[]string has no NULL", query: "SELECT count(*) FROM unnest($1::text[]) u WHERE u IS NULL", args: []any{strs}, want: int64(0)},
		{name: "[]float64", query: "SELECT $1::float8[]", args: []any{floats}, want: "{1.5,NaN,Infinity,-Infinity,-0,0.1,5e-324}", dbType: "_FLOAT8"},
		{name: "[]float64 elements", query: "SELECT u FROM unnest($1::float8[]) u", args: []any{floats}, want: rowsOf(toAny(floats))},
		{name: "[]float32", query: "SELECT $1::float4[]", args: []any{[]float32{0.1, float32(math.Inf(-1))}}, want: "{0.1,-Infinity}"},
		{name: "[]bool", query: "SELECT $1::bool[]", args: []any{[]bool{true, false}}, want: "{t,f}", dbType: "_BOOL"},
		{name: "[][]byte", query: "SELECT $1::bytea[]", args: []any{[][]byte{{0, 1, 0xff}, nil, {}}}, want: `{"\\x0001ff",NULL,"\\x"}`, dbType: "_BYTEA"},
		{name: "[][]byte elements", query: "SELECT u FROM unnest($1::bytea[]) u", args: []any{[][]byte{allBytes(), nil, {}}}, want: rowsOf{allBytes(), nil, []byte{}}},
		{name: "[]time.Time", query: "SELECT $1::timestamptz[]", args: []any{times}, want: `{"2024-01-01 21:34:05.123456+00","0044-03-15 00:00:00+00 BC"}`, dbType: "_TIMESTAMPTZ"},
		{name: "[]time.Time elements", query: "SELECT u FROM unnest($1::timestamptz[]) u", args: []any{times}, want: rowsOf{times[0].UTC(), times[1]}},
		{name: "[]any with nil", query: "SELECT $1::int8[]", args: []any{[]any{int64(1), nil, 3, "4"}}, want: "{1,NULL,3,4}"},
		{name: "[]any into text[]", query: "SELECT $1::text[]", args: []any{[]any{"x", nil, 2.5, true}}, want: "{x,NULL,2.5,t}"},
		{name: "[]*string", query: "SELECT $1::text[]", args: []any{[]*string{ptr("a"), nil}}, want: "{a,NULL}"},
		{name: "[]sql.NullInt64", query: "SELECT $1::int8[]", args: []any{[]sql.NullInt64{{Int64: 1, Valid: true}, {}}}, want: "{1,NULL}"},
		{name: "[]json.RawMessage", query: "SELECT $1::jsonb[]", args: []any{[]json.RawMessage{json.RawMessage(`{"a":"b\"c"}`), nil}}, want: `{"{\"a\": \"b\\\"c\"}",NULL}`},
		{name: "[]decimal", query: "SELECT $1::numeric[]", args: []any{[]decimal{{coef: 12345, exp: -2}, {form: 2}}}, want: "{123.45,NaN}"},
		{name: "2-D", query: "SELECT $1::int8[]", args: []any{[][]int64{{1, 2, 3}, {4, 5, 6}}}, want: "{{1,2,3},{4,5,6}}"},
		{name: "2-D dimensions", query: "SELECT array_dims($1::int8[])", args: []any{[][]int64{{1, 2, 3}, {4, 5, 6}}}, want: "[1:2][1:3]"},
		{name: "2-D strings", query: "SELECT $1::text[]", args: []any{[][]string{{"a", "b"}, {"NULL", ""}}}, want: `{{a,b},{"NULL",""}}`},
		{name: "empty slice", query: "SELECT $1::int8[]", args: []any{[]int64{}}, want: "{}"},
		{name: "empty slice has no dimensions", query: "SELECT cardinality($1::int8[])", args: []any{[]int64{}}, want: int64(0)},
		{name: "nil slice is NULL", query: "SELECT $1::int8[]", args: []any{[]int64(nil)}, want: nil},
		{name: "named slice", query: "SELECT $1::int8[]", args: []any{idSlice{5, 6}}, want: "{5,6}"},
		{name: "= ANY with cast", query: "SELECT $1::int8 = ANY($2::int8[])", args: []any{5, []int64{4, 5}}, want: true},
		{name: "= ANY without a match", query: "SELECT $1::int8 = ANY($2::int8[])", args: []any{6, []int64{4, 5}}, want: false},
		{name: "= ANY without cast", query: "SELECT 3 = ANY($1)", args: []any{[]int64{1, 2, 3}}, want: true},
		{name: "string = ANY", query: "SELECT 'NULL' = ANY($1::text[])", args: []any{strs}, want: true},
		{name: "array element", query: "SELECT ($1::text[])[1]", args: []any{strs}, want: strs[0]},
	})
}

func TestSliceArgumentsMatchTableRowsWithAny(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "id int4, name text, born date")
	names := []any{`a"b`, "NULL", "", nil, "plain"}
	for i, name := range names {
		if _, err := db.Exec("INSERT INTO "+tbl+" VALUES ($1, $2, $3)", i+1, name, time.Date(2000+i, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	checkValues(t, inUTC, []valueCase{
		{name: "ids", query: "SELECT count(*) FROM " + tbl + " WHERE id = ANY($1)", args: []any{[]int64{1, 3, 99}}, want: int64(2)},
		{name: "int32 ids", query: "SELECT id FROM " + tbl + " WHERE id = ANY($1) ORDER BY id", args: []any{[]int32{5, 2}}, want: rowsOf{int64(2), int64(5)}},
		{name: "names", query: "SELECT id FROM " + tbl + " WHERE name = ANY($1) ORDER BY id", args: []any{[]string{`a"b`, "NULL", ""}}, want: rowsOf{int64(1), int64(2), int64(3)}},
		{name: "NULL matches nothing", query: "SELECT count(*) FROM " + tbl + " WHERE name = ANY($1)", args: []any{[]*string{nil}}, want: int64(0)},
		{name: "<> ALL", query: "SELECT id FROM " + tbl + " WHERE name <> ALL($1) ORDER BY id", args: []any{[]string{"NULL", "", "plain"}}, want: int64(1)},
		{name: "dates", query: "SELECT id FROM " + tbl + " WHERE born = ANY($1) ORDER BY id", args: []any{[]time.Time{time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)}}, want: int64(2)},
	})
}

func TestUnsupportedArgumentsFailBeforeAnythingIsSent(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	db.SetMaxOpenConns(1)
	tbl := newTable(t, db, "a int, b text")
	insert := "INSERT INTO " + tbl + " VALUES ($1, $2)"
	bad := []struct {
		name  string
		v     any
		wants []string // substrings of the error
		check func(error) bool
	}{
		{name: "struct", v: struct{ X int }{1}, wants: []string{"$2", "struct { X int }"}},
		{name: "channel", v: make(chan int), wants: []string{"$2", "chan int"}},
		{name: "map", v: map[string]int{"a": 1}, wants: []string{"$2", "map[string]int"}},
		{name: "func", v: func() {}, wants: []string{"$2", "func()"}},
		{name: "complex", v: complex(1, 2), wants: []string{"$2", "complex128"}},
		{name: "slice of structs", v: []struct{ X int }{{1}}, wants: []string{"$2", "[]struct { X int }"}},
		{name: "ragged slice", v: [][]int64{{1, 2}, {3}}, wants: []string{"pgpipe: argument $2", "[][]int64", "ragged"},
			check: func(err error) bool {
				var ae *pgpipe.ArgError
				return errors.As(err, &ae) && ae.Position == 2
			}},
		{name: "bad element", v: []any{"x", struct{}{}}, wants: []string{"$2", "element v[1]", "struct {}"},
			check: func(err error) bool {
				var ae *pgpipe.ArgError
				return errors.As(err, &ae) && ae.Position == 2
			}},
		{name: "failing Valuer", v: failingValuer{}, wants: []string{"$2", errValuer.Error()},
			check: func(err error) bool { return errors.Is(err, errValuer) }},
	}
	for _, b := range bad {
		for _, p := range argPaths {
			where := b.name + ", " + p.name
			err := aroundGoodInserts(t, db, insert, where, func(tx *sql.Tx) error { return p.run(tx, insert, 2, b.v) })
			var ae *pgpipe.ArgError
			switch {
			case err == nil:
				t.Errorf("%s: no error", where)
				continue
			case b.check != nil && !b.check(err):
				t.Errorf("%s: error %q (%T) is not the expected kind", where, err, err)
			case !errors.As(err, &ae) || ae.Position != 2 || !strings.HasPrefix(err.Error(), "pgpipe: argument $2: "):
				// Not database/sql's "sql: converting argument $2 type: ...".
				t.Errorf("%s: error %q is not a pgpipe.ArgError for $2", where, err)
			}
			for _, w := range b.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q does not say %q", where, err, w)
				}
			}
		}
	}
	var total, twos int64
	if err := db.QueryRow("SELECT count(*), count(*) FILTER (WHERE a = 2) FROM "+tbl).Scan(&total, &twos); err != nil {
		t.Fatalf("the connection does not work after the argument errors: %v", err)
	}
	if want := int64(2 * len(bad) * len(argPaths)); total != want || twos != 0 {
		t.Errorf("table has %d rows, %d of them from a failed statement; want %d and 0", total, twos, want)
	}
}

func TestArgumentsTheServerRejectsReturnItsErrorAndTheConnectionSurvives(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		query      string
		bad, good  any
		want       any
		code, text string
	}{
		{"uint64 above int8", "SELECT $1::int8", uint64(math.MaxUint64), uint64(5), int64(5), "22003", "out of range"},
		{"int above int4", "SELECT $1::int4", int64(1) << 40, int64(-1), int64(-1), "22003", "out of range"},
		{"float into int", "SELECT $1::int4", 1.5, 2.0, int64(2), "22P02", "integer"},
		// A []byte into jsonb is JSON text (issue 12): text that is no JSON
		// is the server's error.
		{"[]byte into jsonb", "SELECT $1::jsonb", []byte(`{"a":`), []byte(`{"a":1}`), []byte(`{"a": 1}`), "22P02", "json"},
		{"NUL in a string", "SELECT $1::text", "a\x00b", "ab", "ab", "22021", "0x00"},
		{"invalid UTF-8", "SELECT $1::text", "\xff\xfe", "ok", "ok", "22021", "UTF8"},
		{"time beyond timestamptz", "SELECT $1::timestamptz", time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "22008", "out of range"},
		{"string into uuid", "SELECT $1::uuid", "not-a-uuid", "00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000001", "22P02", "uuid"},
	}
	for _, m := range formatModes {
		if m.explicit || m.simple {
			continue // runs with arguments, through the connection
		}
		withModeConn(t, server.dsn, m, inUTC, func(conn *sql.Conn) {
			ctx := context.Background()
			for _, c := range cases {
				// Good runs first, so that the failing Bind is on a named
				// statement where the mode prepares one.
				expectEachRun(t, m, c.name+", good argument", conn, c.query, []any{c.good}, c.want)
				var got any
				err := conn.QueryRowContext(ctx, c.query, c.bad).Scan(&got)
				var pgErr *pgpipe.Error
				switch {
				case !errors.As(err, &pgErr):
					t.Errorf("%s, %s: got %s, %v (%T); want a *pgpipe.Error", c.name, m.name, show(got), err, err)
				case c.code != "" && pgErr.Code != c.code || !strings.Contains(pgErr.Message, c.text):
					t.Errorf("%s, %s: error %q (SQLSTATE %s); want SQLSTATE %q mentioning %q", c.name, m.name, pgErr.Message, pgErr.Code, c.code, c.text)
				}
				if err := conn.QueryRowContext(ctx, c.query, c.good).Scan(&got); err != nil || !sameValue(got, c.want) {
					t.Errorf("%s, %s: after the error the connection gave %s, %v; want %s", c.name, m.name, show(got), err, show(c.want))
				}
			}
		})
	}
}

func TestServerValuesDecodeIdenticallyInEveryFormat(t *testing.T) {
	t.Parallel()
	utc := time.UTC
	all := "SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex') FROM generate_series(0, 255) i"
	cases := []valueCase{
		{name: "int2 min", query: "SELECT (-32768)::int2", want: int64(math.MinInt16), dbType: "INT2", typed: []any{ptr(int16(math.MinInt16)), ptr("-32768"), ptr(sql.NullInt16{Int16: math.MinInt16, Valid: true})}},
		{name: "int4 max", query: "SELECT 2147483647::int4", want: int64(math.MaxInt32), dbType: "INT4", typed: []any{ptr(int32(math.MaxInt32)), ptr(uint32(math.MaxInt32))}},
		{name: "int8 min", query: "SELECT (-9223372036854775808)::int8", want: int64(math.MinInt64), dbType: "INT8", typed: []any{ptr(int64(math.MinInt64)), ptr(float64(math.MinInt64))}},
		{name: "oid", query: "SELECT 4294967295::oid", want: int64(math.MaxUint32), dbType: "OID"},
		{name: "int NULL", query: "SELECT NULL::int4", want: nil, typed: []any{ptr(sql.NullInt64{}), ptr((*int32)(nil))}},
		{name: "float4 max", query: "SELECT 3.4028235e38::float4", want: float64(float32(math.MaxFloat32)), dbType: "FLOAT4", typed: []any{ptr(float32(math.MaxFloat32))}},
		{name: "float4 denormal", query: "SELECT '1.4e-45'::float4", want: float64(float32(math.SmallestNonzeroFloat32))},
		{name: "float4 NaN", query: "SELECT 'NaN'::float4", want: math.NaN()},
		{name: "float4 -Infinity", query: "SELECT '-Infinity'::float4", want: math.Inf(-1)},
		{name: "float4 -0", query: "SELECT '-0'::float4", want: math.Copysign(0, -1)},
		{name: "float8 pi", query: "SELECT pi()", want: math.Pi, dbType: "FLOAT8"},
		{name: "float8 denormal", query: "SELECT '4.9e-324'::float8", want: math.SmallestNonzeroFloat64},
		{name: "float8 NaN", query: "SELECT 'NaN'::float8", want: math.NaN(), typed: []any{ptr(math.NaN()), ptr("NaN")}},
		{name: "float8 Infinity", query: "SELECT 'Infinity'::float8", want: math.Inf(1)},
		{name: "float8 -0", query: "SELECT '-0'::float8", want: math.Copysign(0, -1)},
		{name: "numeric exact", query: "SELECT 12345678901234567890.123456789::numeric", want: "12345678901234567890.123456789", dbType: "NUMERIC", typed: []any{ptr("12345678901234567890.123456789")}},
		{name: "numeric keeps its scale", query: "SELECT 1.500::numeric", want: "1.500", typed: []any{ptr(1.5)}},
		{name: "numeric tiny", query: "SELECT '-1.5e-20'::numeric", want: "-0.000000000000000000015"},
		{name: "numeric huge", query: "SELECT 1e40::numeric", want: "1" + strings.Repeat("0", 40)},
		{name: "numeric(10,2) rounds", query: "SELECT 3.14159::numeric(10,2)", want: "3.14"},
		{name: "numeric NaN", query: "SELECT 'NaN'::numeric", want: "NaN"},
		{name: "numeric Infinity", query: "SELECT 'Infinity'::numeric", want: "Infinity"},
		{name: "numeric -Infinity", query: "SELECT '-Infinity'::numeric", want: "-Infinity"},
		{name: "bool", query: "SELECT true", want: true, dbType: "BOOL", typed: []any{ptr(true), ptr(sql.NullBool{Bool: true, Valid: true})}},
		{name: "bool false", query: "SELECT 1 > 2", want: false},
		{name: "text", query: "SELECT 'héllo'::text", want: "héllo", dbType: "TEXT", typed: []any{ptr([]byte("héllo"))}},
		{name: "literal", query: "SELECT 'lit'", want: "lit", dbType: "TEXT"},
		{name: "varchar", query: "SELECT 'abc'::varchar(5)", want: "abc", dbType: "VARCHAR"},
		{name: "bpchar", query: "SELECT 'ab'::char(4)", want: "ab  ", dbType: "BPCHAR"},
		{name: "name", query: "SELECT 'pgpipe'::name", want: "pgpipe", dbType: "NAME"},
		{name: "char", query: `SELECT 'q'::"char"`, want: "q", dbType: "CHAR"},
		{name: "text NULL", query: "SELECT NULL::text", want: nil, typed: []any{ptr(sql.NullString{})}},
		{name: "bytea", query: `SELECT '\x00ff10'::bytea`, want: []byte{0, 0xff, 0x10}, dbType: "BYTEA", typed: []any{ptr([]byte{0, 0xff, 0x10})}},
		{name: "bytea empty", query: "SELECT ''::bytea", want: []byte{}},
		{name: "bytea all bytes", query: all, want: allBytes()},
		{name: "date", query: "SELECT '2024-02-29'::date", want: time.Date(2024, 2, 29, 0, 0, 0, 0, utc), dbType: "DATE", typed: []any{ptr(time.Date(2024, 2, 29, 0, 0, 0, 0, utc))}},
		{name: "date BC", query: "SELECT '0044-03-15 BC'::date", want: time.Date(-43, 3, 15, 0, 0, 0, 0, utc)},
		{name: "date latest", query: "SELECT '5874897-12-31'::date", want: time.Date(5874897, 12, 31, 0, 0, 0, 0, utc)},
		{name: "date infinity", query: "SELECT 'infinity'::date", want: "infinity", infinite: true, typed: []any{ptr("infinity")}},
		{name: "date -infinity", query: "SELECT '-infinity'::date", want: "-infinity", infinite: true},
		{name: "timestamp", query: "SELECT '2024-01-02 03:04:05.678901'::timestamp", want: time.Date(2024, 1, 2, 3, 4, 5, 678901000, utc), dbType: "TIMESTAMP"},
		{name: "timestamp BC", query: "SELECT '0001-01-01 00:00:00.000001 BC'::timestamp", want: time.Date(0, 1, 1, 0, 0, 0, 1000, utc)},
		{name: "timestamp earliest", query: "SELECT '4714-11-24 00:00:00 BC'::timestamp", want: time.Date(-4713, 11, 24, 0, 0, 0, 0, utc)},
		{name: "timestamp year 10000", query: "SELECT '10000-01-01 00:00:00'::timestamp", want: time.Date(10000, 1, 1, 0, 0, 0, 0, utc)},
		{name: "timestamp latest", query: "SELECT '294276-12-31 23:59:59.999999'::timestamp", want: time.Date(294276, 12, 31, 23, 59, 59, 999999000, utc)},
		{name: "timestamp infinity", query: "SELECT 'infinity'::timestamp", want: "infinity", infinite: true},
		{name: "timestamptz", query: "SELECT '2024-01-02 03:04:05.678901+05:30'::timestamptz", want: time.Date(2024, 1, 1, 21, 34, 5, 678901000, utc), dbType: "TIMESTAMPTZ"},
		{name: "timestamptz -infinity", query: "SELECT '-infinity'::timestamptz", want: "-infinity", infinite: true, typed: []any{ptr("-infinity")}},
		{name: "time", query: "SELECT '12:34:56.789'::time", want: "12:34:56.789", dbType: "TIME"},
		{name: "time 24:00", query: "SELECT '24:00'::time", want: "24:00:00"},
		{name: "timetz", query: "SELECT '12:34:56+05:30'::timetz", want: "12:34:56+05:30", dbType: "TIMETZ"},
		{name: "interval", query: "SELECT '1 year 2 mons 3 days 04:05:06.7'::interval", want: "1 year 2 mons 3 days 04:05:06.7", dbType: "INTERVAL"},
		{name: "uuid", query: "SELECT 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid", want: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", dbType: "UUID", typed: []any{ptr([]byte("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))}},
		{name: "json", query: `SELECT '{"b":1,  "a":2}'::json`, want: []byte(`{"b":1,  "a":2}`), dbType: "JSON", typed: []any{ptr(json.RawMessage(`{"b":1,  "a":2}`)), ptr(`{"b":1,  "a":2}`)}},
		{name: "jsonb", query: `SELECT '{"b":1, "a":[true,null]}'::jsonb`, want: []byte(`{"a": [true, null], "b": 1}`), dbType: "JSONB"},
		{name: "jsonb scalar", query: `SELECT '"x"'::jsonb`, want: []byte(`"x"`)},
		{name: "int4[]", query: "SELECT ARRAY[1, NULL, 3]::int4[]", want: "{1,NULL,3}", dbType: "_INT4"},
		{name: "text[]", query: `SELECT ARRAY['a b', NULL, '"q"', '']::text[]`, want: `{"a b",NULL,"\"q\"",""}`, dbType: "_TEXT"},
		{name: "2-D int8[]", query: "SELECT '{{1,2},{3,4}}'::int8[]", want: "{{1,2},{3,4}}", dbType: "_INT8"},
		{name: "array with bounds", query: "SELECT '[0:1]={7,8}'::int4[]", want: "[0:1]={7,8}"},
		{name: "inet", query: "SELECT '192.168.0.1/24'::inet", want: "192.168.0.1/24", dbType: "INET"},
		{name: "inet v6", query: "SELECT '::1'::inet", want: "::1"},
		{name: "cidr", query: "SELECT '10.0.0.0/8'::cidr", want: "10.0.0.0/8", dbType: "CIDR"},
		{name: "macaddr", query: "SELECT '08:00:2B:01:02:03'::macaddr", want: "08:00:2b:01:02:03", dbType: "MACADDR"},
		{name: "money", query: "SELECT 12.34::money", want: "$12.34", dbType: "MONEY"},
		{name: "bit", query: "SELECT B'101'::bit(3)", want: "101", dbType: "BIT"},
		{name: "varbit", query: "SELECT B'1'::varbit", want: "1", dbType: "VARBIT"},
		{name: "xml", query: "SELECT '<a>x</a>'::xml", want: "<a>x</a>", dbType: "XML"},
		{name: "int4range", query: "SELECT int4range(1, 5)", want: "[1,5)", dbType: "INT4RANGE"},
		{name: "point", query: "SELECT point(1, 2)", want: "(1,2)", dbType: "POINT"},
		{name: "record", query: "SELECT ROW(1, 'a b', NULL::int)", want: `(1,"a b",)`, dbType: "RECORD"},
		{name: "void", query: "SELECT pg_sleep(0)", want: nil, dbType: "VOID"},
	}
	for _, typ := range []string{"int2", "int4", "int8", "oid", "float4", "float8", "bool", "bytea", "date", "timestamp", "timestamptz", "uuid", "json", "jsonb", "numeric"} {
		cases = append(cases, valueCase{name: "NULL " + typ, query: "SELECT NULL::" + typ, want: nil})
	}
	checkValues(t, []string{"SET TimeZone = 'UTC'", "SET lc_monetary = 'C'", "SET IntervalStyle = 'postgres'"}, cases)
}

func TestByteaEscapeOutputDecodesLikeHex(t *testing.T) {
	t.Parallel()
	all := "SELECT decode(string_agg(lpad(to_hex(i), 2, '0'), '' ORDER BY i), 'hex') FROM generate_series(0, 255) i"
	checkValues(t, []string{"SET bytea_output = 'escape'"}, []valueCase{
		{name: "all bytes", query: all, want: allBytes()},
		{name: "backslashes", query: `SELECT '\x5c5c7a5c'::bytea`, want: []byte(`\\z\`)},
		{name: "empty", query: "SELECT ''::bytea", want: []byte{}},
		{name: "argument", query: "SELECT $1::bytea", args: []any{allBytes()}, want: allBytes()},
		{name: "array", query: "SELECT ARRAY['\\x00'::bytea]", want: `{"\\000"}`},
	})
}

func TestEnumDomainAndCompositeValuesDecode(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	n := fmt.Sprintf("%d_%d", os.Getpid(), tableSeq.Add(1))
	mood, posint, email, pair := "mood_"+n, "posint_"+n, "email_"+n, "pair_"+n
	for _, ddl := range []string{
		"CREATE TYPE " + mood + " AS ENUM ('sad', 'happy')",
		"CREATE DOMAIN " + posint + " AS int4 CHECK (VALUE > 0)",
		"CREATE DOMAIN " + email + " AS text CHECK (VALUE LIKE '%@%')",
		"CREATE TYPE " + pair + " AS (a int, b text)",
	} {
		if _, err := db.Exec(ddl); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		cdb, err := sql.Open("pgpipe", server.dsn)
		if err == nil {
			_, _ = cdb.Exec("DROP TYPE IF EXISTS " + mood + ", " + pair + " CASCADE; DROP DOMAIN IF EXISTS " + posint + ", " + email + " CASCADE")
			_ = cdb.Close()
		}
	})
	tbl := newTable(t, db, "m "+mood+", p "+posint+", e "+email+", c "+pair)
	if _, err := db.Exec("INSERT INTO "+tbl+" VALUES ($1, $2, $3, ROW($4, $5))", "happy", 7, "a@b", 1, "x y"); err != nil {
		t.Fatal(err)
	}
	checkValues(t, inUTC, []valueCase{
		{name: "enum", query: "SELECT 'happy'::" + mood, want: "happy", dbType: ""},
		{name: "enum argument", query: "SELECT $1::" + mood, args: []any{"sad"}, want: "sad"},
		{name: "enum array", query: "SELECT ARRAY['sad', 'happy']::" + mood + "[]", want: "{sad,happy}"},
		{name: "enum column", query: "SELECT m FROM " + tbl, want: "happy"},
		// A domain is described with its base type's OID.
		{name: "domain over int", query: "SELECT 5::" + posint, want: int64(5), dbType: "INT4", typed: []any{ptr(5)}},
		{name: "domain argument", query: "SELECT $1::" + posint, args: []any{int16(9)}, want: int64(9)},
		{name: "domain column", query: "SELECT p FROM " + tbl, want: int64(7), dbType: "INT4"},
		{name: "domain over text", query: "SELECT e FROM " + tbl, want: "a@b", dbType: "TEXT"},
		{name: "composite", query: "SELECT c FROM " + tbl, want: `(1,"x y")`},
		{name: "composite field", query: "SELECT (c).a FROM " + tbl, want: int64(1), dbType: "INT4"},
		{name: "composite argument", query: "SELECT ($1::" + pair + ").b", args: []any{`(2,"a,b")`}, want: "a,b"},
		{name: "row of a table", query: "SELECT t FROM " + tbl + " t", want: `(happy,7,a@b,"(1,""x y"")")`},
	})
}

func TestTimestamptzComesBackInTheSessionTimeZone(t *testing.T) {
	t.Parallel()
	for _, zone := range []string{"Asia/Kolkata", "America/New_York", "Europe/Amsterdam", "Australia/Lord_Howe"} {
		loc := mustLoad(t, zone)
		at := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
			return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
		}
		checkValues(t, []string{"SET TimeZone = '" + zone + "'"}, []valueCase{
			{name: zone + " summer", query: "SELECT '2024-07-01 12:00:00.5+00'::timestamptz", want: at(2024, 7, 1, 12, 0, 0, 5e8).In(loc), typed: []any{ptr(at(2024, 7, 1, 12, 0, 0, 5e8).In(loc))}},
			{name: zone + " first 01:30 of New York's fall-back", query: "SELECT '2024-11-03 05:30:00+00'::timestamptz", want: at(2024, 11, 3, 5, 30, 0, 0).In(loc)},
			{name: zone + " second 01:30 of New York's fall-back", query: "SELECT '2024-11-03 06:30:00+00'::timestamptz", want: at(2024, 11, 3, 6, 30, 0, 0).In(loc)},
			{name: zone + " winter", query: "SELECT '2024-01-01 00:00:00+00'::timestamptz", want: at(2024, 1, 1, 0, 0, 0, 0).In(loc)},
			{name: zone + " argument", query: "SELECT $1::timestamptz", args: []any{at(2024, 3, 31, 1, 30, 0, 1000)}, want: at(2024, 3, 31, 1, 30, 0, 1000).In(loc)},
			{name: zone + " local mean time", query: "SELECT '1850-06-01 12:00:00+00'::timestamptz", want: at(1850, 6, 1, 12, 0, 0, 0).In(loc)},
			{name: zone + " BC", query: "SELECT '0044-03-15 12:00:00+00 BC'::timestamptz", want: at(-43, 3, 15, 12, 0, 0, 0).In(loc)},
			{name: zone + " year 10000", query: "SELECT '10000-01-01 00:00:00+00'::timestamptz", want: at(10000, 1, 1, 0, 0, 0, 0).In(loc)},
			{name: zone + " timestamp stays UTC", query: "SELECT '2024-07-01 12:00:00'::timestamp", want: at(2024, 7, 1, 12, 0, 0, 0)},
			{name: zone + " date stays UTC", query: "SELECT '2024-07-01'::date", want: at(2024, 7, 1, 0, 0, 0, 0)},
			{name: zone + " now is now", query: "SELECT $1::timestamptz = '2024-07-01 12:00:00+00'", args: []any{at(2024, 7, 1, 12, 0, 0, 0).In(loc)}, want: true},
		})
	}
}

// A zone Go cannot load (here a POSIX offset the server names
// "<+05:45>-05:45") gives timestamptz values the offset the server prints.
func TestTimestamptzInAZoneGoCannotLoadKeepsTheServerOffset(t *testing.T) {
	t.Parallel()
	fixed := time.FixedZone("", 5*3600+45*60)
	at := time.Date(2024, 7, 1, 12, 0, 0, 123456000, time.UTC)
	checkValues(t, []string{"SET TIME ZONE INTERVAL '+05:45' HOUR TO MINUTE"}, []valueCase{
		{name: "literal", query: "SELECT '2024-07-01 12:00:00.123456+00'::timestamptz", want: at.In(fixed)},
		{name: "argument", query: "SELECT $1::timestamptz", args: []any{at}, want: at.In(fixed)},
		{name: "BC", query: "SELECT '0044-03-15 12:00:00+00 BC'::timestamptz", want: time.Date(-43, 3, 15, 12, 0, 0, 0, time.UTC).In(fixed)},
	})
}

// The TimeZone can change under a prepared statement whose timestamptz
// column already comes in binary; every value follows the current zone.
func TestTimestamptzFollowsTimeZoneChangesOnOneConnection(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	q := "SELECT $1::timestamptz"
	phases := []struct {
		set string
		loc *time.Location
	}{
		{"SET TimeZone = 'UTC'", time.UTC},
		{"SET TimeZone = 'Asia/Kolkata'", mustLoad(t, "Asia/Kolkata")},
		{"SET TIME ZONE INTERVAL '-03:30' HOUR TO MINUTE", time.FixedZone("", -(3*3600 + 30*60))},
		{"SET TimeZone = 'America/New_York'", mustLoad(t, "America/New_York")},
		{"RESET TimeZone", nil},
	}
	for _, m := range formatModes {
		if m.simple {
			continue // runs with arguments
		}
		withModeConn(t, server.dsn, m, nil, func(conn *sql.Conn) {
			ctx := context.Background()
			var defaultZone string
			if err := conn.QueryRowContext(ctx, "SHOW TimeZone").Scan(&defaultZone); err != nil {
				t.Fatal(err)
			}
			st, err := conn.PrepareContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for _, p := range phases {
				if _, err := conn.ExecContext(ctx, p.set); err != nil {
					t.Fatalf("%s: %v", p.set, err)
				}
				loc := p.loc
				if loc == nil {
					loc = sessionLocation(t, defaultZone)
				}
				var db rowQueryer = conn
				if m.explicit {
					db = stmtQueryer{st}
				}
				expectEachRun(t, m, "after "+p.set, db, q, []any{at}, at.In(loc))
			}
		})
	}
}

// A TimeZone set for one transaction only (rolled back, or SET LOCAL)
// ends with it; values after it are in the session's zone again.
func TestTimestamptzFollowsATimeZoneThatEndsWithItsTransaction(t *testing.T) {
	t.Parallel()
	kolkata, tokyo := mustLoad(t, "Asia/Kolkata"), mustLoad(t, "Asia/Tokyo")
	at := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	q := "SELECT $1::timestamptz"
	steps := []struct {
		set    string
		commit bool
		after  *time.Location
	}{
		{"SET TimeZone = 'Asia/Kolkata'", false, tokyo},
		{"SET LOCAL TimeZone = 'Asia/Kolkata'", true, tokyo},
		{"SET LOCAL TimeZone = 'Asia/Kolkata'", false, tokyo},
		{"SET TimeZone = 'Asia/Kolkata'", true, kolkata},
	}
	for _, m := range formatModes {
		if m.simple || m.explicit {
			continue // runs with arguments, through the connection
		}
		withModeConn(t, server.dsn, m, []string{"SET TimeZone = 'Asia/Tokyo'"}, func(conn *sql.Conn) {
			ctx := context.Background()
			for _, st := range steps {
				tx, err := conn.BeginTx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.ExecContext(ctx, st.set); err != nil {
					t.Fatal(err)
				}
				expectEachRun(t, m, "inside "+st.set, tx, q, []any{at}, at.In(kolkata))
				end := tx.Rollback
				if st.commit {
					end = tx.Commit
				}
				if err := end(); err != nil {
					t.Fatal(err)
				}
				expectEachRun(t, m, fmt.Sprintf("after %s and commit=%t", st.set, st.commit), conn, q, []any{at}, at.In(st.after))
			}
		})
	}
}

func TestTimestamptzUsesTheTimeZoneOfTheDSN(t *testing.T) {
	t.Parallel()
	tokyo := mustLoad(t, "Asia/Tokyo")
	at := time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)
	checkValuesOn(t, dsn(t, "timezone=Asia/Tokyo"), nil, []valueCase{
		{name: "setting", query: "SHOW TimeZone", want: "Asia/Tokyo"},
		{name: "literal", query: "SELECT '2024-07-01 12:00:00+00'::timestamptz", want: at.In(tokyo)},
		{name: "argument", query: "SELECT $1::timestamptz", args: []any{at}, want: at.In(tokyo)},
	})
}

// Text-format floats are exact only when extra_float_digits is at least 1
// (internal/codec/decode.go). A role or database default of 0, the setting of older
// servers and of some legacy installations, must not make the unnamed
// (text) executions of a query return other values than the prepared
// (binary) ones.
func TestFloatsAreExactWhenTheRoleDefaultsToFewerFloatDigits(t *testing.T) {
	c := needCluster(t, "its superuser without a password and its database named pgpipe")
	t.Parallel()
	role := fmt.Sprintf("floaty_%d_%d", os.Getpid(), tableSeq.Add(1))
	db := openDB(t)
	if _, err := db.Exec("CREATE ROLE " + role + " LOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cdb, err := sql.Open("pgpipe", server.dsn); err == nil {
			_, _ = cdb.Exec("DROP ROLE IF EXISTS " + role)
			_ = cdb.Close()
		}
	})
	if _, err := db.Exec("ALTER ROLE " + role + " SET extra_float_digits = 0"); err != nil {
		t.Fatal(err)
	}
	checkValuesOn(t, c.DSN(role, "", "dbname=pgpipe"), nil, []valueCase{
		{name: "third", query: "SELECT 1::float8 / 3", want: 1.0 / 3},
		{name: "pi", query: "SELECT pi()", want: math.Pi},
		{name: "float4 tenth", query: "SELECT 0.1::float4", want: float64(float32(0.1))},
		{name: "argument", query: "SELECT $1::float8", args: []any{math.Nextafter(0.3, 1)}, want: math.Nextafter(0.3, 1)},
	})
}

// Whatever the driver does for exact floats (or any other session
// setting) must not cost the startup through a PgBouncer with default
// settings, which refuses startup parameters it does not track
// (ignore_startup_parameters is empty by default).
func TestStartupPassesAPgBouncerWithDefaultSettings(t *testing.T) {
	c := needCluster(t, "its superuser without a password and its database named pgpipe")
	t.Parallel()
	b, err := c.StartPgBouncer(context.Background(), pgcluster.BouncerOptions{
		Settings: map[string]string{"ignore_startup_parameters": ""},
	})
	if err != nil {
		t.Fatalf("starting PgBouncer (install it with apt-get install pgbouncer): %v", err)
	}
	t.Cleanup(func() { _ = b.Stop() })
	db, err := sql.Open("pgpipe", b.DSN(pgcluster.SuperUser, "any", "dbname=pgpipe"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for run := 1; run <= 7; run++ {
		var got any
		if err := db.QueryRow("SELECT 1::float8 / 3").Scan(&got); err != nil || !sameValue(got, 1.0/3) {
			t.Fatalf("run %d through PgBouncer: %s, %v; want %s", run, show(got), err, show(1.0/3))
		}
	}
}

// The DSN keyword datestyle (env PGDATESTYLE) is a documented setting;
// the driver's text decoders read the ISO style only (internal/codec/decode.go).
func TestDatesDecodeWithTheDateStyleOfTheDSN(t *testing.T) {
	t.Parallel()
	checkValuesOn(t, dsn(t, "datestyle='German, DMY'"), inUTC, dateStyleCases())
}

// DateStyle is reported to the driver (ParameterStatus) when a session
// changes it.
// A session that switches DateStyle away from ISO gets a clear error for
// dates in text format (pgpipe reads the ISO style only), and the
// connection keeps working.
func TestDatesAfterTheSessionLeavesISODateStyleFailClearly(t *testing.T) {
	t.Parallel()
	conn := openConn(t, "prepare_threshold=none")
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, "SET DateStyle = 'SQL, DMY'"); err != nil {
		t.Fatal(err)
	}
	var d time.Time
	err := conn.QueryRowContext(ctx, "SELECT DATE '2024-07-01' + $1::int", 0).Scan(&d)
	if err == nil || !strings.Contains(err.Error(), "DateStyle") || !strings.Contains(err.Error(), "ISO") {
		t.Fatalf("err = %v; want an error naming DateStyle and what to set", err)
	}
	if _, err := conn.ExecContext(ctx, "SET DateStyle = 'ISO, DMY'"); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT DATE '2024-07-01' + $1::int", 0).Scan(&d); err != nil || d.Month() != time.July {
		t.Fatalf("after SET DateStyle = 'ISO, DMY': %v, %v", d, err)
	}
}

func TestColumnTypesDescribeEveryFormat(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "vc varchar(10), bc char(3), n numeric(10,2), neg numeric(5,-2), t text")
	if _, err := db.Exec("INSERT INTO " + tbl + " VALUES ('v', 'c', 1.5, 1234, 'x')"); err != nil {
		t.Fatal(err)
	}
	const no, unbounded = -1, math.MaxInt64
	wants := map[string]colWant{
		"i2": {"INT2", no, no, 0}, "i4": {"INT4", no, no, 0}, "i8": {"INT8", no, no, 0},
		"f4": {"FLOAT4", no, no, 0}, "f8": {"FLOAT8", no, no, 0},
		"n": {"NUMERIC", no, 10, 2}, "neg": {"NUMERIC", no, 5, -2}, "un": {"NUMERIC", no, 65535, 65531}, // as lib/pq and pgx report it
		"b": {"BOOL", no, no, 0}, "t": {"TEXT", unbounded, no, 0}, "vc": {"VARCHAR", 10, no, 0},
		"bc": {"BPCHAR", 3, no, 0}, "vcu": {"VARCHAR", unbounded, no, 0}, "by": {"BYTEA", unbounded, no, 0},
		"d": {"DATE", no, no, 0}, "ts": {"TIMESTAMP", no, no, 0}, "tz": {"TIMESTAMPTZ", no, no, 0},
		"tm": {"TIME", no, no, 0}, "iv": {"INTERVAL", no, no, 0}, "u": {"UUID", no, no, 0},
		"j": {"JSON", unbounded, no, 0}, "jb": {"JSONB", unbounded, no, 0}, "ai": {"_INT4", no, no, 0},
		"at": {"_TEXT", no, no, 0}, "ip": {"INET", no, no, 0}, "v": {"VOID", no, no, 0},
	}
	q := `SELECT 1::int2 AS i2, 2::int4 AS i4, 3::int8 AS i8, 1.5::float4 AS f4, 2.5::float8 AS f8,
		n, neg, 4.5::numeric AS un, true AS b, t, vc, bc, 'y'::varchar AS vcu, '\x01'::bytea AS by,
		'2024-01-02'::date AS d, '2024-01-02 03:04:05'::timestamp AS ts, '2024-01-02 03:04:05+00'::timestamptz AS tz,
		'01:02:03'::time AS tm, '1 day'::interval AS iv, gen_random_uuid() AS u, '{}'::json AS j, '{}'::jsonb AS jb,
		ARRAY[1]::int4[] AS ai, ARRAY['a']::text[] AS at, '1.2.3.4'::inet AS ip, pg_sleep(0) AS v
		FROM ` + tbl
	for _, m := range formatModes {
		withModeConn(t, server.dsn, m, inUTC, func(conn *sql.Conn) {
			for run := 1; run <= m.runs; run++ {
				if m.simple {
					checkColumnTypes(t, conn, q+simpleSuffix, wants, m.label(run))
					continue
				}
				checkColumnTypes(t, conn, q, wants, m.label(run))
			}
		})
	}
}
