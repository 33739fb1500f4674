package codec

import (
	"bytes"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"
)

// encodeBinaryValue runs v through CheckArg and the binary encoder for oid,
// as the COPY code does, and returns the bytes it appended.
func encodeBinaryValue(t *testing.T, oid uint32, v any) ([]byte, error) {
	t.Helper()
	enc := BinaryEncoderFor(oid)
	if enc == nil {
		t.Fatalf("no binary encoder for %s", binaryTypeName(oid))
	}
	checked, err := CheckArg(v)
	if errors.Is(err, driver.ErrSkip) {
		checked, err = driver.DefaultParameterConverter.ConvertValue(v)
	}
	if err != nil {
		t.Fatalf("checkArg(%#v): %v", v, err)
	}
	if IsNull(checked) {
		t.Fatalf("checkArg(%#v) is NULL", v)
	}
	out, err := enc([]byte("prefix:"), checked)
	if !bytes.HasPrefix(out, []byte("prefix:")) {
		t.Fatalf("encoding %#v as %s overwrote the buffer: %q", v, binaryTypeName(oid), out)
	}
	return out[len("prefix:"):], err
}

func mustEncodeBinary(t *testing.T, oid uint32, v any) []byte {
	t.Helper()
	out, err := encodeBinaryValue(t, oid, v)
	if err != nil {
		t.Fatalf("encoding %#v as %s: %v", v, binaryTypeName(oid), err)
	}
	return out
}

type binaryCase struct {
	oid  uint32
	v    any
	want driver.Value // as the binary decoder returns it
}

