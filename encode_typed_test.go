package pgpipe

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe/internal/codec"
)

func TestTypeDependentArgumentEncodings(t *testing.T) {
	doc := []byte(`{"a":1}`)
	us := func(n int64) []byte {
		return append(binary.BigEndian.AppendUint64(nil, uint64(n)), 0, 0, 0, 0, 0, 0, 0, 0)
	}
	for _, tc := range []struct {
		name   string
		v      any
		oid    uint32
		want   []byte
		format int16
		err    string
	}{
		{"[]byte into jsonb", doc, codec.OIDJSONB, append([]byte{1}, doc...), codec.FormatBinary, ""},
		{"[]byte into json", doc, codec.OIDJSON, doc, codec.FormatBinary, ""},
		{"[]byte into bytea", []byte{0, 0xff}, codec.OIDBytea, []byte{0, 0xff}, codec.FormatBinary, ""},
		{"[]byte into text", doc, codec.OIDText, doc, codec.FormatBinary, ""},
		{"[]byte into varchar", doc, codec.OIDVarchar, doc, codec.FormatBinary, ""},
		{"[]byte, type unknown", []byte{0, 0xff}, 0, []byte{0, 0xff}, codec.FormatBinary, ""},
		{"[]byte into a user type", []byte{0, 0xff}, 16500, []byte{0, 0xff}, codec.FormatBinary, ""},
		{"[]byte into int4 is its text", []byte("42"), codec.OIDInt4, []byte("42"), codec.FormatText, ""},
		{"[]byte into numeric is its text", []byte("1.5"), codec.OIDNumeric, []byte("1.5"), codec.FormatText, ""},
		{"[]byte with NUL into int4", []byte{'4', 0}, codec.OIDInt4, nil, 0, "pgpipe: cannot send []byte as int4: a []byte is sent as the value's text for this type, and it holds a NUL byte at offset 1"},
		{"[]byte not UTF-8 into uuid", []byte{0xff}, codec.OIDUUID, nil, 0, "not valid UTF-8"},
		{"16 bytes into uuid", make([]byte, 16), codec.OIDUUID, make([]byte, 16), codec.FormatBinary, ""},
		{"uuid text into uuid", []byte("00000000-0000-0000-0000-000000000001"), codec.OIDUUID, []byte("00000000-0000-0000-0000-000000000001"), codec.FormatText, ""},
		{"Duration into interval", 1500 * time.Millisecond, codec.OIDInterval, us(1500000), codec.FormatBinary, ""},
		{"Duration rounds to microseconds", 1499 * time.Nanosecond, codec.OIDInterval, us(1), codec.FormatBinary, ""},
		{"negative Duration rounds away from zero", -1500 * time.Nanosecond, codec.OIDInterval, us(-2), codec.FormatBinary, ""},
		{"Duration into int8", time.Second, codec.OIDInt8, binary.BigEndian.AppendUint64(nil, 1e9), codec.FormatBinary, ""},
		{"Duration into int4 out of range", time.Second * 3, codec.OIDInt4, []byte("3000000000"), codec.FormatText, ""},
		{"Duration into numeric", time.Second, codec.OIDNumeric, []byte("1000000000"), codec.FormatText, ""},
		{"Duration, type unknown", time.Second, 0, []byte("1000000000"), codec.FormatText, ""},
	} {
		got, format, null, err := encodeArg(nil, tc.v, tc.oid)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.err)
			}
		case err != nil || null || format != tc.format || !bytes.Equal(got, tc.want):
			t.Errorf("%s: got %q format %d null %v err %v; want %q format %d", tc.name, got, format, null, err, tc.want, tc.format)
		}
	}
}

func TestSliceArgumentGoesInBinaryForAKnownArrayType(t *testing.T) {
	v, err := codec.CheckArg([]int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	got, format, _, err := encodeArg(nil, v, codec.OIDInt4Array)
	if err != nil || format != codec.FormatBinary || len(got) != 20+2*8 {
		t.Fatalf("got %x format %d, %v; want a binary int4[] of two elements", got, format, err)
	}
	// A text array with []byte elements keeps the text form (bytea's \x).
	v, _ = codec.CheckArg([][]byte{{1}})
	if got, format, _, err = encodeArg(nil, v, codec.OIDTextArray); err != nil || format != codec.FormatText || string(got) != `{"\\x01"}` {
		t.Fatalf("got %q format %d, %v", got, format, err)
	}
}

// TestDurationInCopyIsItsNanoseconds checks that COPY, which codec.CheckArg now
// hands a time.Duration unconverted, still writes it as an integer.
func TestDurationInCopyIsItsNanoseconds(t *testing.T) {
	for _, oid := range []uint32{codec.OIDInt8, codec.OIDNumeric, codec.OIDText, codec.OIDFloat8} {
		enc := codec.BinaryEncoderFor(oid)
		if _, err := enc(nil, time.Second); err != nil {
			t.Errorf("binary COPY of a time.Duration into %s: %v", codec.TypeName(oid), err)
		}
	}
	got, err := appendCopyText(nil, time.Second)
	if err != nil || string(got) != "1000000000" {
		t.Errorf("text COPY of a time.Duration: %q, %v", got, err)
	}
}
