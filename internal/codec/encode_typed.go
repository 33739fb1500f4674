package codec

// This file encodes the arguments whose meaning depends on the type of the
// parameter they are bound to, so the driver learns that type before it
// encodes them (see the root package's core.learnParams):
//
//   - []byte: the raw bytes for bytea; the UTF-8 text for the character
//     types and json; for jsonb, jsonb's binary form (a version byte, 1,
//     then the JSON text), which is what json.Marshal output means there;
//     for uuid, 16 bytes are the uuid itself (as pgx takes them); for
//     any other built-in type, the value's text (as lib/pq sends it),
//     which must then be valid UTF-8 without NUL bytes. Types the driver
//     does not know by OID (domains, enums, extension types such as
//     citext) get the raw bytes in binary, as before.
//   - time.Duration: an interval for interval parameters, an integer
//     number of nanoseconds for integer ones (as GORM and others store
//     durations in bigint) and for any other type.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// firstUserOID is the first OID PostgreSQL hands out to objects users
// create (FirstNormalObjectId); built-in types have smaller OIDs.
const firstUserOID = 16384

// TypeDependent reports whether the encoding of argument v depends on the
// type of its parameter: a non-NULL []byte or a time.Duration.
func TypeDependent(v any) bool {
	switch v := v.(type) {
	case []byte:
		return v != nil
	case time.Duration:
		return true
	}
	return false
}

// AppendTypedParam encodes v, when TypeDependent, for a parameter of type
// oid (0: unknown). handled is false for any other v.
func AppendTypedParam(buf []byte, v any, oid uint32) (out []byte, format int16, handled bool, err error) {
	switch v := v.(type) {
	case []byte:
		if v == nil {
			return buf, FormatText, false, nil
		}
		out, format, err = appendBytesParam(buf, v, oid)
		return out, format, true, err
	case time.Duration:
		out, format = appendDurationParam(buf, v, oid)
		return out, format, true, nil
	}
	return buf, FormatText, false, nil
}

// appendBytesParam encodes a non-nil []byte for a parameter of type oid.
func appendBytesParam(buf, b []byte, oid uint32) ([]byte, int16, error) {
	switch {
	case oid == OIDJSONB:
		return append(append(buf, 1), b...), FormatBinary, nil
	case oid == 0, oid >= firstUserOID, oid == OIDBytea, oid == OIDText, oid == OIDVarchar,
		oid == OIDBPChar, oid == OIDName, oid == OIDJSON, oid == OIDUnknown,
		oid == OIDUUID && len(b) == 16: // a uuid's 16 bytes are its binary form
		return append(buf, b...), FormatBinary, nil
	}
	if i := bytes.IndexByte(b, 0); i >= 0 || !utf8.Valid(b) {
		why := "it is not valid UTF-8"
		if i >= 0 {
			why = fmt.Sprintf("it holds a NUL byte at offset %d", i)
		}
		return buf, FormatText, fmt.Errorf("pgpipe: cannot send []byte as %s: a []byte is sent as the value's text for this type, and %s (raw bytes go to bytea)",
			binaryTypeName(oid), why)
	}
	return append(buf, b...), FormatText, nil
}

// appendDurationParam encodes d for a parameter of type oid: interval in
// binary (microseconds, rounded half away from zero; no days or months),
// an integer type in binary when d's nanoseconds fit, anything else as
// the decimal number of nanoseconds.
func appendDurationParam(buf []byte, d time.Duration, oid uint32) ([]byte, int16) {
	switch oid {
	case OIDInterval:
		us := d / time.Microsecond
		if r := d % time.Microsecond; r >= time.Microsecond/2 {
			us++
		} else if r <= -time.Microsecond/2 {
			us--
		}
		buf = binary.BigEndian.AppendUint64(buf, uint64(us))
		buf = binary.BigEndian.AppendUint32(buf, 0) // days
		return binary.BigEndian.AppendUint32(buf, 0), FormatBinary
	case OIDInt8, OIDInt4, OIDInt2:
		if out, ok := appendBinaryIntParam(buf, int64(d), oid); ok {
			return out, FormatBinary
		}
	}
	return strconv.AppendInt(buf, int64(d), 10), FormatText
}
