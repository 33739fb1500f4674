package codec

// This file encodes Go values in the binary format of PostgreSQL types, for
// COPY FROM STDIN (FORMAT binary), where each field is the output of the
// column type's send function and is read by its receive function
// (PostgreSQL docs, "COPY", "Binary Format"). Unlike query arguments, whose
// type the server infers, a COPY column has a known type, so each encoder
// writes exactly one type.
//
// A value is accepted when its conversion is natural and loses nothing, and
// as a rule when the text the driver sends for it as a query argument would
// be accepted by the column type's input function with the same result; see
// BinaryEncoderFor for the list.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// BinaryEncoder appends the binary send format of v for a column of one
// type. v is a non-NULL value as CheckArg or database/sql's default converter
// hands it on (see IsNull for the NULLs the caller must catch). On error
// buf may hold a partial encoding beyond its original length, which the
// caller discards; the error starts with "pgpipe: " and names the Go value
// and the PostgreSQL type, and the caller adds the row and column.
type BinaryEncoder func(buf []byte, v any) ([]byte, error)

// binaryEncodeFunc is a BinaryEncoder that is told the column type, for its
// error messages and, in arrays, for the element type.
type binaryEncodeFunc func(buf []byte, v any, oid uint32) ([]byte, error)

// BinaryEncoderFor returns the encoder for a column of type oid, or nil when
// the driver has none (the caller then uses the text format). The Go values
// each type accepts:
//
//   - bool: bool; the strings boolin reads (t, true, yes, on, 1 and f, false,
//     no, off, 0, their unambiguous prefixes, any case, surrounding spaces);
//     the integers 0 and 1.
//   - int2, int4, int8, oid: every Go integer type, floats holding an exact
//     integer, strings holding a decimal integer (surrounding spaces
//     allowed), Decompose values that are integers; range-checked.
//   - float4, float8: floats (a float64 is rounded to the nearest float4, as
//     the server rounds its text; overflow and underflow to zero are errors),
//     integers the type represents exactly, strings strconv.ParseFloat reads
//     (NaN, Infinity, inf), Decompose values (rounded).
//   - numeric: decimal strings as numeric_in reads them (exponents, NaN,
//     Infinity, -Infinity, inf), integers, floats (their shortest decimal, as
//     in the text format), Decompose values. The display scale is the one
//     numeric_in gives the same text ("1.50" keeps two digits).
//   - text, varchar, bpchar, name, unknown: string, []byte and
//     json.RawMessage as they are, which must be valid UTF-8 without NUL
//     bytes; other scalars (numbers, bool, time.Time, Decompose values) as
//     the text the driver sends for them as query arguments.
//   - bytea: []byte, json.RawMessage, and string, all as they are (a string
//     is not parsed as bytea's \x text form, unlike a query argument).
//   - json, jsonb: string, []byte, json.RawMessage, as they are (the server
//     validates them).
//   - uuid: strings in the forms uuid_in reads (hyphens after any group of
//     four hex digits, braces, any case); [16]byte; a []byte of 16 raw bytes
//     or of uuid text.
//   - date, timestamp, timestamptz: time.Time, the strings "infinity" and
//     "-infinity" (any case), and ISO text as the server prints it
//     ("2024-03-31", "2024-03-31 12:00:00.5", "... +02", " BC"). A date takes
//     the calendar date of the time in its own location, a timestamp its wall
//     clock there, a timestamptz its instant. Nanoseconds are rounded to
//     microseconds as PostgreSQL rounds the fraction of text input (rint of
//     a double: half to even). An offset of 16 hours or more counts as UTC,
//     as in the text format. Values outside the type's range are errors.
//   - time: time.Time (its wall clock, rounded as above, so 23:59:59.9999999
//     becomes 24:00:00) and strings "15:04:05" with an optional fraction.
//   - arrays of all the above: an arrayArg from CheckArg or any slice (not
//     []byte), nested slices for more dimensions (rectangular, at most 6),
//     nil pointers and interfaces as NULL elements. Writing an element
//     allocates; writing a scalar does not, when buf has room.
//
// interval, timetz, inet, cidr, xml, "char", enums and extension types (such
// as citext) have no binary encoder.
func BinaryEncoderFor(oid uint32) BinaryEncoder {
	f := binaryEncodeFuncFor(oid)
	if f == nil {
		elem, ok := binaryArrayElems[oid]
		ef := binaryEncodeFuncFor(elem)
		if !ok || ef == nil {
			return nil
		}
		f = func(buf []byte, v any, oid uint32) ([]byte, error) {
			return encodeBinaryArray(buf, v, oid, elem, ef)
		}
	}
	return func(buf []byte, v any) ([]byte, error) {
		if IsNull(v) {
			return buf, fmt.Errorf("pgpipe: internal error: the binary encoder of %s was given NULL (%#v): the caller writes NULL",
				binaryTypeName(oid), v)
		}
		return f(buf, v, oid)
	}
}

