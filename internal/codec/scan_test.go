package codec

import (
	"database/sql"
	"testing"
	"time"
)

type myInt int32
type myString string

func TestConvertAssignMatchesDatabaseSQL(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC)
	var (
		s   string
		b   []byte
		i   int
		i8  int8
		u16 uint16
		f32 float32
		f64 float64
		bo  bool
		tm  time.Time
		a   any
		p   *int64
		mi  myInt
		ms  myString
		ns  sql.NullString
		ni  sql.NullInt64
		raw sql.RawBytes
	)
	for _, tc := range []struct {
		dest, src any
		check     func() bool
	}{
		{&s, "x", func() bool { return s == "x" }},
		{&s, []byte("y"), func() bool { return s == "y" }},
		{&s, int64(7), func() bool { return s == "7" }},
		{&s, now, func() bool { return s == now.Format(time.RFC3339Nano) }},
		{&b, "z", func() bool { return string(b) == "z" }},
		{&b, now, func() bool { return string(b) == now.Format(time.RFC3339Nano) }},
		{&b, nil, func() bool { return b == nil }},
		{&f64, float64(2.5), func() bool { return f64 == 2.5 }},
		{&i, int64(42), func() bool { return i == 42 }},
		{&i, "43", func() bool { return i == 43 }},
		{&i8, int64(-5), func() bool { return i8 == -5 }},
		{&u16, int64(65535), func() bool { return u16 == 65535 }},
		{&f32, float64(1.5), func() bool { return f32 == 1.5 }},
		{&bo, true, func() bool { return bo }},
		{&bo, "t", func() bool { return bo }},
		{&tm, now, func() bool { return tm.Equal(now) }},
		{&a, int64(1), func() bool { return a == int64(1) }},
		{&a, nil, func() bool { return a == nil }},
		{&p, int64(9), func() bool { return p != nil && *p == 9 }},
		{&p, nil, func() bool { return p == nil }},
		{&mi, int64(12), func() bool { return mi == 12 }},
		{&ms, "named", func() bool { return ms == "named" }},
		{&ns, "v", func() bool { return ns.Valid && ns.String == "v" }},
		{&ns, nil, func() bool { return !ns.Valid }},
		{&ni, int64(3), func() bool { return ni.Valid && ni.Int64 == 3 }},
		{&raw, []byte("r"), func() bool { return string(raw) == "r" }},
		{&raw, "s", func() bool { return string(raw) == "s" }},
		{&raw, nil, func() bool { return raw == nil }},
	} {
		if err := ConvertAssign(tc.dest, tc.src); err != nil {
			t.Errorf("convertAssign(%T, %T %v): %v", tc.dest, tc.src, tc.src, err)
			continue
		}
		if !tc.check() {
			t.Errorf("convertAssign(%T, %T %v): wrong value", tc.dest, tc.src, tc.src)
		}
	}
}

func TestConvertAssignRejects(t *testing.T) {
	var i int
	var i8 int8
	var tm time.Time
	for _, tc := range []struct{ dest, src any }{
		{&i, nil},
		{&i8, int64(300)},
		{&i, "abc"},
		{&tm, "2024-01-01"},
		{i, int64(1)},
	} {
		if err := ConvertAssign(tc.dest, tc.src); err == nil {
			t.Errorf("convertAssign(%T, %T %v) succeeded, want an error", tc.dest, tc.src, tc.src)
		}
	}
}

func TestConvertAssignCopiesBytes(t *testing.T) {
	src := []byte("abc")
	var b []byte
	var a any
	_ = ConvertAssign(&b, src)
	_ = ConvertAssign(&a, src)
	src[0] = 'X'
	if string(b) != "abc" || string(a.([]byte)) != "abc" {
		t.Fatalf("Scan kept a reference to the read buffer: %q %q", b, a)
	}
}