func TestBinaryEncodersRoundTripThroughTheDecoders(t *testing.T) {
	east := time.FixedZone("", 2*3600)
	west := time.FixedZone("", -5*3600)
	const uuidText = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
	uuidBytes, _ := hex.DecodeString(strings.ReplaceAll(uuidText, "-", ""))
	cases := []binaryCase{
		{OIDBool, true, true},
		{OIDBool, false, false},
		{OIDBool, " YES ", true},
		{OIDBool, "of", false},
		{OIDBool, "t", true},
		{OIDBool, 1, true},
		{OIDBool, status("false"), false},
		{OIDInt2, int8(-5), int64(-5)},
		{OIDInt2, uint16(32767), int64(32767)},
		{OIDInt2, " 42 ", int64(42)},
		{OIDInt2, float64(-3), int64(-3)},
		{OIDInt2, decimal{coef: []byte{0x30, 0x0c}, exp: -2}, int64(123)}, // 12300e-2
		{OIDInt2, score(7), int64(7)},
		{OIDInt4, math.MinInt32, int64(math.MinInt32)},
		{OIDInt4, "+2147483647", int64(math.MaxInt32)},
		{OIDInt4, decimal{coef: []byte{5}, exp: 3, neg: true}, int64(-5000)},
		{OIDInt8, int64(math.MinInt64), int64(math.MinInt64)},
		{OIDInt8, uint64(math.MaxInt64), int64(math.MaxInt64)},
		{OIDInt8, float32(1 << 40), int64(1 << 40)},
		{OIDOID, uint32(math.MaxUint32), int64(math.MaxUint32)},
		{OIDFloat4, float32(1.5), 1.5},
		{OIDFloat4, 0.1, float64(float32(0.1))},
		{OIDFloat4, 1 << 24, float64(1 << 24)},
		{OIDFloat4, "NaN", math.NaN()},
		{OIDFloat4, "-Infinity", math.Inf(-1)},
		{OIDFloat4, "1e-40", float64(float32(1e-40))},
		{OIDFloat8, 0.1, 0.1},
		{OIDFloat8, math.Inf(1), math.Inf(1)},
		{OIDFloat8, float32(0.1), float64(float32(0.1))},
		{OIDFloat8, int64(1 << 53), float64(1 << 53)},
		{OIDFloat8, uint64(1 << 63), float64(1 << 63)},
		{OIDFloat8, " 1e-300 ", 1e-300},
		{OIDFloat8, "inf", math.Inf(1)},
		{OIDFloat8, decimal{coef: []byte{15}, exp: -1}, 1.5},
		{OIDBytea, []byte{0, 1, 0xff}, []byte{0, 1, 0xff}},
		{OIDBytea, `\x41`, []byte(`\x41`)},
		{OIDBytea, blob("named"), []byte("named")},
		{OIDJSON, `{"a": 1}`, []byte(`{"a": 1}`)},
		{OIDJSON, json.RawMessage(`[1]`), []byte(`[1]`)},
		{OIDJSONB, `{"a": 1}`, []byte(`{"a": 1}`)},
		{OIDJSONB, []byte(`null`), []byte(`null`)},
		{OIDUUID, uuidText, uuidText},
		{OIDUUID, "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}", uuidText},
		{OIDUUID, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", uuidText},
		{OIDUUID, uuidBytes, uuidText},
		{OIDUUID, []byte(uuidText), uuidText},
		{OIDText, "héllo, 世界", "héllo, 世界"},
		{OIDText, "", ""},
		{OIDVarchar, []byte("bytes"), "bytes"},
		{OIDBPChar, 42, "42"},
		{OIDName, 1.5, "1.5"},
		{OIDUnknown, true, "t"},
		{OIDText, status("named"), "named"},
		{OIDText, decimal{coef: []byte{0x30, 0x39}, exp: -2, neg: true}, "-123.45"},
		{OIDText, time.Date(2024, 3, 31, 2, 30, 0, 0, east), "2024-03-31 02:30:00+02:00"},
		{OIDDate, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), utc(2000, 1, 1, 0, 0, 0, 0)},
		{OIDDate, time.Date(2024, 3, 31, 23, 59, 59, 999999999, east), utc(2024, 3, 31, 0, 0, 0, 0)},
		{OIDDate, time.Date(2024, 3, 31, 0, 30, 0, 0, east), utc(2024, 3, 31, 0, 0, 0, 0)},
		{OIDDate, time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC), utc(-43, 3, 15, 0, 0, 0, 0)},
		{OIDDate, "2024-02-29", utc(2024, 2, 29, 0, 0, 0, 0)},
		{OIDDate, "0044-03-15 BC", utc(-43, 3, 15, 0, 0, 0, 0)},
		{OIDDate, "Infinity", "infinity"},
		{OIDDate, "-infinity", "-infinity"},
		{OIDTimestamp, time.Date(2024, 3, 31, 2, 30, 0, 123456000, east), utc(2024, 3, 31, 2, 30, 0, 123456000)},
		{OIDTimestamp, time.Date(2024, 3, 31, 21, 0, 0, 0, west), utc(2024, 3, 31, 21, 0, 0, 0)},
		{OIDTimestamp, time.Date(2000, 1, 1, 0, 0, 0, 500, time.UTC), utc(2000, 1, 1, 0, 0, 0, 0)},
		{OIDTimestamp, time.Date(2000, 1, 1, 0, 0, 0, 1500, time.UTC), utc(2000, 1, 1, 0, 0, 0, 2000)},
		{OIDTimestamp, time.Date(2000, 1, 1, 0, 0, 0, 2500, time.UTC), utc(2000, 1, 1, 0, 0, 0, 2000)},
		{OIDTimestamp, time.Date(1999, 12, 31, 23, 59, 59, 999999500, time.UTC), utc(2000, 1, 1, 0, 0, 0, 0)},
		{OIDTimestamp, time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC), utc(-4713, 11, 24, 0, 0, 0, 0)},
		{OIDTimestamp, time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC), utc(294276, 12, 31, 23, 59, 59, 999999000)},
		{OIDTimestamp, time.Date(2024, 1, 1, 12, 0, 0, 0, time.FixedZone("", 16*3600)), utc(2023, 12, 31, 20, 0, 0, 0)},
		{OIDTimestamp, "2024-03-31 02:30:00.5", utc(2024, 3, 31, 2, 30, 0, 500000000)},
		{OIDTimestamp, "infinity", "infinity"},
		{OIDTimestamptz, time.Date(2024, 3, 31, 2, 30, 0, 0, east), utc(2024, 3, 31, 0, 30, 0, 0)},
		{OIDTimestamptz, time.Date(1, 1, 1, 0, 0, 0, 0, west), utc(1, 1, 1, 5, 0, 0, 0)},
		{OIDTimestamptz, "2024-03-31 02:30:00+02", utc(2024, 3, 31, 0, 30, 0, 0)},
		{OIDTimestamptz, "1800-01-01 12:53:28+00:53:28 BC", utc(-1799, 1, 1, 12, 0, 0, 0)},
		{OIDTimestamptz, "-INFINITY", "-infinity"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%T(%v)", binaryTypeName(tc.oid), tc.v, tc.v), func(t *testing.T) {
			out := mustEncodeBinary(t, tc.oid, tc.v)
			got, err := DecoderFor(tc.oid, FormatBinary)(out, nil)
			if err != nil {
				t.Fatalf("decoding %x: %v", out, err)
			}
			if !sameValue(got, tc.want) {
				t.Errorf("got %#v (%x), want %#v", got, out, tc.want)
			}
		})
	}
}

