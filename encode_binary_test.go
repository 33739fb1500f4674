package pgpipe

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

// encodeBinaryValue runs v through checkArg and the binary encoder for oid,
// as the COPY code does, and returns the bytes it appended.
func encodeBinaryValue(t *testing.T, oid uint32, v any) ([]byte, error) {
	t.Helper()
	enc := binaryEncoderFor(oid)
	if enc == nil {
		t.Fatalf("no binary encoder for %s", binaryTypeName(oid))
	}
	checked, err := checkArg(v)
	if errors.Is(err, driver.ErrSkip) {
		checked, err = driver.DefaultParameterConverter.ConvertValue(v)
	}
	if err != nil {
		t.Fatalf("checkArg(%#v): %v", v, err)
	}
	if isNullArg(checked) {
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
		{oidBool, true, true},
		{oidBool, false, false},
		{oidBool, " YES ", true},
		{oidBool, "of", false},
		{oidBool, "t", true},
		{oidBool, 1, true},
		{oidBool, status("false"), false},
		{oidInt2, int8(-5), int64(-5)},
		{oidInt2, uint16(32767), int64(32767)},
		{oidInt2, " 42 ", int64(42)},
		{oidInt2, float64(-3), int64(-3)},
		{oidInt2, decimal{coef: []byte{0x30, 0x0c}, exp: -2}, int64(123)}, // 12300e-2
		{oidInt2, score(7), int64(7)},
		{oidInt4, math.MinInt32, int64(math.MinInt32)},
		{oidInt4, "+2147483647", int64(math.MaxInt32)},
		{oidInt4, decimal{coef: []byte{5}, exp: 3, neg: true}, int64(-5000)},
		{oidInt8, int64(math.MinInt64), int64(math.MinInt64)},
		{oidInt8, uint64(math.MaxInt64), int64(math.MaxInt64)},
		{oidInt8, float32(1 << 40), int64(1 << 40)},
		{oidOID, uint32(math.MaxUint32), int64(math.MaxUint32)},
		{oidFloat4, float32(1.5), 1.5},
		{oidFloat4, 0.1, float64(float32(0.1))},
		{oidFloat4, 1 << 24, float64(1 << 24)},
		{oidFloat4, "NaN", math.NaN()},
		{oidFloat4, "-Infinity", math.Inf(-1)},
		{oidFloat4, "1e-40", float64(float32(1e-40))},
		{oidFloat8, 0.1, 0.1},
		{oidFloat8, math.Inf(1), math.Inf(1)},
		{oidFloat8, float32(0.1), float64(float32(0.1))},
		{oidFloat8, int64(1 << 53), float64(1 << 53)},
		{oidFloat8, uint64(1 << 63), float64(1 << 63)},
		{oidFloat8, " 1e-300 ", 1e-300},
		{oidFloat8, "inf", math.Inf(1)},
		{oidFloat8, decimal{coef: []byte{15}, exp: -1}, 1.5},
		{oidBytea, []byte{0, 1, 0xff}, []byte{0, 1, 0xff}},
		{oidBytea, `\x41`, []byte(`\x41`)},
		{oidBytea, blob("named"), []byte("named")},
		{oidJSON, `{"a": 1}`, []byte(`{"a": 1}`)},
		{oidJSON, json.RawMessage(`[1]`), []byte(`[1]`)},
		{oidJSONB, `{"a": 1}`, []byte(`{"a": 1}`)},
		{oidJSONB, []byte(`null`), []byte(`null`)},
		{oidUUID, uuidText, uuidText},
		{oidUUID, "{A0EEBC999C0B4EF8BB6D6BB9BD380A11}", uuidText},
		{oidUUID, "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", uuidText},
		{oidUUID, uuidBytes, uuidText},
		{oidUUID, []byte(uuidText), uuidText},
		{oidText, "héllo, 世界", "héllo, 世界"},
		{oidText, "", ""},
		{oidVarchar, []byte("bytes"), "bytes"},
		{oidBPChar, 42, "42"},
		{oidName, 1.5, "1.5"},
		{oidUnknown, true, "t"},
		{oidText, status("named"), "named"},
		{oidText, decimal{coef: []byte{0x30, 0x39}, exp: -2, neg: true}, "-123.45"},
		{oidText, time.Date(2024, 3, 31, 2, 30, 0, 0, east), "2024-03-31 02:30:00+02:00"},
		{oidDate, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), utc(2000, 1, 1, 0, 0, 0, 0)},
		{oidDate, time.Date(2024, 3, 31, 23, 59, 59, 999999999, east), utc(2024, 3, 31, 0, 0, 0, 0)},
		{oidDate, time.Date(2024, 3, 31, 0, 30, 0, 0, east), utc(2024, 3, 31, 0, 0, 0, 0)},
		{oidDate, time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC), utc(-43, 3, 15, 0, 0, 0, 0)},
		{oidDate, "2024-02-29", utc(2024, 2, 29, 0, 0, 0, 0)},
		{oidDate, "0044-03-15 BC", utc(-43, 3, 15, 0, 0, 0, 0)},
		{oidDate, "Infinity", "infinity"},
		{oidDate, "-infinity", "-infinity"},
		{oidTimestamp, time.Date(2024, 3, 31, 2, 30, 0, 123456000, east), utc(2024, 3, 31, 2, 30, 0, 123456000)},
		{oidTimestamp, time.Date(2024, 3, 31, 21, 0, 0, 0, west), utc(2024, 3, 31, 21, 0, 0, 0)},
		{oidTimestamp, time.Date(2000, 1, 1, 0, 0, 0, 500, time.UTC), utc(2000, 1, 1, 0, 0, 0, 0)},
		{oidTimestamp, time.Date(2000, 1, 1, 0, 0, 0, 1500, time.UTC), utc(2000, 1, 1, 0, 0, 0, 2000)},
		{oidTimestamp, time.Date(2000, 1, 1, 0, 0, 0, 2500, time.UTC), utc(2000, 1, 1, 0, 0, 0, 2000)},
		{oidTimestamp, time.Date(1999, 12, 31, 23, 59, 59, 999999500, time.UTC), utc(2000, 1, 1, 0, 0, 0, 0)},
		{oidTimestamp, time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC), utc(-4713, 11, 24, 0, 0, 0, 0)},
		{oidTimestamp, time.Date(294276, 12, 31, 23, 59, 59, 999999000, time.UTC), utc(294276, 12, 31, 23, 59, 59, 999999000)},
		{oidTimestamp, time.Date(2024, 1, 1, 12, 0, 0, 0, time.FixedZone("", 16*3600)), utc(2023, 12, 31, 20, 0, 0, 0)},
		{oidTimestamp, "2024-03-31 02:30:00.5", utc(2024, 3, 31, 2, 30, 0, 500000000)},
		{oidTimestamp, "infinity", "infinity"},
		{oidTimestamptz, time.Date(2024, 3, 31, 2, 30, 0, 0, east), utc(2024, 3, 31, 0, 30, 0, 0)},
		{oidTimestamptz, time.Date(1, 1, 1, 0, 0, 0, 0, west), utc(1, 1, 1, 5, 0, 0, 0)},
		{oidTimestamptz, "2024-03-31 02:30:00+02", utc(2024, 3, 31, 0, 30, 0, 0)},
		{oidTimestamptz, "1800-01-01 12:53:28+00:53:28 BC", utc(-1799, 1, 1, 12, 0, 0, 0)},
		{oidTimestamptz, "-INFINITY", "-infinity"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%T(%v)", binaryTypeName(tc.oid), tc.v, tc.v), func(t *testing.T) {
			out := mustEncodeBinary(t, tc.oid, tc.v)
			got, err := decoderFor(tc.oid, formatBinary)(out, nil)
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
		{oidNumeric, "123.45", "0002 0000 0000 0002 007b 1194"},
		{oidNumeric, "-0.001", "0001 ffff 4000 0003 000a"},
		{oidNumeric, "0", "0000 0000 0000 0000"},
		{oidNumeric, "-0.000", "0000 0000 0000 0003"},
		{oidNumeric, "NaN", "0000 0000 c000 0000"},
		{oidNumeric, "Infinity", "0000 0000 d000 0000"},
		{oidNumeric, "-inf", "0000 0000 f000 0000"},
		{oidNumeric, "1e-5", "0001 fffe 0000 0005 03e8"},
		{oidNumeric, "10000", "0001 0001 0000 0000 0001"},
		{oidNumeric, "1.5e10", "0001 0002 0000 0000 0096"},
		{oidNumeric, 20000.01, "0003 0001 0000 0002 0002 0000 0064"},
		{oidTimestamp, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "0000 0000 0000 0000"},
		{oidTimestamptz, time.Date(2000, 1, 1, 1, 0, 0, 1000, time.FixedZone("", 3600)), "0000 0000 0000 0001"},
		{oidDate, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), "0000 0000"},
		{oidDate, time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), "ffff ffff"},
		{oidDate, "infinity", "7fff ffff"},
		{oidTimestamp, "-infinity", "8000 0000 0000 0000"},
		{oidTime, time.Date(2024, 3, 31, 23, 59, 59, 999999600, time.UTC), "0000 0014 1dd7 6000"},
		{oidTime, "00:00:01.5", "0000 0000 0016 e360"},
		{oidInt2, -2, "fffe"},
		{oidFloat4, 1, "3f80 0000"},
		{oidBool, true, "01"},
		{oidJSONB, `{}`, "01 7b7d"},
		{oidInt4Array, [][]any{{1, 2}, {3, nil}},
			"00000002 00000001 00000017 00000002 00000001 00000002 00000001" +
				"00000004 00000001 00000004 00000002 00000004 00000003 ffffffff"},
		{oidInt4Array, []int{}, "00000000 00000000 00000017"},
		{oidTextArray, []string{"a"}, "00000001 00000000 00000019 00000001 00000001 00000001 61"},
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
		out := mustEncodeBinary(t, oidNumeric, tc.v)
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
		{oidInt8Array, []int64{1, -2, 3}, []int{3}, []driver.Value{int64(1), int64(-2), int64(3)}},
		{oidInt2Array, []*int{&n, nilPtr}, []int{2}, []driver.Value{int64(7), nil}},
		{oidInt4Array, [][]int32{{1, 2, 3}, {4, 5, 6}}, []int{2, 3}, []driver.Value{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6)}},
		{oidByteaArray, [][][]uint8{{{1}, {2}}}, []int{1, 2}, []driver.Value{[]byte{1}, []byte{2}}}, // []uint8 is an element
		{oidTextArray, []any{"a", nil, 5, status("s")}, []int{4}, []driver.Value{"a", nil, "5", "s"}},
		{oidVarcharArray, []status{"x", "y"}, []int{2}, []driver.Value{"x", "y"}},
		{oidFloat8Array, []float32{0.5}, []int{1}, []driver.Value{0.5}},
		{oidBoolArray, []bool{true, false}, []int{2}, []driver.Value{true, false}},
		{oidByteaArray, [][]byte{{1}, nil, {}}, []int{3}, []driver.Value{[]byte{1}, nil, []byte{}}},
		{oidJSONBArray, []json.RawMessage{json.RawMessage(`1`), nil}, []int{2}, []driver.Value{[]byte(`1`), nil}},
		{oidTimestamptzArray, []time.Time{ts}, []int{1}, []driver.Value{ts}},
		{oidTimestamptzArray, []*time.Time{&ts, nil}, []int{2}, []driver.Value{ts, nil}},
		{oidTextArray, []upperValuer{"a"}, []int{1}, []driver.Value{"A"}},
		{oidTextArray, []*ptrValuer{nil, {"p"}}, []int{2}, []driver.Value{nil, "p"}},
		{oidTextArray, []driver.Valuer{valuerOf(nil), valuerOf("v")}, []int{2}, []driver.Value{nil, "v"}},
		{oidInt4Array, [][]int{{}, {}}, nil, nil},
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
		v, err := decoderFor(elem, formatBinary)(b[:n], nil)
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
		{oidInt4, 1.5, "pgpipe: cannot encode float64 1.5 as int4"},
		{oidInt2, 70000, "pgpipe: value 70000 out of range for int2"},
		{oidInt2, "70000", `pgpipe: value "70000" out of range for int2`},
		{oidInt8, uint64(math.MaxUint64), "pgpipe: value 18446744073709551615 out of range for int8"},
		{oidInt8, "9223372036854775808", `out of range for int8`},
		{oidInt8, 1e19, "pgpipe: value 1e+19 out of range for int8"},
		{oidInt8, math.NaN(), "pgpipe: cannot encode float64 NaN as int8"},
		{oidInt4, "1e3", `pgpipe: cannot encode string "1e3" as int4`},
		{oidInt4, true, "pgpipe: cannot encode bool true as int4"},
		{oidInt4, decimal{coef: []byte{15}, exp: -1}, "pgpipe: cannot encode pgpipe.decimal 1.5 as int4: not an integer in range"},
		{oidOID, -1, "pgpipe: value -1 out of range for oid"},
		{oidBool, 2, "pgpipe: value 2 out of range for bool"},
		{oidBool, "o", `pgpipe: cannot encode string "o" as bool`},
		{oidFloat8, int64(1<<53 + 1), "pgpipe: cannot encode int64 9007199254740993 as float8: not exactly representable"},
		{oidFloat4, 1<<24 + 1, "not exactly representable"},
		{oidFloat4, 1e39, "pgpipe: value 1e+39 out of range for float4"},
		{oidFloat4, 1e-46, "out of range for float4"},
		{oidFloat4, "1e39", `pgpipe: value "1e39" out of range for float4`},
		{oidFloat8, "1e-400", `out of range for float8`},
		{oidFloat8, "abc", `pgpipe: cannot encode string "abc" as float8`},
		{oidFloat8, []byte("1"), "pgpipe: cannot encode []byte (1 bytes) as float8"},
		{oidNumeric, "1e131072", `pgpipe: value "1e131072" out of range for numeric`},
		{oidNumeric, "1e-16384", `out of range for numeric`},
		{oidNumeric, "0e-20000", `out of range for numeric`},
		{oidNumeric, "1e9999999999", `out of range for numeric`},
		{oidNumeric, "1_000", `pgpipe: cannot encode string "1_000" as numeric`},
		{oidNumeric, ".", `cannot encode string "." as numeric`},
		{oidNumeric, "1e", `cannot encode string "1e" as numeric`},
		{oidNumeric, "-NaN", `cannot encode string "-NaN" as numeric`},
		{oidNumeric, "infinit", `cannot encode string "infinit" as numeric`},
		{oidNumeric, true, "pgpipe: cannot encode bool true as numeric"},
		{oidText, "a\x00b", `pgpipe: cannot encode string "a\x00b" as text: it contains a NUL byte at offset 1`},
		{oidVarchar, []byte("\xff"), "pgpipe: cannot encode []byte (1 bytes) as varchar: it is not valid UTF-8"},
		{oidText, []int{1}, "pgpipe: cannot encode []int as text"},
		{oidBytea, 5, "pgpipe: cannot encode int 5 as bytea"},
		{oidJSONB, 5, "pgpipe: cannot encode int 5 as jsonb"},
		{oidUUID, "a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11-", "pgpipe: cannot encode string"},
		{oidUUID, " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "as uuid"},
		{oidUUID, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "as uuid"},
		{oidUUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g", "as uuid"},
		{oidUUID, []byte{1, 2}, "pgpipe: cannot encode []byte (2 bytes) as uuid"},
		{oidDate, "2024-02-30", `pgpipe: cannot encode string "2024-02-30" as date`},
		{oidDate, time.Date(-4713, 11, 23, 0, 0, 0, 0, time.UTC), "pgpipe: value -4713-11-23T00:00:00Z out of range for date"},
		{oidDate, time.Date(5874898, 1, 1, 0, 0, 0, 0, time.UTC), "out of range for date"},
		{oidTimestamp, time.Date(294277, 1, 1, 0, 0, 0, 0, time.UTC), "out of range for timestamp"},
		{oidTimestamp, time.Date(294276, 12, 31, 23, 59, 59, 999999500, time.UTC), "out of range for timestamp"},
		{oidTimestamptz, time.Date(-4713, 11, 23, 23, 59, 59, 999999000, time.UTC), "out of range for timestamptz"},
		{oidTimestamptz, time.Date(1e9, 1, 1, 0, 0, 0, 0, time.UTC), "out of range for timestamptz"},
		{oidTimestamp, time.Unix(math.MinInt64, 0), "out of range for timestamp"},
		{oidTime, time.Unix(math.MaxInt64, 0), "out of range for time"},
		{oidTimestamp, "2024-03-31 02:30:00+02", `pgpipe: cannot encode string "2024-03-31 02:30:00+02" as timestamp`},
		{oidTimestamptz, 5, "pgpipe: cannot encode int 5 as timestamptz"},
		{oidTime, "infinity", `pgpipe: cannot encode string "infinity" as time`},
		{oidInt4Array, []string{"1", "x"}, `pgpipe: array element [1]: cannot encode string "x" as int4`},
		{oidInt2Array, [][]int{{1, 2}, {3, 70000}}, "pgpipe: array element [1][1]: value 70000 out of range for int2"},
		{oidInt4Array, [][]int{{1, 2}, {3}}, "pgpipe: array element [1]: cannot encode [][]int as int4[]: ragged multi-dimensional slice: 1 elements where the first has 2"},
		{oidInt4Array, [][][][][][][]int{}, "pgpipe: cannot encode [][][][][][][]int as int4[]: more than 6 dimensions"},
		{oidInt4Array, []any{[]int{1}}, "pgpipe: array element [0]: cannot encode []interface {} as int4[]: unsupported element type []int"},
		{oidTextArray, []driver.Valuer{failValuer{}}, "pgpipe: array element [0]: pgpipe.failValuer.Value: boom"},
		{oidInt4Array, "{1}", `pgpipe: cannot encode string "{1}" as int4[]`},
		{oidInt4Array, []loopValuer{{}}, "pgpipe: array element [0]: cannot encode []pgpipe.loopValuer as int4[]: too many indirections"},
	}
	for _, tc := range cases {
		enc := binaryEncoderFor(tc.oid)
		v, err := checkArg(tc.v)
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
	_, err := binaryEncoderFor(oidTextArray)(nil, []driver.Valuer{failValuer{}})
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
		{oidUUID, [16]byte{15: 1}, "00000000000000000000000000000001"},
		{oidUUIDArray, [][16]byte{{15: 1}}, "00000001 00000000 00000b86 00000001 00000001 00000010 00000000000000000000000000000001"},
		{oidInt2, status("7"), "0007"},
		{oidInt2Array, []int{7}, "00000001 00000000 00000015 00000001 00000001 00000002 0007"},
	}
	for _, tc := range cases {
		got, err := binaryEncoderFor(tc.oid)(nil, tc.v)
		if want := strings.ReplaceAll(tc.want, " ", ""); err != nil || hex.EncodeToString(got) != want {
			t.Errorf("%#v as %s: got %x, %v; want %s", tc.v, binaryTypeName(tc.oid), got, err, want)
		}
	}
}