// binaryEncodeFuncFor returns the encoder of a scalar type, or nil.
func binaryEncodeFuncFor(oid uint32) binaryEncodeFunc {
	switch oid {
	case OIDBool:
		return encodeBinaryBool
	case OIDInt2, OIDInt4, OIDInt8, OIDOID:
		return encodeBinaryInt
	case OIDFloat4, OIDFloat8:
		return encodeBinaryFloat
	case OIDNumeric:
		return encodeBinaryNumeric
	case OIDText, OIDVarchar, OIDBPChar, OIDName, OIDUnknown:
		return encodeBinaryText
	case OIDBytea, OIDJSON, OIDJSONB:
		return encodeBinaryBytes
	case OIDUUID:
		return encodeBinaryUUID
	case OIDDate, OIDTimestamp, OIDTimestamptz, OIDTime:
		return encodeBinaryTime
	}
	return nil
}

// binaryArrayElems maps the array types that have a binary encoder to
// their element types.
var binaryArrayElems = map[uint32]uint32{
	OIDBoolArray: OIDBool, OIDInt2Array: OIDInt2, OIDInt4Array: OIDInt4,
	OIDInt8Array: OIDInt8, OIDOIDArray: OIDOID, OIDFloat4Array: OIDFloat4,
	OIDFloat8Array: OIDFloat8, OIDNumericArray: OIDNumeric, OIDTextArray: OIDText,
	OIDVarcharArray: OIDVarchar, OIDBPCharArray: OIDBPChar, OIDNameArray: OIDName,
	OIDByteaArray: OIDBytea, OIDJSONArray: OIDJSON, OIDJSONBArray: OIDJSONB,
	OIDUUIDArray: OIDUUID, OIDDateArray: OIDDate, OIDTimestampArray: OIDTimestamp,
	OIDTimestamptzArray: OIDTimestamptz, OIDTimeArray: OIDTime,
}

// IsNull reports whether a value CheckArg passed on is SQL NULL: nil, a
// nil []byte or a nil json.RawMessage (AppendArg sends both as NULL), or a
// nil slice (which CheckArg turns into nil). The caller writes NULL for
// these instead of calling a BinaryEncoder, which cannot express NULL and
// rejects them.
func IsNull(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []byte:
		return v == nil
	case json.RawMessage:
		return v == nil
	case string, int64, int, float64, bool, time.Time, arrayArg:
		return false
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Slice && rv.IsNil()
}

// binaryEncodeError reports a value a binary encoder cannot write.
type binaryEncodeError struct {
	at  string // the array element, "[2][0]", or "" for the whole value
	msg string
	err error // the cause, such as an error from a Value method
}

func (e *binaryEncodeError) Error() string {
	s := "pgpipe: "
	if e.at != "" {
		s += "array element " + e.at + ": "
	}
	s += e.msg
	if e.err != nil {
		s += ": " + e.err.Error()
	}
	return s
}

