package codec

import (
	"encoding/binary"
	"math"
	"time"
)

// AppendBinaryParam appends v in the binary format of a statement
// parameter of type oid, when v's Go type is the natural one for the type
// and the binary value means exactly what the text the driver would
// otherwise send means to the server: Go integers for int2, int4 and int8
// (in range), float64 for float8, bool for bool, time.Time for timestamptz,
// timestamp and date (see encodeBinaryTime: the same instant, wall clock or
// date, rounded as the server rounds text). It reports false for anything
// else, and for values the server would reject: the caller then sends the
// text format and the server gives its usual answer. A slice goes in
// binary for an array of those element types (binaryParamElems) when
// every element encodes (see encodeBinaryArray), else as text.
//
// Binary arguments spare the client formatting and the server parsing:
// a timestamptz in text costs the server a date parser run per execution.
func AppendBinaryParam(buf []byte, v any, oid uint32) ([]byte, bool) {
	switch x := v.(type) {
	case int64:
		return appendBinaryIntParam(buf, x, oid)
	case int:
		return appendBinaryIntParam(buf, int64(x), oid)
	case int32:
		return appendBinaryIntParam(buf, int64(x), oid)
	case int16:
		return appendBinaryIntParam(buf, int64(x), oid)
	case int8:
		return appendBinaryIntParam(buf, int64(x), oid)
	case uint32:
		return appendBinaryIntParam(buf, int64(x), oid)
	case uint16:
		return appendBinaryIntParam(buf, int64(x), oid)
	case uint8:
		return appendBinaryIntParam(buf, int64(x), oid)
	case uint:
		if uint64(x) <= math.MaxInt64 {
			return appendBinaryIntParam(buf, int64(x), oid)
		}
	case uint64:
		if x <= math.MaxInt64 {
			return appendBinaryIntParam(buf, int64(x), oid)
		}
	case float64:
		if oid == OIDFloat8 {
			return binary.BigEndian.AppendUint64(buf, math.Float64bits(x)), true
		}
	case bool:
		if oid == OIDBool {
			b := byte(0)
			if x {
				b = 1
			}
			return append(buf, b), true
		}
	case time.Time:
		if oid == OIDTimestamptz || oid == OIDTimestamp || oid == OIDDate {
			out, err := encodeBinaryTime(buf, v, oid)
			if err == nil {
				return out, true
			}
		}
	case arrayArg:
		if elem, ok := binaryArrayElems[oid]; ok && binaryParamElems[elem] {
			out, err := encodeBinaryArray(buf, x, oid, elem, binaryEncodeFuncFor(elem))
			if err == nil {
				return out, true
			}
		}
	}
	return buf, false
}

// appendBinaryIntParam appends n as an int2, int4 or int8 parameter when it
// fits the type.
func appendBinaryIntParam(buf []byte, n int64, oid uint32) ([]byte, bool) {
	switch {
	case oid == OIDInt8:
		return binary.BigEndian.AppendUint64(buf, uint64(n)), true
	case oid == OIDInt4 && n >= math.MinInt32 && n <= math.MaxInt32:
		return binary.BigEndian.AppendUint32(buf, uint32(n)), true
	case oid == OIDInt2 && n >= math.MinInt16 && n <= math.MaxInt16:
		return binary.BigEndian.AppendUint16(buf, uint16(n)), true
	}
	return buf, false
}

// binaryParamElems are the element types whose arrays AppendBinaryParam
// sends in binary: those whose binary encoders read each Go value as the
// server reads the text the driver would send for it. Not text and bytea:
// a []byte element is bytea's \x text in a text array, and a string is
// read as that text in a bytea array, where the binary encoders take both
// as they are.
var binaryParamElems = map[uint32]bool{
	OIDBool: true, OIDInt2: true, OIDInt4: true, OIDInt8: true, OIDFloat4: true, OIDFloat8: true,
	OIDDate: true, OIDTimestamp: true, OIDTimestamptz: true, OIDUUID: true,
}
