package codec

import (
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzOIDs lists every OID the driver knows, sorted, plus one it does not.
var fuzzOIDs = func() []uint32 {
	oids := []uint32{99999}
	for oid := range typeNames {
		oids = append(oids, oid)
	}
	slices.Sort(oids)
	return oids
}()

// fuzzOID maps any fuzzed number to a type the decoders know, keeping the
// number itself when it is one, so that seeds read as real OIDs.
func fuzzOID(n uint32) uint32 {
	if _, ok := typeNames[n]; ok {
		return n
	}
	return fuzzOIDs[n%uint32(len(fuzzOIDs))]
}

func fuzzLocation(t *testing.T, inZone bool) *time.Location {
	if !inZone {
		return nil
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// checkDecodedType fails when a decoder succeeded with a value whose type
// valueType does not promise.
func checkDecodedType(t *testing.T, oid uint32, v any) {
	t.Helper()
	if v == nil {
		if oid != OIDVoid {
			t.Fatalf("%s decoded to nil", TypeName(oid))
		}
		return
	}
	if s, ok := v.(string); ok && isTimeType(oid) && (s == "infinity" || s == "-infinity") {
		return
	}
	if got := reflect.TypeOf(v); got != valueType(oid) {
		t.Fatalf("%s decoded to %T, valueType says %v", TypeName(oid), v, valueType(oid))
	}
}

func FuzzDecodeText(f *testing.F) {
	for _, tc := range textCases {
		f.Add(tc.oid, false, []byte(tc.src))
	}
	f.Fuzz(func(t *testing.T, n uint32, inZone bool, src []byte) {
		oid := fuzzOID(n)
		loc := fuzzLocation(t, inZone)
		v, err := DecoderFor(oid, FormatText)(src, loc)
		if err != nil {
			return
		}
		checkDecodedType(t, oid, v)
		switch oid {
		case OIDInt2, OIDInt4, OIDInt8, OIDOID:
			want, err := strconv.ParseInt(string(src), 10, 64)
			if err != nil || want != v.(int64) {
				t.Fatalf("%q decoded to %v; strconv says %v, %v", src, v, want, err)
			}
		case OIDTimestamptz:
			// What the decoder read, the encoder writes back the same way.
			tm, ok := v.(time.Time)
			if !ok || tm.Year() > 1e8 || tm.Year() < -1e8 {
				return // years near the parser's limit of 9 digits may grow one in another zone
			}
			text, _, _, _ := AppendArg(nil, tm)
			again, err := DecoderFor(oid, FormatText)(text, loc)
			if err != nil || !again.(time.Time).Equal(tm) {
				t.Fatalf("%q decoded to %v, re-encoded as %q, decoded to %v, %v", src, tm, text, again, err)
			}
		}
	})
}

func FuzzDecodeBinary(f *testing.F) {
	for _, tc := range binaryCases {
		src, err := hex.DecodeString(tc.src)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tc.oid, false, src)
	}
	f.Fuzz(func(t *testing.T, n uint32, inZone bool, src []byte) {
		oid := fuzzOID(n)
		v, err := DecoderFor(oid, FormatBinary)(src, fuzzLocation(t, inZone))
		if err != nil || ResultFormat(oid) != FormatBinary {
			return
		}
		checkDecodedType(t, oid, v)
	})
}

// FuzzTimestampText encodes a time with AppendArg and decodes the text with
// the timestamptz text decoder, which must give back the same instant, to
// the nanosecond, and the same offset. For years 1 to 9999 it also checks
// both against package time: the encoder against time.Parse, and the
// decoder against a PostgreSQL-style text (microseconds, the offset as
// short as PostgreSQL prints it) made by time.Format.
func FuzzTimestampText(f *testing.F) {
	f.Add(int64(0), int64(0), int32(0))
	f.Add(int64(1711846800), int64(123456789), int32(7200))
	f.Add(int64(-62135596800), int64(0), int32(0))         // 0001-01-01
	f.Add(int64(-62135596801), int64(999999999), int32(0)) // 1 BC
	f.Add(int64(-2717640000), int64(0), int32(-17762))     // New York LMT
	f.Add(int64(253402300800), int64(1000), int32(3208))   // year 10000
	f.Add(int64(math.MaxInt64), int64(math.MinInt64), int32(math.MinInt32))
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int32) {
		const span = 1_000_000 * 366 * secondsPerDay // a million years either way
		sec %= span
		nsec = (nsec%1e9 + 1e9) % 1e9
		off := int(offset % maxTZOffset)
		tm := time.Unix(sec, nsec).In(time.FixedZone("", off))

		text, format, null, err := AppendArg(nil, tm)
		if err != nil || format != FormatText || null {
			t.Fatalf("appendArg(%v) = %q, %d, %v, %v", tm, text, format, null, err)
		}
		v, err := DecoderFor(OIDTimestamptz, FormatText)(text, nil)
		if err != nil {
			t.Fatalf("decode(%q): %v", text, err)
		}
		got := v.(time.Time)
		if _, gotOff := got.Zone(); !got.Equal(tm) || gotOff != off {
			t.Fatalf("%v encoded as %q decodes to %v", tm, text, got)
		}
		if year := tm.Year(); year < 1 || year > 9999 {
			return
		}
		checkAgainstPackageTime(t, tm, string(text))
	})
}