func (e *binaryEncodeError) Unwrap() error { return e.err }

// errCannotEncode reports a value of a Go type or content the type oid does
// not take; why, if not empty, says more.
func errCannotEncode(v any, oid uint32, why string) error {
	msg := "cannot encode " + binaryDescribe(v) + " as " + binaryTypeName(oid)
	if why != "" {
		msg += ": " + why
	}
	return &binaryEncodeError{msg: msg}
}

// errOutOfRange reports a value outside the range of type oid.
func errOutOfRange(v any, oid uint32) error {
	return &binaryEncodeError{msg: "value " + binaryValueText(v) + " out of range for " + binaryTypeName(oid)}
}

// binaryTypeName returns PostgreSQL's lower-case name of a type, int4[] for
// an array.
func binaryTypeName(oid uint32) string {
	name := strings.ToLower(TypeName(oid))
	if elem, ok := strings.CutPrefix(name, "_"); ok {
		return elem + "[]"
	}
	if name == "" {
		return "type " + strconv.FormatUint(uint64(oid), 10)
	}
	return name
}

// binaryDescribe names a value's Go type and shows it, briefly.
func binaryDescribe(v any) string {
	switch v := v.(type) {
	case []byte:
		return fmt.Sprintf("[]byte (%d bytes)", len(v))
	case json.RawMessage:
		return fmt.Sprintf("json.RawMessage (%d bytes)", len(v))
	case arrayArg:
		return v.v.Type().String()
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map {
		return rv.Type().String()
	}
	return fmt.Sprintf("%T %s", v, binaryValueText(v))
}

// binaryValueText shows a scalar value in an error message.
func binaryValueText(v any) string {
	const shown = 40
	switch v := v.(type) {
	case string:
		if len(v) > shown {
			return strconv.Quote(v[:shown]) + "..."
		}
		return strconv.Quote(v)
	case time.Time:
		return v.Format(time.RFC3339Nano)
	case decimalDecomposer:
		return string(appendDecimal(nil, v))
	}
	return fmt.Sprint(v)
}

// retryByKind encodes a value of a named scalar type (type Status string)
// as its underlying type, or reports that the type is not accepted.
func retryByKind(buf []byte, v any, oid uint32, f binaryEncodeFunc) ([]byte, error) {
	if u, ok := namedScalar(v); ok {
		return f(buf, u, oid)
	}
	return buf, errCannotEncode(v, oid, "")
}

// namedScalar converts a value of a named scalar type to its underlying
// basic type, as database/sql's default converter does.
func namedScalar(v any) (any, bool) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Type().Name() == rv.Kind().String() {
		return nil, false
	}
	return scalarByKind(rv)
}

// Scalars.

func encodeBinaryBool(buf []byte, v any, oid uint32) ([]byte, error) {
	var b bool
	switch v := v.(type) {
	case bool:
		b = v
	case string:
		var ok bool
		if b, ok = parseBoolText(v); !ok {
			return buf, errCannotEncode(v, oid, "")
		}
	default:
		n, err := binaryIntArg(v, oid, 0, 1)
		if err != nil {
			return buf, err
		}
		b = n == 1
	}
	if b {
		return append(buf, 1), nil
	}
	return append(buf, 0), nil
}

// parseBoolText reads s as PostgreSQL's boolin does.
func parseBoolText(s string) (value, ok bool) {
	s = trimSpaceASCII(s)
	isPrefix := func(word string, min int) bool {
		return len(s) >= min && len(s) <= len(word) && strings.EqualFold(s, word[:len(s)])
	}
	switch {
	case isPrefix("true", 1), isPrefix("yes", 1), isPrefix("on", 2), s == "1":
		return true, true
	case isPrefix("false", 1), isPrefix("no", 1), isPrefix("off", 2), s == "0":
		return false, true
	}
	return false, false
}

// isSpaceC reports whether C's isspace knows c as white space.
func isSpaceC(c byte) bool { return c == ' ' || c-'\t' <= '\r'-'\t' }

