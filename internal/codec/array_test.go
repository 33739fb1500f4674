package codec

import (
	"database/sql"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseTextArray(t *testing.T) {
	null := arrayElem{null: true}
	el := func(s string) arrayElem { return arrayElem{text: s} }
	for _, tc := range []struct {
		in    string
		dims  []int
		elems []arrayElem
		err   string
	}{
		{in: "{}", dims: nil},
		{in: "{1,2,NULL}", dims: []int{3}, elems: []arrayElem{el("1"), el("2"), null}},
		{in: `{"a b","say \"hi\"",NULL,"NULL",null,""}`, dims: []int{6},
			elems: []arrayElem{el("a b"), el(`say "hi"`), null, el("NULL"), null, el("")}},
		{in: `{ a , b\,c ,\NULL}`, dims: []int{3}, elems: []arrayElem{el("a"), el("b,c"), el("NULL")}},
		{in: "{{1,2},{3,4},{5,6}}", dims: []int{3, 2}, elems: []arrayElem{el("1"), el("2"), el("3"), el("4"), el("5"), el("6")}},
		{in: "[0:1]={7,8}", dims: []int{2}, elems: []arrayElem{el("7"), el("8")}},
		{in: `{"\\x0102"}`, dims: []int{1}, elems: []arrayElem{el(`\x0102`)}},
		{in: "{{1,2},{3}}", err: "different lengths"},
		{in: "{{1},2}", err: "an element where a sub-array belongs"},
		{in: "{1,{2}}", err: "a sub-array where an element belongs"},
		{in: "{1,2", err: "unterminated"},
		{in: "{1,,2}", err: "empty element"},
		{in: "{1}x", err: "after the closing brace"},
		{in: "1,2", err: "want '{'"},
		{in: "{{{{{{{1}}}}}}}", err: "more than 6 dimensions"},
	} {
		got, err := parseTextArray([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "pgpipe: ") {
				t.Errorf("%s: got %v, want an error containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got.dims, tc.dims) || !reflect.DeepEqual(got.elems, tc.elems) {
			t.Errorf("%s: got dims %v elems %+v, want %v %+v", tc.in, got.dims, got.elems, tc.dims, tc.elems)
		}
	}
}

func TestArrayScansIntoSlicesOfCommonTypes(t *testing.T) {
	ptr := func(n int64) *int64 { return &n }
	type status string
	for _, tc := range []struct {
		src  any
		dst  any // a pointer to a slice
		want any
	}{
		{"{1,-2,3}", new([]int64), []int64{1, -2, 3}},
		{"{1,2}", new([]int32), []int32{1, 2}},
		{"{1,2}", new([]uint16), []uint16{1, 2}},
		{"{1.5,NaN,-Infinity}", new([]float64), nil}, // checked below
		{"{t,f}", new([]bool), []bool{true, false}},
		{`{a,"b c",NULL}`, new([]*string), nil},
		{`{a,"b c"}`, new([]status), []status{"a", "b c"}},
		{`{"\\x0102","\\x",NULL}`, new([][]byte), [][]byte{{1, 2}, {}, nil}},
		{`{"{\"a\": 1}"}`, new([]json.RawMessage), []json.RawMessage{json.RawMessage(`{"a": 1}`)}},
		{"{1,NULL,3}", new([]*int64), []*int64{ptr(1), nil, ptr(3)}},
		{"{1,NULL}", new([]sql.NullInt64), []sql.NullInt64{{Int64: 1, Valid: true}, {}}},
		{"{a,NULL}", new([]sql.Null[string]), []sql.Null[string]{{V: "a", Valid: true}, {}}},
		{`{"2024-03-01 10:00:00+02",NULL}`, new([]sql.NullTime),
			[]sql.NullTime{{Time: time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC), Valid: true}, {}}},
		{"{{1,2},{3,4}}", new([][]int), [][]int{{1, 2}, {3, 4}}},
		{"{{1,2},{3,NULL}}", new([]any), []any{[]any{"1", "2"}, []any{"3", nil}}},
		{"{}", new([]int), []int{}},
		{"{}", new([][]int), [][]int{}},
		{nil, &[]int{1}, []int(nil)},
		{[]byte("{7}"), new([]int), []int{7}},
	} {
		if err := ScanArray(tc.dst, tc.src); err != nil {
			t.Errorf("Scan(%v) into %T: %v", tc.src, tc.dst, err)
			continue
		}
		got := reflect.ValueOf(tc.dst).Elem().Interface()
		switch g := got.(type) {
		case []float64:
			if len(g) != 3 || g[0] != 1.5 || g[1] == g[1] || g[2] > -1e308 {
				t.Errorf("got %v", g)
			}
			continue
		case []*string:
			if len(g) != 3 || *g[0] != "a" || *g[1] != "b c" || g[2] != nil {
				t.Errorf("got %v", g)
			}
			continue
		case []sql.NullTime:
			if len(g) != 2 || !g[0].Time.Equal(time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)) || g[1].Valid {
				t.Errorf("got %v", g)
			}
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Scan(%v) into %T: got %#v, want %#v", tc.src, tc.dst, got, tc.want)
		}
	}
}

func TestArrayScanTimes(t *testing.T) {
	var ts []time.Time
	if err := ScanArray(&ts, `{"2024-03-01 10:00:00.5+02","2024-03-01 10:00:00",2024-03-02,"0044-03-15 BC"}`); err != nil {
		t.Fatal(err)
	}
	want := []time.Time{
		time.Date(2024, 3, 1, 8, 0, 0, 5e8, time.UTC), time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC),
	}
	for i := range want {
		if i >= len(ts) || !ts[i].Equal(want[i]) {
			t.Fatalf("got %v, want %v", ts, want)
		}
	}
	if _, off := ts[0].Zone(); off != 7200 {
		t.Errorf("a timestamptz element keeps the printed offset: got %d", off)
	}
}

