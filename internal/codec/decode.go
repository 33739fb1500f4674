package codec

// This file decodes the column values of DataRow messages.
//
// The text decoders assume session settings the driver must establish in
// its startup message: DateStyle ISO (YYYY-MM-DD; the only style that prints
// zone offsets as numbers rather than abbreviations) and client_encoding
// UTF8. extra_float_digits should be at least 1 (PostgreSQL 12's default,
// under which floats print in their shortest exact form; older servers
// round to 15 digits otherwise). IntervalStyle and bytea_output may be
// anything: intervals come back as the server's text, and both bytea forms
// are read.

import (
	"bytes"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Decoder converts one non-NULL column value into a driver.Value.
//
// src is valid only during the call. A decoder for bytea, json or jsonb may
// return a []byte that aliases src (the caller documents that such a []byte
// is valid until the next row, as driver.Rows allows; database/sql copies it
// unless the user scans into sql.RawBytes); every other decoder copies what
// it keeps. loc is the session's TimeZone for timestamptz values; nil means
// UTC for the binary format and, for the text format, the zone offset the
// server printed. A decoder returns an error, never panics, on malformed
// input.
type Decoder func(src []byte, loc *time.Location) (driver.Value, error)

// ResultFormat returns the format the driver should request for a result
// column of type oid: FormatBinary where decoding the binary form is faster
// or more exact (int2, int4, int8, oid, float4, float8, bool, bytea, date,
// timestamp, timestamptz, uuid, json, jsonb), FormatText for everything else:
// numeric (its text is the exact decimal), the character types (identical in
// both), time, timetz, interval, arrays, and OIDs the driver does not know.
func ResultFormat(oid uint32) int16 {
	switch oid {
	case OIDInt2, OIDInt4, OIDInt8, OIDOID, OIDFloat4, OIDFloat8, OIDBool, OIDBytea,
		OIDDate, OIDTimestamp, OIDTimestamptz, OIDUUID, OIDJSON, OIDJSONB:
		return FormatBinary
	}
	return FormatText
}

// DecoderFor returns the decoder for a column of type oid sent in format
// (FormatText or FormatBinary). The values it produces:
//
//   - int2, int4, int8, oid: int64. float4, float8: float64 (a float4 as the
//     exact float64 of its float32 value, in both formats); NaN and ±Inf
//     included. bool: bool.
//   - numeric: string, the server's exact decimal text, also "NaN",
//     "Infinity" and "-Infinity".
//   - bytea, json, jsonb: []byte (aliasing src except text-format bytea,
//     which is decoded from its hex or escape form into a new slice).
//   - date: time.Time at midnight UTC. timestamp: time.Time in UTC holding
//     the stored wall clock. timestamptz: time.Time of the stored instant in
//     loc (see Decoder). The infinite values of all three are the strings
//     "infinity" and "-infinity". Years before 1 AD (" BC" in text) and
//     after 9999 are supported.
//   - uuid: string, lower-case "8-4-4-4-12" hex.
//   - void: nil.
//   - everything else in the text format (text, varchar, bpchar, name,
//     "char", unknown, xml, time, timetz, interval, arrays, inet, cidr,
//     macaddr, money, bit, varbit, jsonpath, record, int2vector, oidvector,
//     enums, extension types such as citext): string, the server's text.
//   - in the binary format, the character types are strings too; any other
//     type ResultFormat does not ask binary for comes back as a copied
//     []byte.
func DecoderFor(oid uint32, format int16) Decoder {
	if format == FormatBinary {
		return binaryDecoder(oid)
	}
	return textDecoder(oid)
}

func textDecoder(oid uint32) Decoder {
	switch oid {
	case OIDInt2, OIDInt4, OIDInt8, OIDOID:
		return decodeTextInt
	case OIDFloat4:
		return decodeTextFloat4
	case OIDFloat8:
		return decodeTextFloat8
	case OIDBool:
		return decodeTextBool
	case OIDBytea:
		return decodeTextBytea
	case OIDJSON, OIDJSONB:
		return decodeAliasBytes
	case OIDDate:
		return decodeTextDate
	case OIDTimestamp:
		return decodeTextTimestamp
	case OIDTimestamptz:
		return decodeTextTimestamptz
	case OIDVoid:
		return decodeVoid
	}
	return decodeString
}

func binaryDecoder(oid uint32) Decoder {
	switch oid {
	case OIDInt2:
		return decodeBinaryInt2
	case OIDInt4:
		return decodeBinaryInt4
	case OIDInt8:
		return decodeBinaryInt8
	case OIDOID:
		return decodeBinaryOID
	case OIDFloat4:
		return decodeBinaryFloat4
	case OIDFloat8:
		return decodeBinaryFloat8
	case OIDBool:
		return decodeBinaryBool
	case OIDBytea, OIDJSON:
		return decodeAliasBytes
	case OIDJSONB:
		return decodeBinaryJSONB
	case OIDDate:
		return decodeBinaryDate
	case OIDTimestamp:
		return decodeBinaryTimestamp
	case OIDTimestamptz:
		return decodeBinaryTimestamptz
	case OIDUUID:
		return decodeBinaryUUID
	case OIDText, OIDVarchar, OIDBPChar, OIDName, OIDChar, OIDUnknown, OIDXML:
		return decodeString
	case OIDVoid:
		return decodeVoid
	}
	return decodeCopyBytes
}

// decodeError reports a value that does not parse as the type it claims.
func decodeError(typ, format string, src []byte) error {
	const shown = 64
	if len(src) > shown {
		return fmt.Errorf("pgpipe: malformed %s value in %s format: %q... (%d bytes)", typ, format, src[:shown], len(src))
	}
	return fmt.Errorf("pgpipe: malformed %s value in %s format: %q", typ, format, src)
}

func decodeString(src []byte, _ *time.Location) (driver.Value, error) {
	return string(src), nil
}

func decodeAliasBytes(src []byte, _ *time.Location) (driver.Value, error) {
	return src, nil
}

func decodeCopyBytes(src []byte, _ *time.Location) (driver.Value, error) {
	return bytes.Clone(src), nil
}

func decodeVoid([]byte, *time.Location) (driver.Value, error) {
	return nil, nil
}

// Text format.

func decodeTextInt(src []byte, _ *time.Location) (driver.Value, error) {
	n, ok := parseInt(src)
	if !ok {
		return nil, decodeError("integer", "text", src)
	}
	return n, nil
}

// parseInt parses an optionally signed decimal integer that fits int64.
func parseInt(s []byte) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if len(s) == 0 || len(s) > 19 { // 19 digits cannot overflow a uint64
		return 0, false
	}
	var u uint64
	for _, c := range s {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		u = u*10 + uint64(d)
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

func decodeTextFloat4(src []byte, _ *time.Location) (driver.Value, error) {
	f, err := strconv.ParseFloat(string(src), 32)
	if err != nil {
		return nil, decodeError("float4", "text", src)
	}
	return f, nil
}

func decodeTextFloat8(src []byte, _ *time.Location) (driver.Value, error) {
	f, ok := parseFloat8(src)
	if !ok {
		return nil, decodeError("float8", "text", src)
	}
	return f, nil
}

func decodeTextBool(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) == 1 {
		switch src[0] {
		case 't':
			return true, nil
		case 'f':
			return false, nil
		}
	}
	return nil, decodeError("bool", "text", src)
}

// decodeTextBytea reads both bytea_output forms: hex (\x0aff) and escape
// (printable bytes as they are, \\ for a backslash, \ooo octal for others).
func decodeTextBytea(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) >= 2 && src[0] == '\\' && src[1] == 'x' {
		if len(src)%2 != 0 {
			return nil, decodeError("bytea", "text", src)
		}
		out := make([]byte, (len(src)-2)/2)
		if _, err := hex.Decode(out, src[2:]); err != nil {
			return nil, decodeError("bytea", "text", src)
		}
		return out, nil
	}
	out := make([]byte, 0, len(src))
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		if i+1 < len(src) && src[i+1] == '\\' {
			out = append(out, '\\')
			i++
			continue
		}
		if i+3 >= len(src) {
			return nil, decodeError("bytea", "text", src)
		}
		d0, d1, d2 := src[i+1]-'0', src[i+2]-'0', src[i+3]-'0'
		if d0 > 3 || d1 > 7 || d2 > 7 {
			return nil, decodeError("bytea", "text", src)
		}
		out = append(out, d0<<6|d1<<3|d2)
		i += 3
	}
	return out, nil
}

