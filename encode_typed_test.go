package pgpipe

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"time"
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
		{"[]byte into jsonb", doc, oidJSONB, append([]byte{1}, doc...), formatBinary, ""},
		{"[]byte into json", doc, oidJSON, doc, formatBinary, ""},
		{"[]byte into bytea", []byte{0, 0xff}, oidBytea, []byte{0, 0xff}, formatBinary, ""},
		{"[]byte into text", doc, oidText, doc, formatBinary, ""},
		{"[]byte into varchar", doc, oidVarchar, doc, formatBinary, ""},
		{"[]byte, type unknown", []byte{0, 0xff}, 0, []byte{0, 0xff}, formatBinary, ""},
		{"[]byte into a user type", []byte{0, 0xff}, 16500, []byte{0, 0xff}, formatBinary, ""},
		{"[]byte into int4 is its text", []byte("42"), oidInt4, []byte("42"), formatText, ""},
		{"[]byte into numeric is its text", []byte("1.5"), oidNumeric, []byte("1.5"), formatText, ""},
		{"[]byte with NUL into int4", []byte{'4', 0}, oidInt4, nil, 0, "pgpipe: cannot send []byte as int4: a []byte is sent as the value's text for this type, and it holds a NUL byte at offset 1"},
		{"[]byte not UTF-8 into uuid", []byte{0xff}, oidUUID, nil, 0, "not valid UTF-8"},
		{"16 bytes into uuid", make([]byte, 16), oidUUID, make([]byte, 16), formatBinary, ""},
		{"uuid text into uuid", []byte("00000000-0000-0000-0000-000000000001"), oidUUID, []byte("00000000-0000-0000-0000-000000000001"), formatText, ""},
		{"Duration into interval", 1500 * time.Millisecond, oidInterval, us(1500000), formatBinary, ""},
		{"Duration rounds to microseconds", 1499 * time.Nanosecond, oidInterval, us(1), formatBinary, ""},
		{"negative Duration rounds away from zero", -1500 * time.Nanosecond, oidInterval, us(-2), formatBinary, ""},
		{"Duration into int8", time.Second, oidInt8, binary.BigEndian.AppendUint64(nil, 1e9), formatBinary, ""},
		{"Duration into int4 out of range", time.Second * 3, oidInt4, []byte("3000000000"), formatText, ""},
		{"Duration into numeric", time.Second, oidNumeric, []byte("1000000000"), formatText, ""},
		{"Duration, type unknown", time.Second, 0, []byte("1000000000"), formatText, ""},
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
	v, err := checkArg([]int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	got, format, _, err := encodeArg(nil, v, oidInt4Array)
	if err != nil || format != formatBinary || len(got) != 20+2*8 {
		t.Fatalf("got %x format %d, %v; want a binary int4[] of two elements", got, format, err)
	}
	// A text array with []byte elements keeps the text form (bytea's \x).
	v, _ = checkArg([][]byte{{1}})
	if got, format, _, err = encodeArg(nil, v, oidTextArray); err != nil || format != formatText || string(got) != `{"\\x01"}` {
		t.Fatalf("got %q format %d, %v", got, format, err)
	}
}

// TestDurationInCopyIsItsNanoseconds checks that COPY, which checkArg now
// hands a time.Duration unconverted, still writes it as an integer.
func TestDurationInCopyIsItsNanoseconds(t *testing.T) {
	for _, oid := range []uint32{oidInt8, oidNumeric, oidText, oidFloat8} {
		enc := binaryEncoderFor(oid)
		if _, err := enc(nil, time.Second); err != nil {
			t.Errorf("binary COPY of a time.Duration into %s: %v", binaryTypeName(oid), err)
		}
	}
	got, err := appendCopyText(nil, time.Second)
	if err != nil || string(got) != "1000000000" {
		t.Errorf("text COPY of a time.Duration: %q, %v", got, err)
	}
}