// trimSpaceASCII removes the white space C's isspace knows from both ends.
func trimSpaceASCII[T ~string | ~[]byte](s T) T {
	for len(s) > 0 && isSpaceC(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpaceC(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

func encodeBinaryInt(buf []byte, v any, oid uint32) ([]byte, error) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	switch oid {
	case OIDInt2:
		lo, hi = math.MinInt16, math.MaxInt16
	case OIDInt4:
		lo, hi = math.MinInt32, math.MaxInt32
	case OIDOID:
		lo, hi = 0, math.MaxUint32
	}
	n, err := binaryIntArg(v, oid, lo, hi)
	switch {
	case err != nil:
		return buf, err
	case oid == OIDInt2:
		return binary.BigEndian.AppendUint16(buf, uint16(n)), nil
	case oid == OIDInt8:
		return binary.BigEndian.AppendUint64(buf, uint64(n)), nil
	}
	return binary.BigEndian.AppendUint32(buf, uint32(n)), nil
}

// binaryIntArg converts v to an integer of type oid, within [lo, hi].
func binaryIntArg(v any, oid uint32, lo, hi int64) (int64, error) {
	var n int64
	switch x := v.(type) {
	case int64:
		n = x
	case int, int8, int16, int32:
		n = reflect.ValueOf(x).Int()
	case uint, uint8, uint16, uint32, uint64:
		u := reflect.ValueOf(x).Uint()
		if u > uint64(hi) {
			return 0, errOutOfRange(v, oid)
		}
		n = int64(u)
	case float32:
		return binaryFloatIntArg(float64(x), v, oid, lo, hi)
	case float64:
		return binaryFloatIntArg(x, v, oid, lo, hi)
	case string:
		var err error
		if n, err = strconv.ParseInt(trimSpaceASCII(x), 10, 64); errors.Is(err, strconv.ErrRange) {
			return 0, errOutOfRange(v, oid)
		} else if err != nil {
			return 0, errCannotEncode(v, oid, "")
		}
	case decimalDecomposer:
		var ok bool
		if n, ok = decimalInt(x); !ok {
			return 0, errCannotEncode(v, oid, "not an integer in range")
		}
	default:
		if u, ok := namedScalar(v); ok {
			return binaryIntArg(u, oid, lo, hi)
		}
		return 0, errCannotEncode(v, oid, "")
	}
	if n < lo || n > hi {
		return 0, errOutOfRange(v, oid)
	}
	return n, nil
}

func binaryFloatIntArg(f float64, v any, oid uint32, lo, hi int64) (int64, error) {
	if f != math.Trunc(f) || math.IsInf(f, 0) {
		return 0, errCannotEncode(v, oid, "")
	}
	if f < -0x1p63 || f >= 0x1p63 || int64(f) < lo || int64(f) > hi {
		return 0, errOutOfRange(v, oid)
	}
	return int64(f), nil
}

// decimalInt returns the value of a Decompose value that is an integer
// fitting an int64.
func decimalInt(d decimalDecomposer) (int64, bool) {
	form, neg, coef, exp := d.Decompose(nil)
	if form != 0 {
		return 0, false
	}
	c := new(big.Int).SetBytes(coef)
	switch {
	case c.Sign() == 0:
		return 0, true
	case exp > 19:
		return 0, false
	case exp > 0:
		c.Mul(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exp)), nil))
	case exp < 0:
		if int(-exp) > 3*len(coef)+1 { // the value is below 1
			return 0, false
		}
		var r big.Int
		c.QuoRem(c, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-exp)), nil), &r)
		if r.Sign() != 0 {
			return 0, false
		}
	}
	if neg {
		c.Neg(c)
	}
	return c.Int64(), c.IsInt64()
}