// Dates and times in the text format (DateStyle ISO):
//
//	date         2024-03-31, 0044-03-15 BC, 12345-01-01, infinity
//	timestamp    2024-03-31 02:30:00.123456
//	timestamptz  2024-03-31 03:30:00+02, 1800-01-01 12:53:28+00:53:28 BC
//
// The year has four or more digits, the fraction none or up to six (nine are
// accepted), the offset is +HH, +HH:MM or +HH:MM:SS, and " BC" ends the whole
// value. The parsers below are hand-written: time.Parse is several times
// slower and knows neither BC nor years past 9999.

const (
	secondsPerDay = 86400
	// unixToPGDays is the number of days from 1970-01-01, the Unix epoch,
	// to 2000-01-01, PostgreSQL's epoch for binary dates and timestamps.
	unixToPGDays = 10957
	// maxYearDigits bounds the years the parsers accept so that seconds
	// never overflow an int64; PostgreSQL's dates end in 5874897 AD.
	maxYearDigits = 9
)

// infinityText recognises the infinite date/time values.
func infinityText(src []byte) (driver.Value, bool) {
	switch string(src) {
	case "infinity":
		return "infinity", true
	case "-infinity":
		return "-infinity", true
	}
	return nil, false
}

func decodeTextDate(src []byte, _ *time.Location) (driver.Value, error) {
	if v, ok := infinityText(src); ok {
		return v, nil
	}
	s, bc := cutBC(src)
	days, n, ok := parseDate(s, bc)
	if !ok || n != len(s) {
		return nil, decodeError("date", "text", src)
	}
	return time.Unix(days*secondsPerDay, 0).UTC(), nil
}