func TestBinaryEncodersWriteTheServersBytes(t *testing.T) {
	// want: the send function's output, from PostgreSQL 15 (numeric_send,
	// timestamp_send, array_send, ...).
	cases := []struct {
		oid  uint32
		v    any
		want string
	}{
		{OIDNumeric, "123.45", "0002 0000 0000 0002 007b 1194"},
		{OIDNumeric, "-0.001", "0001 ffff 4000 0003 000a"},
		{OIDNumeric, "0", "0000 0000 0000 0000"},
		{OIDNumeric, "-0.000", "0000 0000 0000 0003"},
		{OIDNumeric, "NaN", "0000 0000 c000 0000"},
		{OIDNumeric, "Infinity", "0000 0000 d000 0000"},
		{OIDNumeric, "-inf", "0000 0000 f000 0000"},
		{OIDNumeric, "1e-5", "0001 fffe 0000 0005 03e8"},
		{OIDNumeric, "10000", "0001 0001 0000 0000 0001"},
		{OIDNumeric, "1.5e10", "0001 0002 0000 0000 0096"},
		{OIDNumeric, 20000.01, "0003 0001 0000 0002 0002 0000 0064"},
		{OIDTimestamp, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "0000 0000 0000 0000"},
		{OIDTimestamptz, time.Date(2000, 1, 1, 1, 0, 0, 1000, time.FixedZone("", 3600)), "0000 0000 0000 0001"},
		{OIDDate, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "0000 0000"},
		{OIDDate, time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), "ffff ffff"},
		{OIDDate, "infinity", "7fff ffff"},
		{OIDTimestamp, "-infinity", "8000 0000 0000 0000"},
		{OIDTime, time.Date(2024, 3, 31, 23, 59, 59, 999999600, time.UTC), "0000 0014 1dd7 6000"},
		{OIDTime, "00:00:01.5", "0000 0000 0016 e360"},
		{OIDInt2, -2, "fffe"},
		{OIDFloat4, 1, "3f80 0000"},
		{OIDBool, true, "01"},
		{OIDJSONB, `{}`, "01 7b7d"},
		{OIDInt4Array, [][]any{{1, 2}, {3, nil}},
			"00000002 00000001 00000017 00000002 00000001 00000002 00000001" +
				"00000004 00000001 00000004 00000002 00000004 00000003 ffffffff"},
		{OIDInt4Array, []int{}, "00000000 00000000 00000017"},
		{OIDTextArray, []string{"a"}, "00000001 00000000 00000019 00000001 00000001 00000001 61"},
	}
	for _, tc := range cases {
		want, err := hex.DecodeString(strings.ReplaceAll(tc.want, " ", ""))
		if err != nil {
			t.Fatal(err)
		}
		if got := mustEncodeBinary(t, tc.oid, tc.v); !bytes.Equal(got, want) {
			t.Errorf("%#v as %s: got % x, want % x", tc.v, binaryTypeName(tc.oid), got, want)
		}
	}
}