func TestBinaryEncoderForTypesWithoutOne(t *testing.T) {
	for _, oid := range []uint32{oidInterval, oidTimetz, oidInet, oidCidr, oidXML, oidChar, oidMoney,
		oidIntervalArray, oidRecord, oidVoid, 0, 99999} {
		if binaryEncoderFor(oid) != nil {
			t.Errorf("%s has a binary encoder; the COPY code would not fall back to text", binaryTypeName(oid))
		}
	}
}

func TestIsNullArgMatchesAppendArg(t *testing.T) {
	for _, v := range []any{nil, []byte(nil), json.RawMessage(nil), []int(nil), blob(nil),
		[]byte{}, "", 0, json.RawMessage{}, []int{}, time.Time{}} {
		checked, err := checkArg(v)
		if err != nil {
			t.Fatal(err)
		}
		_, _, null, err := appendArg(nil, checked)
		if err != nil {
			t.Fatal(err)
		}
		if isNullArg(v) != null || isNullArg(checked) != null {
			t.Errorf("isNullArg(%#v) = %v, isNullArg(%#v) = %v; appendArg says NULL = %v", v, isNullArg(v), checked, isNullArg(checked), null)
		}
	}
}

func TestBinaryEncodersRejectNULL(t *testing.T) {
	for _, v := range []any{nil, []byte(nil), json.RawMessage(nil)} {
		out, err := binaryEncoderFor(oidBytea)([]byte("x"), v)
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
		{oidInt4, any(int64(123456))},
		{oidInt8, any(int(-7))},
		{oidInt2, any(uint8(7))},
		{oidFloat8, any(1.5)},
		{oidFloat4, any(float32(1.5))},
		{oidFloat8, any(int64(3))},
		{oidBool, any(true)},
		{oidText, any("some text")},
		{oidVarchar, any([]byte("some bytes"))},
		{oidBytea, any([]byte{1, 2, 3})},
		{oidJSONB, any(`{"a":1}`)},
		{oidUUID, any("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")},
		{oidTimestamptz, any(time.Date(2024, 3, 31, 2, 30, 0, 123456789, time.UTC))},
		{oidTimestamp, any(time.Date(2024, 3, 31, 2, 30, 0, 123456789, time.FixedZone("", 3600)))},
		{oidDate, any(time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC))},
		{oidNumeric, any("12345.678")},
		{oidNumeric, any(int64(-1234567890))},
		{oidNumeric, any(0.1)},
		{oidNumeric, any(decimal{coef: []byte{0x30, 0x39}, exp: -2})},
	}
	for _, tc := range cases {
		enc := binaryEncoderFor(tc.oid)
		if got := testing.AllocsPerRun(100, func() { _, _ = enc(buf[:0], tc.v) }); got != 0 {
			t.Errorf("%T as %s allocates %v times", tc.v, binaryTypeName(tc.oid), got)
		}
	}
}

func BenchmarkBinaryEncodeNumericText(b *testing.B) {
	buf := make([]byte, 0, 64)
	enc := binaryEncoderFor(oidNumeric)
	var v any = "-12345678.87654321"
	for b.Loop() {
		_, _ = enc(buf[:0], v)
	}
}

func BenchmarkBinaryEncodeTimestamptz(b *testing.B) {
	buf := make([]byte, 0, 64)
	enc := binaryEncoderFor(oidTimestamptz)
	var v any = time.Date(2024, 3, 31, 1, 2, 3, 123456000, time.UTC)
	for b.Loop() {
		_, _ = enc(buf[:0], v)
	}
}