func decodeTextTimestamp(src []byte, _ *time.Location) (driver.Value, error) {
	if v, ok := infinityText(src); ok {
		return v, nil
	}
	sec, nsec, _, ok := parseTimestamp(src, false)
	if !ok {
		return nil, decodeError("timestamp", "text", src)
	}
	return time.Unix(sec, nsec).UTC(), nil
}

func decodeTextTimestamptz(src []byte, loc *time.Location) (driver.Value, error) {
	if v, ok := infinityText(src); ok {
		return v, nil
	}
	sec, nsec, offset, ok := parseTimestamp(src, true)
	if !ok {
		return nil, decodeError("timestamptz", "text", src)
	}
	if loc == nil {
		loc = time.FixedZone("", offset) // cached by package time for whole hours
	}
	return time.Unix(sec, nsec).In(loc), nil
}

// parseTimestamp parses a timestamp, with a zone offset when withOffset is
// set, into Unix seconds and nanoseconds of the instant it denotes (for a
// timestamp without offset, of its wall clock read as UTC) and the offset in
// seconds east of UTC.
func parseTimestamp(src []byte, withOffset bool) (sec, nsec int64, offset int, ok bool) {
	s, bc := cutBC(src)
	days, n, ok := parseDate(s, bc)
	if !ok || n >= len(s) || s[n] != ' ' {
		return 0, 0, 0, false
	}
	s = s[n+1:]
	clock, nsec, n, ok := parseClock(s)
	if !ok {
		return 0, 0, 0, false
	}
	s = s[n:]
	if withOffset {
		if offset, n, ok = parseOffset(s); !ok {
			return 0, 0, 0, false
		}
		s = s[n:]
	}
	if len(s) != 0 {
		return 0, 0, 0, false
	}
	return days*secondsPerDay + clock - int64(offset), nsec, offset, true
}

