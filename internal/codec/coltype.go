package codec

// This file answers database/sql's column type questions (the
// driver.RowsColumnType* interfaces) from a column's type OID and type
// modifier, the atttypmod of RowDescription.

import (
	"math"
	"reflect"
	"time"
)

var (
	scanTypeInt16   = reflect.TypeFor[int16]()
	scanTypeInt32   = reflect.TypeFor[int32]()
	scanTypeInt64   = reflect.TypeFor[int64]()
	scanTypeFloat32 = reflect.TypeFor[float32]()
	scanTypeFloat64 = reflect.TypeFor[float64]()
	scanTypeBool    = reflect.TypeFor[bool]()
	scanTypeString  = reflect.TypeFor[string]()
	scanTypeBytes   = reflect.TypeFor[[]byte]()
	scanTypeTime    = reflect.TypeFor[time.Time]()
	scanTypeAny     = reflect.TypeFor[any]()
)

// ScanType answers ColumnTypeScanType: the Go type a column of type oid
// scans into without loss, as lib/pq and pgx's stdlib report it. It is
// valueType narrowed to the column's own size: int16 for int2, int32 for
// int4, float32 for float4 (the driver.Value is still an int64 or
// float64, which database/sql's Scan converts exactly, since the column
// cannot hold more). date, timestamp and timestamptz report time.Time
// although their infinite values arrive as the strings "infinity" and
// "-infinity", which a *time.Time destination refuses with an error.
func ScanType(oid uint32) reflect.Type {
	switch oid {
	case OIDInt2:
		return scanTypeInt16
	case OIDInt4:
		return scanTypeInt32
	case OIDFloat4:
		return scanTypeFloat32
	}
	return valueType(oid)
}

// valueType returns the Go type of the values DecoderFor's decoder produces
// for a column of type oid: int64, float64, bool, []byte (bytea, json,
// jsonb), time.Time (date, timestamp, timestamptz, whose infinite values
// nevertheless come back as the strings "infinity" and "-infinity"), the
// empty interface for void (always NULL), and string for everything else,
// including OIDs the driver does not know.
func valueType(oid uint32) reflect.Type {
	switch oid {
	case OIDInt2, OIDInt4, OIDInt8, OIDOID:
		return scanTypeInt64
	case OIDFloat4, OIDFloat8:
		return scanTypeFloat64
	case OIDBool:
		return scanTypeBool
	case OIDBytea, OIDJSON, OIDJSONB:
		return scanTypeBytes
	case OIDDate, OIDTimestamp, OIDTimestamptz:
		return scanTypeTime
	case OIDVoid:
		return scanTypeAny
	}
	return scanTypeString
}

// varHeaderSize is VARHDRSZ, which PostgreSQL adds to the declared length
// of character(n) and varchar(n) in their type modifier.
const varHeaderSize = 4

// ColumnLength answers ColumnTypeLength: the declared length n of a
// varchar(n) or character(n) column, in characters, and of a bit(n) or
// varbit(n) column, in bits (as lib/pq and pgx's stdlib report it);
// math.MaxInt64 for variable-length types with no declared limit (text,
// bytea, json, jsonb, xml, varchar, bpchar and varbit without a length);
// ok is false for every other type.
func ColumnLength(oid uint32, typmod int32) (length int64, ok bool) {
	switch oid {
	case OIDText, OIDBytea, OIDJSON, OIDJSONB, OIDXML:
		return math.MaxInt64, true
	case OIDVarchar, OIDBPChar:
		if typmod < varHeaderSize {
			return math.MaxInt64, true
		}
		return int64(typmod - varHeaderSize), true
	case OIDBit, OIDVarbit:
		// The modifier is the length in bits, without a header.
		if typmod < 0 {
			return math.MaxInt64, true
		}
		return int64(typmod), true
	}
	return 0, false
}

// PrecisionScale answers ColumnTypePrecisionScale for numeric(p, s): the
// precision p and the scale s (negative since PostgreSQL 15, for a column
// rounded to tens or hundreds).
//
// An unconstrained numeric (type modifier -1) reports precision 65535 and
// scale 65531 with ok true: the values lib/pq and pgx's stdlib report (the
// modifier's bits read as a declared one), which no declared numeric can
// have (p is at most 1000). Code written for those drivers depends on it:
// GORM's migrator alters a column to a model's numeric(p,s) only when the
// reported precision and scale differ from the model's.
//
// Every other type has ok false; time precisions such as timestamp(3) are
// not reported, since database/sql describes the method as decimal-only.
func PrecisionScale(oid uint32, typmod int32) (precision, scale int64, ok bool) {
	if oid != OIDNumeric {
		return 0, 0, false
	}
	if typmod < varHeaderSize {
		return unconstrainedPrecision, unconstrainedScale, true
	}
	// The modifier is ((p << 16) | (s & 0x7ff)) + VARHDRSZ, the scale an
	// 11-bit two's complement number (numeric.c, make_numeric_typmod).
	m := typmod - varHeaderSize
	precision = int64(m>>16) & 0xffff
	scale = int64((m&0x7ff)^0x400) - 0x400
	return precision, scale, true
}

// The precision and scale reported for an unconstrained numeric: the bits
// of the modifier -1 less VARHDRSZ, as lib/pq and pgx's stdlib decode them.
const (
	unconstrainedPrecision = 65535
	unconstrainedScale     = 65531
)
