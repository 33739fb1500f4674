package codec

import (
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// encode runs v through CheckArg and AppendArg as the driver does.
func encode(t *testing.T, v any) (text string, format int16, null bool) {
	t.Helper()
	checked, err := CheckArg(v)
	if err != nil {
		t.Fatalf("checkArg(%#v): %v", v, err)
	}
	out, format, null, err := AppendArg([]byte("prefix:"), checked)
	if err != nil {
		t.Fatalf("appendArg(%#v): %v", checked, err)
	}
	text, ok := strings.CutPrefix(string(out), "prefix:")
	if !ok {
		t.Fatalf("appendArg(%#v) overwrote the buffer: %q", checked, out)
	}
	if null && text != "" {
		t.Fatalf("appendArg(%#v) is NULL but appended %q", checked, text)
	}
	return text, format, null
}

type (
	status      string
	score       int16
	idList      []int64
	blob        []byte
	nullString  = sql.NullString
	upperValuer string
	ptrValuer   struct{ s string }
	loopValuer  struct{}
	failValuer  struct{}
	statusValue struct{}
)

func (u upperValuer) Value() (driver.Value, error) { return strings.ToUpper(string(u)), nil }

func (p *ptrValuer) Value() (driver.Value, error) {
	if p == nil {
		return "nil receiver", nil
	}
	return p.s, nil
}

func (loopValuer) Value() (driver.Value, error)  { return loopValuer{}, nil }
func (failValuer) Value() (driver.Value, error)  { return nil, errors.New("boom") }
func (statusValue) Value() (driver.Value, error) { return status("named"), nil }

// decimal is a test implementation of database/sql's Decompose interface.
type decimal struct {
	form byte
	neg  bool
	coef []byte
	exp  int32
}

func (d decimal) Decompose([]byte) (byte, bool, []byte, int32) { return d.form, d.neg, d.coef, d.exp }

func TestAppendArgScalars(t *testing.T) {
	s := "str"
	var nilPtr *int
	cases := []struct {
		name   string
		v      any
		want   string
		format int16
		null   bool
	}{
		{"nil", nil, "", FormatText, true},
		{"true", true, "t", FormatText, false},
		{"false", false, "f", FormatText, false},
		{"int", int(-42), "-42", FormatText, false},
		{"int8", int8(math.MinInt8), "-128", FormatText, false},
		{"int16", int16(math.MaxInt16), "32767", FormatText, false},
		{"int32", int32(math.MinInt32), "-2147483648", FormatText, false},
		{"int64 min", int64(math.MinInt64), "-9223372036854775808", FormatText, false},
		{"uint", uint(7), "7", FormatText, false},
		{"uint8", uint8(255), "255", FormatText, false},
		{"uint16", uint16(65535), "65535", FormatText, false},
		{"uint32", uint32(math.MaxUint32), "4294967295", FormatText, false},
		{"uint64 max", uint64(math.MaxUint64), "18446744073709551615", FormatText, false},
		{"float64", 0.1, "0.1", FormatText, false},
		{"float64 exponent", 1e21, "1e+21", FormatText, false},
		{"float64 -0", math.Copysign(0, -1), "-0", FormatText, false},
		{"float64 NaN", math.NaN(), "NaN", FormatText, false},
		{"float64 +Inf", math.Inf(1), "Infinity", FormatText, false},
		{"float64 -Inf", math.Inf(-1), "-Infinity", FormatText, false},
		{"float32 shortest", float32(0.1), "0.1", FormatText, false},
		{"float32 -Inf", float32(math.Inf(-1)), "-Infinity", FormatText, false},
		{"string", "a'b\"c\\", "a'b\"c\\", FormatText, false},
		{"empty string", "", "", FormatText, false},
		{"bytes", []byte{0, 1, 0xff}, "\x00\x01\xff", FormatBinary, false},
		{"empty bytes", []byte{}, "", FormatBinary, false},
		{"nil bytes", []byte(nil), "", FormatBinary, true},
		{"named bytes", blob("x"), "x", FormatBinary, false},
		{"raw JSON", json.RawMessage(`{"a":1}`), `{"a":1}`, FormatText, false},
		{"nil raw JSON", json.RawMessage(nil), "", FormatText, true},
		{"pointer", &s, "str", FormatText, false},
		{"nil pointer", nilPtr, "", FormatText, true},
		{"Valuer", upperValuer("abc"), "ABC", FormatText, false},
		{"NullString valid", nullString{String: "x", Valid: true}, "x", FormatText, false},
		{"NullString NULL", nullString{}, "", FormatText, true},
		{"nil pointer to value-receiver Valuer", (*upperValuer)(nil), "", FormatText, true},
		{"nil pointer-receiver Valuer is called", (*ptrValuer)(nil), "nil receiver", FormatText, false},
		{"Valuer returning a named scalar", statusValue{}, "named", FormatText, false},
		{"decimal", decimal{coef: []byte{0x30, 0x39}, exp: -2}, "123.45", FormatText, false},
		{"decimal small", decimal{neg: true, coef: []byte{5}, exp: -3}, "-0.005", FormatText, false},
		{"decimal zeros", decimal{coef: []byte{7}, exp: 3}, "7000", FormatText, false},
		{"decimal big exponent", decimal{coef: []byte{7}, exp: 100}, "7e100", FormatText, false},
		{"decimal zero", decimal{}, "0", FormatText, false},
		{"decimal Infinity", decimal{form: 1, neg: true}, "-Infinity", FormatText, false},
		{"decimal NaN", decimal{form: 2}, "NaN", FormatText, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text, format, null := encode(t, tc.v)
			if text != tc.want || format != tc.format || null != tc.null {
				t.Fatalf("encode(%#v) = %q, format %d, null %v; want %q, format %d, null %v",
					tc.v, text, format, null, tc.want, tc.format, tc.null)
			}
		})
	}
}