func encodeBinaryFloat(buf []byte, v any, oid uint32) ([]byte, error) {
	bits := 64
	if oid == OIDFloat4 {
		bits = 32
	}
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case string:
		var err error
		if f, err = parseFloatText(x, bits); err != nil {
			return buf, binaryFloatError(err, v, oid)
		}
	case decimalDecomposer:
		var tmp [64]byte
		var err error
		if f, err = parseFloatText(string(appendDecimal(tmp[:0], x)), bits); err != nil {
			return buf, binaryFloatError(err, v, oid)
		}
	default:
		var isInt, exact bool
		if f, isInt, exact = exactFloat(v, bits); !isInt {
			return retryByKind(buf, v, oid, encodeBinaryFloat)
		} else if !exact {
			return buf, errCannotEncode(v, oid, "not exactly representable")
		}
	}
	if bits == 64 {
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(f)), nil
	}
	f32 := float32(f)
	if (math.IsInf(float64(f32), 0) && !math.IsInf(f, 0)) || (f32 == 0 && f != 0) {
		return buf, errOutOfRange(v, oid)
	}
	return binary.BigEndian.AppendUint32(buf, math.Float32bits(f32)), nil
}

func binaryFloatError(err error, v any, oid uint32) error {
	if errors.Is(err, strconv.ErrRange) {
		return errOutOfRange(v, oid)
	}
	return errCannotEncode(v, oid, "")
}

// parseFloatText reads a float as float4in and float8in do: overflow and
// underflow to zero are range errors.
func parseFloatText(s string, bits int) (float64, error) {
	s = trimSpaceASCII(s)
	f, err := strconv.ParseFloat(s, bits)
	if err == nil && f == 0 {
		mantissa, _, _ := strings.Cut(strings.ToLower(s), "e")
		if strings.ContainsAny(mantissa, "123456789") {
			return 0, strconv.ErrRange
		}
	}
	return f, err
}

// exactFloat converts an integer to a float of the given size. It reports
// whether v is an integer and whether the float holds it exactly.
func exactFloat(v any, bits int) (f float64, isInt, exact bool) {
	switch v.(type) {
	case int, int8, int16, int32, int64:
		n := reflect.ValueOf(v).Int()
		if f = float64(n); bits == 32 {
			f = float64(float32(n))
		}
		return f, true, f < 0x1p63 && int64(f) == n
	case uint, uint8, uint16, uint32, uint64:
		u := reflect.ValueOf(v).Uint()
		if f = float64(u); bits == 32 {
			f = float64(float32(u))
		}
		return f, true, f < 0x1p64 && uint64(f) == u
	}
	return 0, false, false
}

func encodeBinaryText(buf []byte, v any, oid uint32) ([]byte, error) {
	switch x := v.(type) {
	case string:
		if why := badText(strings.IndexByte(x, 0), utf8.ValidString(x)); why != "" {
			return buf, errCannotEncode(v, oid, why)
		}
		return append(buf, x...), nil
	case []byte:
		return appendBinaryTextBytes(buf, x, v, oid)
	case json.RawMessage:
		return appendBinaryTextBytes(buf, x, v, oid)
	}
	if out, ok := appendScalar(buf, v); ok {
		return out, nil
	}
	return retryByKind(buf, v, oid, encodeBinaryText)
}

func appendBinaryTextBytes(buf, b []byte, v any, oid uint32) ([]byte, error) {
	if why := badText(bytes.IndexByte(b, 0), utf8.Valid(b)); why != "" {
		return buf, errCannotEncode(v, oid, why)
	}
	return append(buf, b...), nil
}

// badText says what makes a text value unacceptable, given the index of its
// first NUL byte and whether it is valid UTF-8.
func badText(nul int, valid bool) string {
	switch {
	case nul >= 0:
		return "it contains a NUL byte at offset " + strconv.Itoa(nul)
	case !valid:
		return "it is not valid UTF-8"
	}
	return ""
}