func checkAgainstPackageTime(t *testing.T, tm time.Time, text string) {
	t.Helper()
	_, off := tm.Zone()
	if -60 < off && off < 0 {
		// Package time gets these wrong: Format prints -39s as
		// +00:00:-39, and Parse takes -00:00:01 for no offset at all.
		return
	}
	layout := "2006-01-02 15:04:05.999999999-07:00"
	if off%60 != 0 {
		layout += ":00"
	}
	ref, err := time.Parse(layout, text)
	if err != nil || !ref.Equal(tm) {
		t.Fatalf("time.Parse reads %q as %v, %v; want %v", text, ref, err, tm)
	}

	zone := "-07"
	switch {
	case off%60 != 0:
		zone = "-07:00:00"
	case off%3600 != 0:
		zone = "-07:00"
	}
	pg := tm.Format("2006-01-02 15:04:05.999999" + zone)
	v, err := DecoderFor(OIDTimestamptz, FormatText)([]byte(pg), nil)
	if err != nil {
		t.Fatalf("decode(%q): %v", pg, err)
	}
	if want := tm.Truncate(time.Microsecond); !v.(time.Time).Equal(want) {
		t.Fatalf("decode(%q) = %v, want %v", pg, v, want)
	}
}

// FuzzArrayText encodes string slices as array literals and reads them
// back with parseArrayLiteral, an independent reader of PostgreSQL's array
// syntax, which must see the same elements.
func FuzzArrayText(f *testing.F) {
	f.Add("a", `b"c`, `d\e`)
	f.Add("NULL", "", " {x,y} ")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for _, v := range []any{[]string{a, b, c}, []any{a, nil, b, c}, [][]string{{a, b}, {c, a}}} {
			checked, err := CheckArg(v)
			if err != nil {
				t.Fatal(err)
			}
			text, _, _, err := AppendArg(nil, checked)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseArrayLiteral(string(text))
			if err != nil {
				t.Fatalf("%q: %v", text, err)
			}
			if want := flattenStrings(v); !slices.Equal(got, want) {
				t.Fatalf("%#v encoded as %q reads back as %q", v, text, got)
			}
		}
	})
}

// flattenStrings lists the elements of a string test array, "<NULL>" for
// nil.
func flattenStrings(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case [][]string:
		return slices.Concat(v...)
	case []any:
		var out []string
		for _, e := range v {
			if e == nil {
				out = append(out, "<NULL>")
			} else {
				out = append(out, e.(string))
			}
		}
		return out
	}
	panic("unexpected test array")
}

// parseArrayLiteral reads the elements of an array literal in any number
// of dimensions, following the rules of PostgreSQL's array_in: elements are
// separated by commas within braces; a quoted element ends at an unescaped
// quote, and a backslash escapes the next character; an unquoted NULL is
// SQL NULL, returned as "<NULL>".
func parseArrayLiteral(s string) ([]string, error) {
	var out []string
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{':
			depth++
		case c == '}':
			depth--
		case c == ',' && depth > 0:
		case c == '"' && depth > 0:
			var b strings.Builder
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' {
					i++
				}
				if i < len(s) {
					b.WriteByte(s[i])
				}
			}
			if i >= len(s) {
				return nil, errors.New("unterminated quoted element")
			}
			out = append(out, b.String())
		case strings.HasPrefix(s[i:], "NULL") && depth > 0:
			out = append(out, "<NULL>")
			i += 3
		default:
			return nil, errors.New("unexpected character at " + strconv.Itoa(i))
		}
	}
	if depth != 0 {
		return nil, errors.New("unbalanced braces")
	}
	return out, nil
}

// FuzzParseFloat8 checks the float8 text parser against strconv, bit for
// bit (the sign of zero, NaN's payload aside).
func FuzzParseFloat8(f *testing.F) {
	for _, s := range parseFloat8Cases {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkParseFloat8(t, s)
	})
}