// cutBC removes a trailing " BC" and reports whether it was there.
func cutBC(s []byte) ([]byte, bool) {
	if n := len(s) - 3; n >= 0 && s[n] == ' ' && s[n+1] == 'B' && s[n+2] == 'C' {
		return s[:n], true
	}
	return s, false
}

// parseDate parses YYYY-MM-DD at the start of s (the year may be longer)
// and returns the days since 1970-01-01 of that proleptic Gregorian date
// and the bytes it read. With bc set, year y is y BC, that is 1-y.
func parseDate(s []byte, bc bool) (days int64, n int, ok bool) {
	var year int64
	for n < len(s) && n < maxYearDigits && isDigit(s[n]) {
		year = year*10 + int64(s[n]-'0')
		n++
	}
	if n < 4 || len(s) < n+6 || s[n] != '-' || s[n+3] != '-' {
		return 0, 0, false
	}
	month, ok1 := parse2(s[n+1:])
	day, ok2 := parse2(s[n+4:])
	if !ok1 || !ok2 || year == 0 {
		return 0, 0, false
	}
	if bc {
		year = 1 - year
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return 0, 0, false
	}
	return daysFromCivil(year, month, day), n + 6, true
}

// parseClock parses HH:MM:SS with an optional fraction of 1 to 9 digits at
// the start of s, returning the seconds since midnight, the nanoseconds and
// the bytes read. A leap second (SS = 60) reads as the next second, as
// PostgreSQL's input does.
func parseClock(s []byte) (sec, nsec int64, n int, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, false
	}
	h, ok1 := parse2(s)
	m, ok2 := parse2(s[3:])
	sc, ok3 := parse2(s[6:])
	if !ok1 || !ok2 || !ok3 || h > 23 || m > 59 || sc > 60 {
		return 0, 0, 0, false
	}
	sec, n = int64(h*3600+m*60+sc), 8
	if n < len(s) && s[n] == '.' {
		n++
		start := n
		for n < len(s) && isDigit(s[n]) {
			if n-start == 9 {
				return 0, 0, 0, false
			}
			nsec = nsec*10 + int64(s[n]-'0')
			n++
		}
		if n == start {
			return 0, 0, 0, false
		}
		for range 9 - (n - start) {
			nsec *= 10
		}
	}
	return sec, nsec, n, true
}

// parseOffset parses a zone offset +HH, +HH:MM or +HH:MM:SS (or with -) at
// the start of s, returning seconds east of UTC and the bytes read.
func parseOffset(s []byte) (offset, n int, ok bool) {
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, 0, false
	}
	h, ok := parse2(s[1:])
	if !ok || h*3600 >= maxTZOffset {
		return 0, 0, false
	}
	offset, n = h*3600, 3
	for unit := 60; unit > 0 && len(s) >= n+3 && s[n] == ':'; unit /= 60 {
		v, ok := parse2(s[n+1:])
		if !ok || v > 59 {
			return 0, 0, false
		}
		offset += v * unit
		n += 3
	}
	if s[0] == '-' {
		offset = -offset
	}
	return offset, n, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parse2 parses the two decimal digits at the start of s.
func parse2(s []byte) (int, bool) {
	if len(s) < 2 || !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// daysIn returns the number of days in month of the proleptic Gregorian
// year (astronomical numbering: 0 is 1 BC).
func daysIn(month int, year int64) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days from 1970-01-01 to the given proleptic
// Gregorian date (astronomical year numbering), for any year: the year is
// shifted to start in March so that the leap day ends it, and 400-year eras
// repeat exactly (146097 days).
func daysFromCivil(year int64, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := year / 400
	if year < 0 && year%400 != 0 {
		era--
	}
	yoe := year - era*400                            // [0, 399]
	doy := int64((153*((month+9)%12)+2)/5 + day - 1) // [0, 365], from March 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy           // [0, 146096]
	return era*146097 + doe - 719468                 // 719468: 0000-03-01 to 1970-01-01
}

// Binary format: big-endian integers and IEEE floats; dates are days and
// timestamps microseconds since 2000-01-01, with the extreme values of
// their type standing for -infinity and infinity.

func decodeBinaryInt2(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) != 2 {
		return nil, decodeError("int2", "binary", src)
	}
	return int64(int16(binary.BigEndian.Uint16(src))), nil
}