func TestArrayScanErrorsNameTheProblem(t *testing.T) {
	for _, tc := range []struct {
		src string
		dst any
		err string
	}{
		{"{1,NULL}", new([]int64), "element [1]: NULL cannot be stored in int64"},
		{"{{1,2},{3,4}}", new([]int), "cannot scan a 2-dimensional array into []int, which has 1"},
		{"{1,2}", new([][]int), "cannot scan a 1-dimensional array into [][]int, which has 2"},
		{"{1,x}", new([]int), `element [1]: converting "x" to int`},
		{"{70000}", new([]int16), "out of range"},
		{"{infinity}", new([]time.Time), "infinity cannot be stored in time.Time"},
		{"{1}", new(int), "needs a non-nil pointer to a slice"},
		{"{1", new([]int), "malformed array"},
	} {
		err := ScanArray(tc.dst, tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.HasPrefix(err.Error(), "pgpipe: ") {
			t.Errorf("Scan(%s) into %T: got %v, want an error containing %q", tc.src, tc.dst, err, tc.err)
		}
	}
}

func TestArrayValue(t *testing.T) {
	ids := []int64{1, 2}
	for _, a := range []any{ids, &ids} {
		v, err := ArrayValue(a)
		if err != nil || !reflect.DeepEqual(v, ids) {
			t.Errorf("ArrayValue(%T) = %v, %v", a, v, err)
		}
	}
	var none []int64
	if v, err := ArrayValue(&none); v != nil || err != nil {
		t.Errorf("a nil slice: got %v, %v; want NULL", v, err)
	}
	if _, err := ArrayValue(5); err == nil {
		t.Error("ArrayValue(5) did not fail")
	}
}

func TestArrayArgumentsNestedAndTooDeep(t *testing.T) {
	deep := any(1)
	for range 11 {
		deep = []any{deep}
	}
	for _, tc := range []struct {
		v         any
		want, err string
	}{
		{v: [][]int{{1, 2}, {3, 4}}, want: `{{"1","2"},{"3","4"}}`},
		{v: []any{[]any{1, "a"}, []int{3, 4}}, want: `{{"1","a"},{"3","4"}}`},
		{v: []any{[]any{1, nil}, []any{[]byte{1}, nil}}, want: `{{"1",NULL},{"\\x01",NULL}}`},
		{v: [][][][][][]int{{{{{{1}}}}}}, want: `{{{{{{"1"}}}}}}`},
		{v: deep, err: "7 or more dimensions, PostgreSQL allows at most 6"},
		{v: [][][][][][][]int{{{{{{{1}}}}}}}, err: "7 or more dimensions, PostgreSQL allows at most 6"},
		{v: []any{[]any{1}, 2}, err: "element v[1]"},
		{v: []any{1, []any{2}}, err: "a sub-array ([]interface {}) where an element belongs"},
		{v: []any{[]any{1}, []any{2, 3}}, err: "ragged"},
	} {
		out, err := CheckArg(tc.v)
		if err != nil {
			t.Fatalf("checkArg(%T): %v", tc.v, err)
		}
		buf, _, _, err := AppendArg(nil, out)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%#v: got %q, %v; want an error containing %q", tc.v, buf, err, tc.err)
		case tc.err == "" && (err != nil || string(buf) != tc.want):
			t.Errorf("%#v: got %q, %v; want %s", tc.v, buf, err, tc.want)
		}
	}
}

// FuzzArrayTextRoundTrip checks that strings written as an array argument
// parse back as the same elements, whatever they hold.
func FuzzArrayTextRoundTrip(f *testing.F) {
	f.Add("a", `b"c`, `\`)
	f.Add("NULL", "", " x ")
	f.Add("{", "}", ",")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		in := []string{a, b, c}
		v, err := CheckArg(in)
		if err != nil {
			t.Fatal(err)
		}
		text, _, _, err := AppendArg(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		if err := ScanArray(&out, string(text)); err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Fatalf("%q parsed as %q, want %q", text, out, in)
		}
	})
}

// FuzzParseTextArray checks that any input parses or fails with a pgpipe
// error, never panics, and that what parses has as many elements as its
// dimensions say.
func FuzzParseTextArray(f *testing.F) {
	for _, s := range []string{"{}", "{1,NULL}", `{"a\"b",c}`, "{{1,2},{3,4}}", "[0:1]={7,8}", "{{1},{2,3}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		arr, err := parseTextArray([]byte(s))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "pgpipe: ") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		n := 1
		for _, d := range arr.dims {
			n *= d
		}
		if len(arr.dims) == 0 {
			n = 0
		}
		if n != len(arr.elems) {
			t.Fatalf("%q: dims %v but %d elements", s, arr.dims, len(arr.elems))
		}
		var out []any
		_ = ScanArray(&out, s)
	})
}
