package pgpipe

// This file answers database/sql's column type questions (the
// driver.RowsColumnType* interfaces) from a column's type OID and type
// modifier, the atttypmod of RowDescription.

import (
	"math"
	"reflect"
	"time"
)

var (
	scanTypeInt64   = reflect.TypeFor[int64]()
	scanTypeFloat64 = reflect.TypeFor[float64]()
	scanTypeBool    = reflect.TypeFor[bool]()
	scanTypeString  = reflect.TypeFor[string]()
	scanTypeBytes   = reflect.TypeFor[[]byte]()
	scanTypeTime    = reflect.TypeFor[time.Time]()
	scanTypeAny     = reflect.TypeFor[any]()
)

// scanType returns the Go type of the values decoderFor's decoder produces
// for a column of type oid, for ColumnTypeScanType: int64, float64, bool,
// []byte (bytea, json, jsonb), time.Time (date, timestamp, timestamptz, whose
// infinite values nevertheless come back as the strings "infinity" and
// "-infinity"), the empty interface for void (always NULL), and string for
// everything else, including OIDs the driver does not know.
func scanType(oid uint32) reflect.Type {
	switch oid {
	case oidInt2, oidInt4, oidInt8, oidOID:
		return scanTypeInt64
	case oidFloat4, oidFloat8:
		return scanTypeFloat64
	case oidBool:
		return scanTypeBool
	case oidBytea, oidJSON, oidJSONB:
		return scanTypeBytes
	case oidDate, oidTimestamp, oidTimestamptz:
		return scanTypeTime
	case oidVoid:
		return scanTypeAny
	}
	return scanTypeString
}

// varHeaderSize is VARHDRSZ, which PostgreSQL adds to the declared length
// of character(n) and varchar(n) in their type modifier.
const varHeaderSize = 4

// columnLength answers ColumnTypeLength: the declared length n of a
// varchar(n) or character(n) column, in characters, and of a bit(n) or
// varbit(n) column, in bits (as lib/pq and pgx's stdlib report it);
// math.MaxInt64 for variable-length types with no declared limit (text,
// bytea, json, jsonb, xml, varchar, bpchar and varbit without a length);
// ok is false for every other type.
func columnLength(oid uint32, typmod int32) (length int64, ok bool) {
	switch oid {
	case oidText, oidBytea, oidJSON, oidJSONB, oidXML:
		return math.MaxInt64, true
	case oidVarchar, oidBPChar:
		if typmod < varHeaderSize {
			return math.MaxInt64, true
		}
		return int64(typmod - varHeaderSize), true
	case oidBit, oidVarbit:
		// The modifier is the length in bits, without a header.
		if typmod < 0 {
			return math.MaxInt64, true
		}
		return int64(typmod), true
	}
	return 0, false
}

// precisionScale answers ColumnTypePrecisionScale for numeric(p, s): the
// precision p and the scale s (negative since PostgreSQL 15, for a column
// rounded to tens or hundreds). An unconstrained numeric, and every other
// type, has ok false; time precisions such as timestamp(3) are not
// reported, since database/sql describes the method as decimal-only.
func precisionScale(oid uint32, typmod int32) (precision, scale int64, ok bool) {
	if oid != oidNumeric || typmod < varHeaderSize {
		return 0, 0, false
	}
	// The modifier is ((p << 16) | (s & 0x7ff)) + VARHDRSZ, the scale an
	// 11-bit two's complement number (numeric.c, make_numeric_typmod).
	m := typmod - varHeaderSize
	precision = int64(m>>16) & 0xffff
	scale = int64((m&0x7ff)^0x400) - 0x400
	return precision, scale, true
}