func decodeBinaryInt4(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) != 4 {
		return nil, decodeError("int4", "binary", src)
	}
	return int64(int32(binary.BigEndian.Uint32(src))), nil
}

func decodeBinaryInt8(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) != 8 {
		return nil, decodeError("int8", "binary", src)
	}
	return int64(binary.BigEndian.Uint64(src)), nil
}

func decodeBinaryOID(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) != 4 {
		return nil, decodeError("oid", "binary", src)
	}
	return int64(binary.BigEndian.Uint32(src)), nil
}

func decodeBinaryFloat4(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) != 4 {
		return nil, decodeError("float4", "binary", src)
	}
	return float64(math.Float32frombits(binary.BigEndian.Uint32(src))), nil
}

func decodeBinaryFloat8(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) != 8 {
		return nil, decodeError("float8", "binary", src)
	}
	return math.Float64frombits(binary.BigEndian.Uint64(src)), nil
}

func decodeBinaryBool(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) != 1 || src[0] > 1 {
		return nil, decodeError("bool", "binary", src)
	}
	return src[0] == 1, nil
}

// decodeBinaryJSONB strips the format version byte (1, the only version
// PostgreSQL has defined) from the jsonb text that follows it.
func decodeBinaryJSONB(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) == 0 || src[0] != 1 {
		if len(src) > 0 {
			return nil, fmt.Errorf("pgpipe: unsupported jsonb binary format version %d", src[0])
		}
		return nil, decodeError("jsonb", "binary", src)
	}
	return src[1:], nil
}

func decodeBinaryDate(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) != 4 {
		return nil, decodeError("date", "binary", src)
	}
	switch d := int32(binary.BigEndian.Uint32(src)); d {
	case math.MaxInt32:
		return "infinity", nil
	case math.MinInt32:
		return "-infinity", nil
	default:
		return time.Unix((int64(d)+unixToPGDays)*secondsPerDay, 0).UTC(), nil
	}
}

func decodeBinaryTimestamp(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) != 8 {
		return nil, decodeError("timestamp", "binary", src)
	}
	t, inf := pgMicros(src)
	if inf != nil {
		return inf, nil
	}
	return t.UTC(), nil
}

func decodeBinaryTimestamptz(src []byte, loc *time.Location) (driver.Value, error) {
	if len(src) != 8 {
		return nil, decodeError("timestamptz", "binary", src)
	}
	t, inf := pgMicros(src)
	if inf != nil {
		return inf, nil
	}
	if loc == nil {
		return t.UTC(), nil
	}
	return t.In(loc), nil
}

// pgMicros reads 8 bytes of microseconds since 2000-01-01 UTC. For the
// infinite values it returns the string to report instead.
func pgMicros(src []byte) (time.Time, driver.Value) {
	us := int64(binary.BigEndian.Uint64(src))
	switch us {
	case math.MaxInt64:
		return time.Time{}, "infinity"
	case math.MinInt64:
		return time.Time{}, "-infinity"
	}
	sec, rem := us/1e6, us%1e6
	if rem < 0 {
		sec, rem = sec-1, rem+1e6
	}
	return time.Unix(sec+unixToPGDays*secondsPerDay, rem*1e3), nil
}

// decodeBinaryUUID formats the 16 bytes of a uuid as uuid_out does.
func decodeBinaryUUID(src []byte, _ *time.Location) (driver.Value, error) {
	if len(src) != 16 {
		return nil, decodeError("uuid", "binary", src)
	}
	const digits = "0123456789abcdef"
	var out [36]byte
	j := 0
	for i, b := range src {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = digits[b>>4], digits[b&0xf]
		j += 2
	}
	return string(out[:]), nil
}