func encodeBinaryBytes(buf []byte, v any, oid uint32) ([]byte, error) {
	if oid == OIDJSONB {
		buf = append(buf, 1) // jsonb's binary format version
	}
	switch x := v.(type) {
	case []byte:
		return append(buf, x...), nil
	case json.RawMessage:
		return append(buf, x...), nil
	case string:
		return append(buf, x...), nil
	}
	if oid == OIDJSONB {
		buf = buf[:len(buf)-1]
	}
	return retryByKind(buf, v, oid, encodeBinaryBytes)
}

func encodeBinaryUUID(buf []byte, v any, oid uint32) ([]byte, error) {
	var out []byte
	ok := false
	switch x := v.(type) {
	case [16]byte:
		return append(buf, x[:]...), nil
	case []byte:
		if len(x) == 16 {
			return append(buf, x...), nil
		}
		out, ok = appendUUIDText(buf, x)
	case string:
		out, ok = appendUUIDText(buf, x)
	default:
		return retryByKind(buf, v, oid, encodeBinaryUUID)
	}
	if !ok {
		return buf, errCannotEncode(v, oid, "")
	}
	return out, nil
}

// appendUUIDText reads a uuid as uuid_in does: 32 hex digits in any case, a
// hyphen allowed after each group of four except the last, and the whole
// optionally in braces.
func appendUUIDText[T ~string | ~[]byte](buf []byte, s T) ([]byte, bool) {
	braces := len(s) > 0 && s[0] == '{'
	if braces {
		if s[len(s)-1] != '}' {
			return buf, false
		}
		s = s[1 : len(s)-1]
	}
	for i := range 16 {
		if len(s) < 2 {
			return buf, false
		}
		hi, lo := unhex(s[0]), unhex(s[1])
		if hi < 0 || lo < 0 {
			return buf, false
		}
		buf = append(buf, byte(hi<<4|lo))
		s = s[2:]
		if len(s) > 0 && s[0] == '-' && i%2 == 1 && i < 15 {
			s = s[1:]
		}
	}
	return buf, len(s) == 0
}

// unhex returns the value of the hexadecimal digit c, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Dates and times: a date is int32 days and a timestamp int64 microseconds
// since 2000-01-01 (of UTC for timestamptz, of the wall clock for
// timestamp), the extreme values of each standing for -infinity and
// infinity; a time is int64 microseconds since midnight.
const (
	pgEpochUnix = unixToPGDays * secondsPerDay // 2000-01-01 in Unix seconds
	minPGDate   = -2451545                     // 4714-11-24 BC, the first day PostgreSQL accepts
	endPGDate   = 2145031949                   // 5874898-01-01, the first day it rejects
	minPGMicros = -211813488000000000          // 4714-11-24 00:00 BC
	endPGMicros = 9223371331200000000          // 294277-01-01 00:00
)

// EncodeBinaryTime appends v (a time.Time or a time string) in the binary
// format of timestamptz, timestamp or date (oid).
func EncodeBinaryTime(buf []byte, v any, oid uint32) ([]byte, error) {
	return encodeBinaryTime(buf, v, oid)
}

func encodeBinaryTime(buf []byte, v any, oid uint32) ([]byte, error) {
	var sec int64 // Unix seconds of the instant (timestamptz) or of the wall clock read as UTC
	var nsec int
	switch x := v.(type) {
	case time.Time:
		if out, ok := AppendBinaryTime(buf, x, oid); ok {
			return out, nil
		}
		return buf, errOutOfRange(v, oid)
	case string:
		var ok bool
		if buf, ok = appendTimeInfinity(buf, x, oid); ok {
			return buf, nil
		}
		if sec, nsec, ok = parseTimeText(x, oid); !ok {
			return buf, errCannotEncode(v, oid, "")
		}
	default:
		return retryByKind(buf, v, oid, encodeBinaryTime)
	}
	if out, ok := appendBinaryTime(buf, sec, nsec, oid); ok {
		return out, nil
	}
	return buf, errOutOfRange(v, oid)
}