func TestAppendArgTimes(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		t    time.Time
		want string
	}{
		{utc(2024, 3, 31, 1, 2, 3, 0), "2024-03-31 01:02:03+00:00"},
		{utc(2024, 3, 31, 1, 2, 3, 100_000_000), "2024-03-31 01:02:03.1+00:00"},
		{utc(2024, 3, 31, 1, 2, 3, 123_456_000), "2024-03-31 01:02:03.123456+00:00"},
		{utc(2024, 3, 31, 1, 2, 3, 1), "2024-03-31 01:02:03.000000001+00:00"},
		{utc(2024, 3, 31, 1, 0, 0, 0).In(berlin), "2024-03-31 03:00:00+02:00"},
		{utc(2024, 3, 31, 0, 59, 59, 0).In(berlin), "2024-03-31 01:59:59+01:00"},
		{utc(2024, 11, 3, 5, 30, 0, 0).In(newYork), "2024-11-03 01:30:00-04:00"},
		{utc(2024, 11, 3, 6, 30, 0, 0).In(newYork), "2024-11-03 01:30:00-05:00"},
		{utc(1883, 11, 18, 16, 59, 59, 0).In(newYork), "1883-11-18 12:03:57-04:56:02"},
		{utc(1800, 1, 1, 0, 0, 0, 0).In(berlin), "1800-01-01 00:53:28+00:53:28"},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", 5*3600+45*60)), "2024-01-01 00:00:00+05:45"},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", -(15*3600+59*60+59))), "2024-01-01 00:00:00-15:59:59"},
		{time.Date(2024, 1, 1, 16, 0, 0, 0, time.FixedZone("far", 16*3600)), "2024-01-01 00:00:00+00:00"},
		{time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("far", -20*3600)), "2024-01-01 20:00:00+00:00"},
		{utc(1, 1, 1, 0, 0, 0, 0), "0001-01-01 00:00:00+00:00"},
		{utc(0, 1, 1, 0, 0, 0, 0), "0001-01-01 00:00:00+00:00 BC"},
		{utc(0, 12, 31, 23, 59, 59, 999_999_999), "0001-12-31 23:59:59.999999999+00:00 BC"},
		{utc(-4712, 1, 1, 0, 0, 0, 0), "4713-01-01 00:00:00+00:00 BC"},
		{utc(-12, 6, 1, 0, 0, 0, 0), "0013-06-01 00:00:00+00:00 BC"},
		{utc(9, 2, 3, 4, 5, 6, 0), "0009-02-03 04:05:06+00:00"},
		{utc(999, 2, 3, 4, 5, 6, 0), "0999-02-03 04:05:06+00:00"},
		{utc(9999, 12, 31, 23, 59, 59, 0), "9999-12-31 23:59:59+00:00"},
		{utc(10000, 1, 1, 0, 0, 0, 0), "10000-01-01 00:00:00+00:00"},
		{utc(294276, 12, 31, 23, 59, 59, 999_999_000), "294276-12-31 23:59:59.999999+00:00"},
		{time.Time{}, "0001-01-01 00:00:00+00:00"},
	}
	for _, tc := range cases {
		text, format, null := encode(t, tc.t)
		if text != tc.want || format != FormatText || null {
			t.Errorf("encode(%v) = %q, format %d, null %v; want %q in text", tc.t, text, format, null, tc.want)
		}
	}
}