func TestBinaryNumericKeepsTheDisplayScaleOfTheText(t *testing.T) {
	thousandNines := strings.Repeat("9", 1000)
	cases := []struct {
		v    any
		want string // numeric_out of the same value, from PostgreSQL 15
	}{
		{"123.45", "123.45"},
		{"  -0.001 ", "-0.001"},
		{"00012.3400", "12.3400"},
		{".5", "0.5"},
		{"5.", "5"},
		{"1.e3", "1000"},
		{"-.5e-3", "-0.0005"},
		{"1.5e10", "15000000000"},
		{"1E+05", "100000"},
		{"12345678.87654321", "12345678.87654321"},
		{"0.00000001", "0.00000001"},
		{"-0", "0"},
		{"0e-5", "0.00000"},
		{"nan", "NaN"},
		{"+Infinity", "Infinity"},
		{thousandNines, thousandNines},
		{"-" + thousandNines + "." + thousandNines, "-" + thousandNines + "." + thousandNines},
		{"1e131071", "1" + strings.Repeat("0", 131071)},
		{"1e-16383", "0." + strings.Repeat("0", 16382) + "1"},
		{0, "0"},
		{int8(-128), "-128"},
		{uint64(math.MaxUint64), "18446744073709551615"},
		{int64(math.MinInt64), "-9223372036854775808"},
		{0.1, "0.1"},
		{float32(0.1), "0.1"},
		{-1.5e-7, "-0.00000015"},
		{1e22, "10000000000000000000000"},
		{math.NaN(), "NaN"},
		{math.Inf(-1), "-Infinity"},
		{decimal{coef: []byte{0x30, 0x39}, exp: -2}, "123.45"},
		{decimal{coef: []byte{1}, exp: 3, neg: true}, "-1000"},
		{decimal{coef: []byte{0}, exp: -2}, "0.00"},
		{decimal{coef: bytes.Repeat([]byte{0xff}, 20), exp: -10}, bigDecimalText(bytes.Repeat([]byte{0xff}, 20), 10)},
		{decimal{form: 1, neg: true}, "-Infinity"},
		{decimal{form: 2}, "NaN"},
	}
	for _, tc := range cases {
		out := mustEncodeBinary(t, OIDNumeric, tc.v)
		got, err := numericBinaryText(out)
		if err != nil {
			t.Errorf("%v: %v", tc.v, err)
		} else if got != tc.want {
			t.Errorf("%.40v: got %.60s, want %.60s", tc.v, got, tc.want)
		}
	}
}

// bigDecimalText writes coef·10^-scale with scale digits after the point.
func bigDecimalText(coef []byte, scale int) string {
	s := new(big.Int).SetBytes(coef).String()
	return s[:len(s)-scale] + "." + s[len(s)-scale:]
}

// numericBinaryText formats numeric's binary form as numeric_out does,
// checking it as numeric_recv does.
func numericBinaryText(b []byte) (string, error) {
	if len(b) < 8 {
		return "", fmt.Errorf("numeric of %d bytes", len(b))
	}
	ndigits := int(binary.BigEndian.Uint16(b))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	dscale := int(binary.BigEndian.Uint16(b[6:]))
	if len(b) != 8+2*ndigits {
		return "", fmt.Errorf("numeric with %d digits in %d bytes", ndigits, len(b))
	}
	switch sign {
	case 0xC000:
		return "NaN", nil
	case 0xD000:
		return "Infinity", nil
	case 0xF000:
		return "-Infinity", nil
	}
	if (sign != 0 && sign != 0x4000) || dscale > 0x3FFF {
		return "", fmt.Errorf("bad sign %x or dscale %d", sign, dscale)
	}
	digits := make([]int, ndigits)
	for i := range digits {
		digits[i] = int(binary.BigEndian.Uint16(b[8+2*i:]))
		if digits[i] >= 10000 {
			return "", fmt.Errorf("digit %d", digits[i])
		}
	}
	if ndigits > 0 && (digits[0] == 0 || digits[ndigits-1] == 0) {
		return "", fmt.Errorf("digits %v not stripped", digits)
	}
	if ndigits > 0 && weight-(ndigits-1) < 0 && -4*(weight-(ndigits-1)) > dscale+3 {
		return "", errors.New("digits beyond dscale")
	}
	if sign == 0x4000 && ndigits == 0 {
		return "", errors.New("negative zero")
	}
	return formatNumericDigits(sign == 0x4000, digits, weight, dscale), nil
}

// formatNumericDigits writes base-10000 digits, the first of the given
// weight, with dscale decimal digits after the point, as numeric_out does.
func formatNumericDigits(neg bool, digits []int, weight, dscale int) string {
	digit := func(i int) int { // the base-10000 digit of weight weight-i
		if i < 0 || i >= len(digits) {
			return 0
		}
		return digits[i]
	}
	var sb strings.Builder
	if neg {
		sb.WriteByte('-')
	}
	if weight < 0 {
		sb.WriteByte('0')
	} else {
		fmt.Fprintf(&sb, "%d", digit(0))
		for i := 1; i <= weight; i++ {
			fmt.Fprintf(&sb, "%04d", digit(i))
		}
	}
	if dscale > 0 {
		var frac strings.Builder
		for i := weight + 1; frac.Len() < dscale; i++ {
			fmt.Fprintf(&frac, "%04d", digit(i))
		}
		sb.WriteByte('.')
		sb.WriteString(frac.String()[:dscale])
	}
	return sb.String()
}