// AppendBinaryTime appends t in the binary format of timestamptz,
// timestamp or date (oid), as [EncodeBinaryTime] does; ok is false, with
// buf unchanged, when t is out of the type's range. It is
// EncodeBinaryTime without the interface, for callers that encode many
// times (lib/pq's COPY idiom).
func AppendBinaryTime(buf []byte, t time.Time, oid uint32) (out []byte, ok bool) {
	sec, nsec := t.Unix(), t.Nanosecond()
	if sec < -1<<62 || sec > 1<<62 { // far beyond every type's range; keeps the arithmetic below exact
		return buf, false
	}
	if oid != OIDTimestamptz {
		if _, offset := t.Zone(); offset > -maxTZOffset && offset < maxTZOffset {
			sec += int64(offset) // the wall clock
		}
	}
	return appendBinaryTime(buf, sec, nsec, oid)
}

// appendBinaryTime appends the date, time or timestamp of sec Unix
// seconds (of the instant, or of the wall clock read as UTC) and nsec;
// ok is false, with buf unchanged, when it is out of the type's range.
func appendBinaryTime(buf []byte, sec int64, nsec int, oid uint32) ([]byte, bool) {
	switch oid {
	case OIDDate:
		days := floorDiv(sec, secondsPerDay) - unixToPGDays
		if days < minPGDate || days >= endPGDate {
			return buf, false
		}
		return binary.BigEndian.AppendUint32(buf, uint32(days)), true
	case OIDTime:
		us := (sec-floorDiv(sec, secondsPerDay)*secondsPerDay)*1000000 + roundMicros(nsec)
		return binary.BigEndian.AppendUint64(buf, uint64(us)), true
	}
	sec -= pgEpochUnix
	if sec < minPGMicros/1000000-1 || sec > endPGMicros/1000000 {
		return buf, false
	}
	us := sec*1000000 + roundMicros(nsec)
	if us < minPGMicros || us >= endPGMicros {
		return buf, false
	}
	return binary.BigEndian.AppendUint64(buf, uint64(us)), true
}

// roundMicros rounds nanoseconds to microseconds as PostgreSQL rounds the
// fraction of a time in text input (ParseFractionalSecond): rint of the
// fraction, read as a double, times 10^6. The fraction the text format
// sends for nsec reads as the double nearest nsec/10^9, as computed here.
func roundMicros(nsec int) int64 {
	return int64(math.RoundToEven(float64(nsec) / 1e9 * 1e6))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// appendTimeInfinity writes the infinite date or timestamp s names.
func appendTimeInfinity(buf []byte, s string, oid uint32) ([]byte, bool) {
	s = trimSpaceASCII(s)
	inf, neg := foldEqualASCII(s, "infinity"), foldEqualASCII(s, "-infinity")
	switch {
	case oid == OIDTime || !inf && !neg:
		return buf, false
	case oid == OIDDate && inf:
		return binary.BigEndian.AppendUint32(buf, math.MaxInt32), true
	case oid == OIDDate:
		return binary.BigEndian.AppendUint32(buf, 1<<31), true
	case inf:
		return binary.BigEndian.AppendUint64(buf, math.MaxInt64), true
	}
	return binary.BigEndian.AppendUint64(buf, 1<<63), true
}

// parseTimeText reads the ISO text the server prints for a date, timestamp,
// timestamptz or time, returning Unix seconds and nanoseconds.
func parseTimeText(s string, oid uint32) (sec int64, nsec int, ok bool) {
	b := []byte(trimSpaceASCII(s))
	var ns int64
	switch oid {
	case OIDDate:
		d, bc := cutBC(b)
		days, n, ok := parseDate(d, bc)
		return days * secondsPerDay, 0, ok && n == len(d)
	case OIDTime:
		sec, ns, n, ok := parseClock(b)
		return sec, int(ns), ok && n == len(b)
	}
	sec, ns, _, ok = parseTimestamp(b, oid == OIDTimestamptz)
	return sec, int(ns), ok
}
