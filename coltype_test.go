package pgpipe

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestTypeNameUsesUpperCaseCatalogNames(t *testing.T) {
	cases := map[uint32]string{
		oidBool: "BOOL", oidChar: "CHAR", oidInt4: "INT4", oidVarchar: "VARCHAR", oidBPChar: "BPCHAR",
		oidTimestamptz: "TIMESTAMPTZ", oidJSONB: "JSONB", oidUUID: "UUID", oidNumeric: "NUMERIC",
		oidInt4Array: "_INT4", oidTextArray: "_TEXT", oidJSONBArray: "_JSONB", oidVoid: "VOID",
		oidUnknown: "UNKNOWN", oidRecord: "RECORD", oidPgLSN: "PG_LSN", 99999: "", 0: "",
	}
	for oid, want := range cases {
		if got := typeName(oid); got != want {
			t.Errorf("typeName(%d) = %q, want %q", oid, got, want)
		}
	}
}

func TestScanTypeIsTheColumnsOwnSize(t *testing.T) {
	cases := map[uint32]reflect.Type{
		oidInt2: reflect.TypeFor[int16](), oidInt4: reflect.TypeFor[int32](), oidInt8: reflect.TypeFor[int64](),
		oidOID: reflect.TypeFor[int64](), oidFloat4: reflect.TypeFor[float32](), oidFloat8: reflect.TypeFor[float64](),
		oidBool: reflect.TypeFor[bool](), oidBytea: reflect.TypeFor[[]byte](), oidJSON: reflect.TypeFor[[]byte](),
		oidJSONB: reflect.TypeFor[[]byte](), oidDate: reflect.TypeFor[time.Time](),
		oidTimestamp: reflect.TypeFor[time.Time](), oidTimestamptz: reflect.TypeFor[time.Time](),
		oidNumeric: reflect.TypeFor[string](), oidText: reflect.TypeFor[string](), oidUUID: reflect.TypeFor[string](),
		oidInterval: reflect.TypeFor[string](), oidInt4Array: reflect.TypeFor[string](), 99999: reflect.TypeFor[string](),
		oidVoid: reflect.TypeFor[any](),
	}
	for oid, want := range cases {
		if got := scanType(oid); got != want {
			t.Errorf("scanType(%s) = %v, want %v", typeName(oid), got, want)
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
		{"text", oidText, -1, math.MaxInt64, true},
		{"bytea", oidBytea, -1, math.MaxInt64, true},
		{"jsonb", oidJSONB, -1, math.MaxInt64, true},
		{"varchar", oidVarchar, -1, math.MaxInt64, true},
		{"varchar(7)", oidVarchar, 11, 7, true},
		{"char(3)", oidBPChar, 7, 3, true},
		{"char", oidBPChar, 5, 1, true},
		{"bpchar", oidBPChar, -1, math.MaxInt64, true},
		{"bit(4)", oidBit, 4, 4, true},
		{"bit", oidBit, 1, 1, true},
		{"varbit(10)", oidVarbit, 10, 10, true},
		{"varbit", oidVarbit, -1, math.MaxInt64, true},
		{"int4", oidInt4, -1, 0, false},
		{"numeric(10,2)", oidNumeric, 655366, 0, false},
		{"unknown OID", 99999, 20, 0, false},
	}
	for _, tc := range cases {
		if length, ok := columnLength(tc.oid, tc.typmod); length != tc.length || ok != tc.ok {
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
		{"numeric(10,2)", oidNumeric, 655366, 10, 2, true},
		{"numeric(5,0)", oidNumeric, 327684, 5, 0, true},
		{"numeric(3,-2)", oidNumeric, 198658, 3, -2, true},
		{"numeric(1000,999)", oidNumeric, 65537003, 1000, 999, true},
		{"numeric", oidNumeric, -1, 65535, 65531, true}, // as lib/pq and pgx report it
		{"timestamp(3)", oidTimestamp, 3, 0, 0, false},
		{"int8", oidInt8, -1, 0, 0, false},
	}
	for _, tc := range cases {
		p, s, ok := precisionScale(tc.oid, tc.typmod)
		if p != tc.precision || s != tc.scale || ok != tc.ok {
			t.Errorf("precisionScale(%s) = %d, %d, %v; want %d, %d, %v", tc.name, p, s, ok, tc.precision, tc.scale, tc.ok)
		}
	}
}