func TestBinaryArraysRoundTrip(t *testing.T) {
	n := 7
	var nilPtr *int
	ts := time.Date(2024, 3, 31, 2, 30, 0, 0, time.UTC)
	cases := []struct {
		oid  uint32
		v    any
		dims []int
		want []driver.Value // flattened; nil is NULL
	}{
		{OIDInt8Array, []int64{1, -2, 3}, []int{3}, []driver.Value{int64(1), int64(-2), int64(3)}},
		{OIDInt2Array, []*int{&n, nilPtr}, []int{2}, []driver.Value{int64(7), nil}},
		{OIDInt4Array, [][]int32{{1, 2, 3}, {4, 5, 6}}, []int{2, 3}, []driver.Value{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6)}},
		{OIDByteaArray, [][][]uint8{{{1}, {2}}}, []int{1, 2}, []driver.Value{[]byte{1}, []byte{2}}}, // []uint8 is an element
		{OIDTextArray, []any{"a", nil, 5, status("s")}, []int{4}, []driver.Value{"a", nil, "5", "s"}},
		{OIDVarcharArray, []status{"x", "y"}, []int{2}, []driver.Value{"x", "y"}},
		{OIDFloat8Array, []float32{0.5}, []int{1}, []driver.Value{0.5}},
		{OIDBoolArray, []bool{true, false}, []int{2}, []driver.Value{true, false}},
		{OIDByteaArray, [][]byte{{1}, nil, {}}, []int{3}, []driver.Value{[]byte{1}, nil, []byte{}}},
		{OIDJSONBArray, []json.RawMessage{json.RawMessage(`1`), nil}, []int{2}, []driver.Value{[]byte(`1`), nil}},
		{OIDTimestamptzArray, []time.Time{ts}, []int{1}, []driver.Value{ts}},
		{OIDTimestamptzArray, []*time.Time{&ts, nil}, []int{2}, []driver.Value{ts, nil}},
		{OIDTextArray, []upperValuer{"a"}, []int{1}, []driver.Value{"A"}},
		{OIDTextArray, []*ptrValuer{nil, {"p"}}, []int{2}, []driver.Value{nil, "p"}},
		{OIDTextArray, []driver.Valuer{valuerOf(nil), valuerOf("v")}, []int{2}, []driver.Value{nil, "v"}},
		{OIDInt4Array, [][]int{{}, {}}, nil, nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%T", binaryTypeName(tc.oid), tc.v), func(t *testing.T) {
			out := mustEncodeBinary(t, tc.oid, tc.v)
			dims, got, err := decodeBinaryArray(out, binaryArrayElems[tc.oid])
			if err != nil {
				t.Fatalf("decoding %x: %v", out, err)
			}
			if fmt.Sprint(dims) != fmt.Sprint(tc.dims) || len(got) != len(tc.want) {
				t.Fatalf("got dims %v, %d elements; want %v, %d", dims, len(got), tc.dims, len(tc.want))
			}
			for i := range got {
				if (got[i] == nil) != (tc.want[i] == nil) || got[i] != nil && !sameValue(got[i], tc.want[i]) {
					t.Errorf("element %d: got %#v, want %#v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// decodeBinaryArray reads array_send's format as array_recv does for an
// array of type elem, decoding the elements with the binary decoders.
func decodeBinaryArray(b []byte, elem uint32) (dims []int, elems []driver.Value, err error) {
	u32 := func() (uint32, error) {
		if len(b) < 4 {
			return 0, errors.New("short array")
		}
		v := binary.BigEndian.Uint32(b)
		b = b[4:]
		return v, nil
	}
	ndim, _ := u32()
	flags, _ := u32()
	oid, err := u32()
	if err != nil || ndim > maxArrayDims || flags > 1 || oid != elem {
		return nil, nil, fmt.Errorf("bad header ndim %d flags %d oid %d (%v)", ndim, flags, oid, err)
	}
	total := 1
	for range ndim {
		n, _ := u32()
		lb, err := u32()
		if err != nil || lb != 1 {
			return nil, nil, fmt.Errorf("bad dimension %d lower bound %d (%v)", n, lb, err)
		}
		dims, total = append(dims, int(n)), total*int(n)
	}
	if ndim == 0 {
		total = 0
	}
	sawNull := false
	for range total {
		n, err := u32()
		switch {
		case err != nil:
			return nil, nil, err
		case n == math.MaxUint32:
			sawNull = true
			elems = append(elems, nil)
			continue
		case int(n) > len(b):
			return nil, nil, fmt.Errorf("element of %d bytes in %d", n, len(b))
		}
		v, err := DecoderFor(elem, FormatBinary)(b[:n], nil)
		if err != nil {
			return nil, nil, err
		}
		elems, b = append(elems, v), b[n:]
	}
	if len(b) != 0 || sawNull != (flags == 1) {
		return nil, nil, fmt.Errorf("%d bytes left, has-null flag %d", len(b), flags)
	}
	return dims, elems, nil
}

func TestBinaryEncodersRejectWhatTheyCannotWrite(t *testing.T) {
	cases := []struct {
		oid  uint32
		v    any
		want string
	}{
		{OIDInt4, 1.5, "pgpipe: cannot encode float64 1.5 as int4"},
		{OIDInt2, 70000, "pgpipe: value 70000 out of range for int2"},
		{OIDInt2, "70000", `pgpipe: value "70000" out of range for int2`},
		{OIDInt8, uint64(math.MaxUint64), "pgpipe: value 18446744073709551615 out of range for int8"},
		{OIDInt8, "9223372036854775808", `out of range for int8`},
		{OIDInt8, 1e19, "pgpipe: value 1e+19 out of range for int8"},
		{OIDInt8, math.NaN(), "pgpipe: cannot encode float64 NaN as int8"},
		{OIDInt4, "1e3", `pgpipe: cannot encode string "1e3" as int4`},
		{OIDInt4, true, "pgpipe: cannot encode bool true as int4"},
		{OIDInt4, decimal{coef: []byte{15}, exp: -1}, "pgpipe: cannot encode codec.decimal 1.5 as int4: not an integer in range"},
		{OIDOID, -1, "pgpipe: value -1 out of range for oid"},
		{OIDBool, 2, "pgpipe: value 2 out of range for bool"},
		{OIDBool, "o", `pgpipe: cannot encode string "o" as bool`},
		{OIDFloat8, int64(1<<53 + 1), "pgpipe: cannot encode int64 9007199254740993 as float8: not exactly representable"},
		{OIDFloat4, 1<<24 + 1, "not exactly representable"},
		{OIDFloat4, 1e39, "pgpipe: value 1e+39 out of range for float4"},
		{OIDFloat4, 1e-46, "out of range for float4"},
		{OIDFloat4, "1e39", `pgpipe: value "1e39" out of range for float4`},
		{OIDFloat8, "1e-400", `out of range for float8`},
		{OIDFloat8, "abc", `pgpipe: cannot encode string "abc" as float8`},
		{OIDFloat8, []byte("1"), "pgpipe: cannot encode []byte (1 bytes) as float8"},
		{OIDNumeric, "1e131072", `pgpipe: value "1e131072" out of range for numeric`},
		{OIDNumeric, "1e-16384", `out of range for numeric`},
		{OIDNumeric, "0e-20000", `out of range for numeric`},
		{OIDNumeric, "1e9999999999", `out of range for numeric`},
		{OIDNumeric, "1_000", `pgpipe: cannot encode string "1_000" as numeric`},
		{OIDNumeric, ".", `cannot encode string "." as numeric`},
		{OIDNumeric, "1e", `cannot encode string "1e" as numeric`},
		{OIDNumeric, "-NaN", `cannot encode string "-NaN" as numeric`},
		{OIDNumeric, "infinit", `cannot encode string "infinit" as numeric`},
		{OIDNumeric, true, "pgpipe: cannot encode bool true as numeric"},
		{OIDText, "a\x00b", `pgpipe: cannot encode string "a\x00b" as text: it contains a NUL byte at offset 1`},
		{OIDVarchar, []byte("\xff"), "pgpipe: cannot encode []byte (1 bytes) as varchar: it is not valid UTF-8"},
		{OIDText, []int{1}, "pgpipe: cannot encode []int as text"},
		{OIDBytea, 5, "pgpipe: cannot encode int 5 as bytea"},
		{OIDJSONB, 5, "pgpipe: cannot encode int 5 as jsonb"},
		{OIDUUID, "a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11-", "pgpipe: cannot encode string"},
		{OIDUUID, " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "as uuid"},
		{OIDUUID, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "as uuid"},
		{OIDUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g", "as uuid"},
		{OIDUUID, []byte{1, 2}, "pgpipe: cannot encode []byte (2 bytes) as uuid"},
		{OIDDate, "2024-02-30", `pgpipe: cannot encode string "2024-02-30" as date`},
		{OIDDate, time.Date(-4713, 11, 23, 0, 0, 0, 0, time.UTC), "pgpipe: value -4713-11-23T00:00:00Z out of range for date"},
		{OIDDate, time.Date(5874898, 1, 1, 0, 0, 0, 0, time.UTC), "out of range for date"},
		{OIDTimestamp, time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC), "out of range for timestamp"},
		{OIDTimestamp, time.Date(294276, 12, 31, 23, 59, 59, 999999500, time.UTC), "out of range for timestamp"},
		{OIDTimestamptz, time.Date(-4713, 11, 23, 23, 59, 59, 999999000, time.UTC), "out of range for timestamptz"},
		{OIDTimestamptz, time.Date(1e9, 1, 1, 0, 0, 0, 0, time.UTC), "out of range for timestamptz"},
		{OIDTimestamp, time.Unix(math.MinInt64, 0), "out of range for timestamp"},
		{OIDTime, time.Unix(math.MaxInt64, 0), "out of range for time"},
		{OIDTimestamp, "2024-03-31 02:30:00+02", `pgpipe: cannot encode string "2024-03-31 02:30:00+02" as timestamp`},
		{OIDTimestamptz, 5, "pgpipe: cannot encode int 5 as timestamptz"},
		{OIDTime, "infinity", `pgpipe: cannot encode string "infinity" as time`},
		{OIDInt4Array, []string{"1", "x"}, `pgpipe: array element [1]: cannot encode string "x" as int4`},
		{OIDInt2Array, [][]int{{1, 2}, {3, 70000}}, "pgpipe: array element [1][1]: value 70000 out of range for int2"},
		{OIDInt4Array, [][]int{{1, 2}, {3}}, "pgpipe: array element [1]: cannot encode [][]int as int4[]: ragged multi-dimensional slice: 1 elements where the first has 2"},
		{OIDInt4Array, [][][][][][][]int{}, "pgpipe: cannot encode [][][][][][][]int as int4[]: more than 6 dimensions"},
		{OIDInt4Array, []any{[]int{1}}, "pgpipe: array element [0]: cannot encode []interface {} as int4[]: unsupported element type []int"},
		{OIDTextArray, []driver.Valuer{failValuer{}}, "pgpipe: array element [0]: codec.failValuer.Value: boom"},
		{OIDInt4Array, "{1}", `pgpipe: cannot encode string "{1}" as int4[]`},
		{OIDInt4Array, []loopValuer{{}}, "pgpipe: array element [0]: cannot encode []codec.loopValuer as int4[]: too many indirections"},
	}
	for _, tc := range cases {
		enc := BinaryEncoderFor(tc.oid)
		v, err := CheckArg(tc.v)
		if err != nil {
			v = tc.v
		}
		out, err := enc(nil, v)
		if err == nil {
			t.Errorf("%#v as %s: no error, wrote %x", tc.v, binaryTypeName(tc.oid), out)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "pgpipe: ") || strings.Count(msg, "pgpipe: ") != 1 {
			t.Errorf("%#v as %s: got error %q, want %q", tc.v, binaryTypeName(tc.oid), msg, tc.want)
		}
	}
}

func TestBinaryArrayErrorsUnwrapTheValuersError(t *testing.T) {
	_, err := BinaryEncoderFor(OIDTextArray)(nil, []driver.Valuer{failValuer{}})
	var e *binaryEncodeError
	if !errors.As(err, &e) || e.err == nil || e.err.Error() != "boom" {
		t.Errorf("got %v, want a binaryEncodeError wrapping boom", err)
	}
}

func TestBinaryEncodersTakeValuesThatDoNotPassCheckArg(t *testing.T) {
	// database/sql rejects these, but the COPY code may pass them on.
	cases := []struct {
		oid  uint32
		v    any
		want string // hex
	}{
		{OIDUUID, [16]byte{15: 1}, "00000000000000000000000000000001"},
		{OIDUUIDArray, [][16]byte{{15: 1}}, "00000001 00000000 00000b86 00000001 00000001 00000010 00000000000000000000000000000001"},
		{OIDInt2, status("7"), "0007"},
		{OIDInt2Array, []int{7}, "00000001 00000000 00000015 00000001 00000001 00000002 0007"},
	}
	for _, tc := range cases {
		got, err := BinaryEncoderFor(tc.oid)(nil, tc.v)
		if want := strings.ReplaceAll(tc.want, " ", ""); err != nil || hex.EncodeToString(got) != want {
			t.Errorf("%#v as %s: got %x, %v; want %s", tc.v, binaryTypeName(tc.oid), got, err, want)
		}
	}
}

func TestBinaryEncoderForTypesWithoutOne(t *testing.T) {
	for _, oid := range []uint32{OIDInterval, OIDTimetz, OIDInet, OIDCidr, OIDXML, OIDChar, OIDMoney,
		OIDIntervalArray, OIDRecord, OIDVoid, 0, 99999} {
		if BinaryEncoderFor(oid) != nil {
			t.Errorf("%s has a binary encoder; the COPY code would not fall back to text", binaryTypeName(oid))
		}
	}
}

func TestIsNullArgMatchesAppendArg(t *testing.T) {
	for _, v := range []any{nil, []byte(nil), json.RawMessage(nil), []int(nil), blob(nil),
		[]byte{}, "", 0, json.RawMessage{}, []int{}, time.Time{}} {
		checked, err := CheckArg(v)
		if err != nil {
			t.Fatal(err)
		}
		_, _, null, err := AppendArg(nil, checked)
		if err != nil {
			t.Fatal(err)
		}
		if IsNull(v) != null || IsNull(checked) != null {
			t.Errorf("isNullArg(%#v) = %v, isNullArg(%#v) = %v; appendArg says NULL = %v", v, IsNull(v), checked, IsNull(checked), null)
		}
	}
}

func TestBinaryEncodersRejectNULL(t *testing.T) {
	for _, v := range []any{nil, []byte(nil), json.RawMessage(nil)} {
		out, err := BinaryEncoderFor(OIDBytea)([]byte("x"), v)
		if want := "pgpipe: internal error: the binary encoder of bytea was given NULL"; err == nil || !strings.HasPrefix(err.Error(), want) || string(out) != "x" {
			t.Errorf("encoding %#v: got %q, %v; want an error starting %q", v, out, err, want)
		}
	}
}

func TestBinaryEncodersDoNotAllocateForCommonValues(t *testing.T) {
	buf := make([]byte, 0, 256)
	cases := []struct {
		oid uint32
		v   any
	}{
		{OIDInt4, any(int64(123456))},
		{OIDInt8, any(int(-7))},
		{OIDInt2, any(uint8(7))},
		{OIDFloat8, any(1.5)},
		{OIDFloat4, any(float32(1.5))},
		{OIDFloat8, any(int64(3))},
		{OIDBool, any(true)},
		{OIDText, any("some text")},
		{OIDVarchar, any([]byte("some bytes"))},
		{OIDBytea, any([]byte{1, 2, 3})},
		{OIDJSONB, any(`{"a":1}`)},
		{OIDUUID, any("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")},
		{OIDTimestamptz, any(time.Date(2024, 3, 31, 2, 30, 0, 123456789, time.UTC))},
		{OIDTimestamp, any(time.Date(2024, 3, 31, 2, 30, 0, 123456789, time.FixedZone("", 3600)))},
		{OIDDate, any(time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC))},
		{OIDNumeric, any("12345.678")},
		{OIDNumeric, any(int64(-1234567890))},
		{OIDNumeric, any(0.1)},
		{OIDNumeric, any(decimal{coef: []byte{0x30, 0x39}, exp: -2})},
	}
	for _, tc := range cases {
		enc := BinaryEncoderFor(tc.oid)
		if got := testing.AllocsPerRun(100, func() { _, _ = enc(buf[:0], tc.v) }); got != 0 {
			t.Errorf("%T as %s allocates %v times", tc.v, binaryTypeName(tc.oid), got)
		}
	}
}

func BenchmarkBinaryEncodeNumericText(b *testing.B) {
	buf := make([]byte, 0, 64)
	enc := BinaryEncoderFor(OIDNumeric)
	var v any = "-12345678.87654321"
	for b.Loop() {
		_, _ = enc(buf[:0], v)
	}
}

func BenchmarkBinaryEncodeTimestamptz(b *testing.B) {
	buf := make([]byte, 0, 64)
	enc := BinaryEncoderFor(OIDTimestamptz)
	var v any = time.Date(2024, 3, 31, 1, 2, 3, 123456000, time.UTC)
	for b.Loop() {
		_, _ = enc(buf[:0], v)
	}
}
