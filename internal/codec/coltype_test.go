package codec

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestTypeNameUsesUpperCaseCatalogNames(t *testing.T) {
	cases := map[uint32]string{
		OIDBool: "BOOL", OIDChar: "CHAR", OIDInt4: "INT4", OIDVarchar: "VARCHAR", OIDBPChar: "BPCHAR",
		OIDTimestamptz: "TIMESTAMPTZ", OIDJSONB: "JSONB", OIDUUID: "UUID", OIDNumeric: "NUMERIC",
		OIDInt4Array: "_INT4", OIDTextArray: "_TEXT", OIDJSONBArray: "_JSONB", OIDVoid: "VOID",
		OIDUnknown: "UNKNOWN", OIDRecord: "RECORD", OIDPgLSN: "PG_LSN", 99999: "", 0: "",
	}
	for oid, want := range cases {
		if got := TypeName(oid); got != want {
			t.Errorf("typeName(%d) = %q, want %q", oid, got, want)
		}
	}
}

func TestScanTypeIsTheColumnsOwnSize(t *testing.T) {
	cases := map[uint32]reflect.Type{
		OIDInt2: reflect.TypeFor[int16](), OIDInt4: reflect.TypeFor[int32](), OIDInt8: reflect.TypeFor[int64](),
		OIDOID: reflect.TypeFor[int64](), OIDFloat4: reflect.TypeFor[float32](), OIDFloat8: reflect.TypeFor[float64](),
		OIDBool: reflect.TypeFor[bool](), OIDBytea: reflect.TypeFor[[]byte](), OIDJSON: reflect.TypeFor[[]byte](),
		OIDJSONB: reflect.TypeFor[[]byte](), OIDDate: reflect.TypeFor[time.Time](),
		OIDTimestamp: reflect.TypeFor[time.Time](), OIDTimestamptz: reflect.TypeFor[time.Time](),
		OIDNumeric: reflect.TypeFor[string](), OIDText: reflect.TypeFor[string](), OIDUUID: reflect.TypeFor[string](),
		OIDInterval: reflect.TypeFor[string](), OIDInt4Array: reflect.TypeFor[string](), 99999: reflect.TypeFor[string](),
		OIDVoid: reflect.TypeFor[any](),
	}
	for oid, want := range cases {
		if got := ScanType(oid); got != want {
			t.Errorf("scanType(%s) = %v, want %v", TypeName(oid), got, want)
		}
	}
}

// The type modifiers below are pg_attribute.atttypmod of columns declared
// with the type in the test name, read from a PostgreSQL 15 server.

func TestColumnLength(t *testing.T) {
	cases := []struct {
		name   string
		oid    uint32
		typmod int32
		length int64
		ok     bool
	}{
		{"text", OIDText, -1, math.MaxInt64, true},
		{"bytea", OIDBytea, -1, math.MaxInt64, true},
		{"jsonb", OIDJSONB, -1, math.MaxInt64, true},
		{"varchar", OIDVarchar, -1, math.MaxInt64, true},
		{"varchar(7)", OIDVarchar, 11, 7, true},
		{"char(3)", OIDBPChar, 7, 3, true},
		{"char", OIDBPChar, 5, 1, true},
		{"bpchar", OIDBPChar, -1, math.MaxInt64, true},
		{"bit(4)", OIDBit, 4, 4, true},
		{"bit", OIDBit, 1, 1, true},
		{"varbit(10)", OIDVarbit, 10, 10, true},
		{"varbit", OIDVarbit, -1, math.MaxInt64, true},
		{"int4", OIDInt4, -1, 0, false},
		{"numeric(10,2)", OIDNumeric, 655366, 0, false},
		{"unknown OID", 99999, 20, 0, false},
	}
	for _, tc := range cases {
		if length, ok := ColumnLength(tc.oid, tc.typmod); length != tc.length || ok != tc.ok {
			t.Errorf("columnLength(%s) = %d, %v; want %d, %v", tc.name, length, ok, tc.length, tc.ok)
		}
	}
}

func TestPrecisionScale(t *testing.T) {
	cases := []struct {
		name             string
		oid              uint32
		typmod           int32
		precision, scale int64
		ok               bool
	}{
		{"numeric(10,2)", OIDNumeric, 655366, 10, 2, true},
		{"numeric(5,0)", OIDNumeric, 327684, 5, 0, true},
		{"numeric(3,-2)", OIDNumeric, 198658, 3, -2, true},
		{"numeric(1000,999)", OIDNumeric, 65537003, 1000, 999, true},
		{"numeric", OIDNumeric, -1, 65535, 65531, true}, // as lib/pq and pgx report it
		{"timestamp(3)", OIDTimestamp, 3, 0, 0, false},
		{"int8", OIDInt8, -1, 0, 0, false},
	}
	for _, tc := range cases {
		p, s, ok := PrecisionScale(tc.oid, tc.typmod)
		if p != tc.precision || s != tc.scale || ok != tc.ok {
			t.Errorf("precisionScale(%s) = %d, %d, %v; want %d, %d, %v", tc.name, p, s, ok, tc.precision, tc.scale, tc.ok)
		}
	}
}