func TestAppendArgArrays(t *testing.T) {
	s := "p"
	cases := []struct {
		name string
		v    any
		want string
	}{
		{"ints", []int{1, -2, 3}, `{"1","-2","3"}`},
		{"int64 named", idList{1, 2}, `{"1","2"}`},
		{"named elements", []score{7}, `{"7"}`},
		{"uint16", []uint16{1}, `{"1"}`},
		{"empty", []string{}, `{}`},
		{"strings with specials", []string{`a"b`, `c\d`, "NULL", "", "x,y {z}", " sp "},
			`{"a\"b","c\\d","NULL","","x,y {z}"," sp "}`},
		{"named strings", []status{"on", "off"}, `{"on","off"}`},
		{"bools", []bool{true, false}, `{"t","f"}`},
		{"floats", []float64{0.5, math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1)},
			`{"0.5","NaN","Infinity","-Infinity","-0"}`},
		{"float32", []float32{0.1}, `{"0.1"}`},
		{"bytea", [][]byte{{0, 0xab}, nil, {}}, `{"\\x00ab",NULL,"\\x"}`},
		{"raw JSON", []json.RawMessage{json.RawMessage(`{"k":"v\\"}`), nil}, `{"{\"k\":\"v\\\\\"}",NULL}`},
		{"times", []time.Time{utc(2024, 1, 2, 3, 4, 5, 600), utc(0, 1, 1, 0, 0, 0, 0)},
			`{"2024-01-02 03:04:05.0000006+00:00","0001-01-01 00:00:00+00:00 BC"}`},
		{"any with NULL", []any{1, "a", nil, true, 2.5, []byte("b"), utc(2024, 1, 1, 0, 0, 0, 0)},
			`{"1","a",NULL,"t","2.5","\\x62","2024-01-01 00:00:00+00:00"}`},
		{"any with pointers", []any{&s, (*string)(nil)}, `{"p",NULL}`},
		{"pointers", []*string{&s, nil}, `{"p",NULL}`},
		{"Valuers", []nullString{{String: "v", Valid: true}, {}}, `{"v",NULL}`},
		{"Valuer pointers", []*upperValuer{nil}, `{NULL}`},
		{"decimals", []decimal{{coef: []byte{1}, exp: -1}}, `{"0.1"}`},
		{"two dimensions", [][]int{{1, 2}, {3, 4}}, `{{"1","2"},{"3","4"}}`},
		{"three dimensions", [][][]string{{{"a"}, {"b"}}, {{"c"}, {"d"}}}, `{{{"a"},{"b"}},{{"c"},{"d"}}}`},
		{"two dimensions of any", [][]any{{nil, 1}, {"x", nil}}, `{{NULL,"1"},{"x",NULL}}`},
		{"two dimensions of bytea", [][][]byte{{{1}}, {{2}}}, `{{"\\x01"},{"\\x02"}}`},
		{"empty inner dimension", [][]int{{}, {}}, `{}`},
		{"empty outer dimension", [][]int{}, `{}`},
		{"nil inner dimension", [][]int{nil, {}}, `{}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			text, format, null := encode(t, tc.v)
			if text != tc.want || format != FormatText || null {
				t.Fatalf("encode(%#v) = %q, format %d, null %v; want %q in text", tc.v, text, format, null, tc.want)
			}
		})
	}
}

func TestAppendArgSendsNilSlicesAsNULL(t *testing.T) {
	for _, v := range []any{[]int(nil), idList(nil), [][]string(nil), []any(nil), blob(nil)} {
		if text, _, null := encode(t, v); !null {
			t.Errorf("encode(%#v) = %q, want NULL", v, text)
		}
	}
}

func TestAppendArgRejectsRaggedSlices(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{[][]int{{1, 2}, {3}}, "pgpipe: cannot send [][]int as an array: ragged multi-dimensional slice: v[1] has 1 elements, v[0] has 2"},
		{[][]int{{}, {3}}, "v[1] has 1 elements, v[0] has 0"},
		{[][][]int{{{1}, {2}}, {{3}, {4, 5}}}, "v[1][1] has 2 elements, v[0][0] has 1"},
		{[][]any{{1}, {2, 3}}, "v[1] has 2 elements"},
	}
	for _, tc := range cases {
		checked, err := CheckArg(tc.v)
		if err != nil {
			t.Fatalf("checkArg(%#v): %v", tc.v, err)
		}
		_, _, _, err = AppendArg(nil, checked)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("appendArg(%#v) error = %v, want one containing %q", tc.v, err, tc.want)
		}
	}
}

func TestAppendArgRejectsUnsupportedElements(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{[]any{1, struct{}{}}, "element v[1]: unsupported element type struct {}"},
		{[]any{1, []int{1}}, "element v[1]: a sub-array ([]int) where an element belongs"},
		{[]any{map[string]int{}}, "unsupported element type map[string]int"},
		{[]driver.Valuer{failValuer{}}, "boom"},
		{[]driver.Valuer{loopValuer{}}, "too many indirections"},
	}
	for _, tc := range cases {
		checked, err := CheckArg(tc.v)
		if err != nil {
			t.Fatalf("checkArg(%#v): %v", tc.v, err)
		}
		_, _, _, err = AppendArg(nil, checked)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("appendArg(%#v) error = %v, want one containing %q", tc.v, err, tc.want)
		}
	}
}

func TestAppendArgRejectsUnknownTypes(t *testing.T) {
	_, _, _, err := AppendArg(nil, struct{}{})
	if err == nil || err.Error() != "pgpipe: cannot send a value of type struct {}" {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckArgKeepsBasicValuesUnconverted(t *testing.T) {
	for _, v := range []any{
		int(1), int8(1), int16(1), int32(1), int64(1), uint(1), uint8(1), uint16(1), uint32(1), uint64(1),
		float32(1), float64(1), true, "s", time.Unix(0, 0),
	} {
		got, err := CheckArg(v)
		if err != nil || got != v {
			t.Errorf("checkArg(%T %v) = %T %v, %v; want it unchanged", v, v, got, got, err)
		}
	}
	if got, err := CheckArg(json.RawMessage("{}")); err != nil || string(got.(json.RawMessage)) != "{}" {
		t.Errorf("checkArg(json.RawMessage) = %T %v, %v", got, got, err)
	}
	if got, err := CheckArg(blob("b")); err != nil || string(got.([]byte)) != "b" {
		t.Errorf("checkArg(blob) = %T %v, %v; want []byte", got, got, err)
	}
	if got := testing.AllocsPerRun(100, func() { _, _ = CheckArg(any(12345)) }); got != 0 {
		t.Errorf("checkArg(int) allocates %v times", got)
	}
}

func TestCheckArgSkipsTypesForTheDefaultConverter(t *testing.T) {
	for _, v := range []any{status("a"), score(1), struct{}{}, map[string]int{}, [2]int{}, []struct{}{}, []map[int]int{}, make(chan int), &struct{}{}} {
		if got, err := CheckArg(v); !errors.Is(err, driver.ErrSkip) {
			t.Errorf("checkArg(%T) = %v, %v; want driver.ErrSkip", v, got, err)
		}
	}
}

func TestCheckArgReportsValuerFailures(t *testing.T) {
	cases := []struct {
		v    any
		want string
	}{
		{failValuer{}, "boom"},
		{loopValuer{}, "pgpipe: cannot send codec.loopValuer: Value methods nested more than 8 deep"},
		{valuerOf(struct{}{}), "pgpipe: codec.anyValuer.Value returned unsupported type struct {}"},
	}
	for _, tc := range cases {
		if got, err := CheckArg(tc.v); err == nil || err.Error() != tc.want {
			t.Errorf("checkArg(%T) = %v, %v; want error %q", tc.v, got, err, tc.want)
		}
	}
}

type anyValuer struct{ v any }

func (a anyValuer) Value() (driver.Value, error) { return a.v, nil }

func valuerOf(v any) anyValuer { return anyValuer{v} }

func TestCheckArgAcceptsSlicesFromValuers(t *testing.T) {
	text, _, _ := encode(t, valuerOf([]string{"a"}))
	if text != `{"a"}` {
		t.Fatalf("got %q", text)
	}
}

func TestAppendArgDoesNotAllocateForScalars(t *testing.T) {
	buf := make([]byte, 0, 256)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{
		nil, true, int(-123456), int8(1), int16(1), int32(1), int64(-1234567), uint(1), uint8(1), uint16(1),
		uint32(1), uint64(math.MaxUint64), float32(0.1), 3.14159, math.Inf(-1), "string", []byte("bytes"),
		json.RawMessage("{}"), time.Now(), time.Now().In(berlin), utc(-100, 1, 1, 0, 0, 0, 1),
	} {
		if got := testing.AllocsPerRun(100, func() { _, _, _, _ = AppendArg(buf[:0], v) }); got != 0 {
			t.Errorf("appendArg(%T) allocates %v times", v, got)
		}
	}
}

func BenchmarkAppendArgTime(b *testing.B) {
	buf := make([]byte, 0, 64)
	var v any = time.Date(2024, 3, 31, 1, 2, 3, 123456000, time.UTC)
	for b.Loop() {
		_, _, _, _ = AppendArg(buf[:0], v)
	}
}

func BenchmarkAppendArgInt64Array(b *testing.B) {
	buf := make([]byte, 0, 4096)
	ids := make([]int64, 100)
	for i := range ids {
		ids[i] = int64(i * 1000)
	}
	for b.Loop() {
		v, _ := CheckArg(ids)
		_, _, _, _ = AppendArg(buf[:0], v)
	}
}
