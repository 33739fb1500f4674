package codec

import (
	"errors"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// numeric_in's input syntax (white space as C's isspace knows it).
var (
	numericNumber  = regexp.MustCompile(`^[ \t\n\v\f\r]*([+-]?)(\d*)(?:\.(\d*))?(?:[eE][ \t\n\v\f\r]*([+-]?\d+))?((?s:.*?))[ \t\n\v\f\r]*$`)
	numericSpecial = regexp.MustCompile(`^[ \t\n\v\f\r]*(?i:(nan)|([+-]?)(?:infinity|inf))[ \t\n\v\f\r]*$`)
)

// FuzzNumericBinary encodes decimal text as a binary numeric, formats the
// result as numeric_out would, and compares it with the value computed
// with math/big from the text: the same digits and display scale, or the
// same verdict on bad syntax and on values numeric cannot hold.
func FuzzNumericBinary(f *testing.F) {
	for _, s := range []string{"123.45", "-0.001", "0", "NaN", " -Infinity\n", "1.5e10", "00012.3400",
		".5", "5.", "-.5e-3", "0e-20000", "1e131071", "1e-16383", "1e131072", "1_000", "+inf", "1e", "1e -5", "0E10000000000A"} {
		f.Add(s)
	}
	enc := BinaryEncoderFor(OIDNumeric)
	f.Fuzz(func(t *testing.T, s string) {
		want, wantErr := numericReference(s)
		out, err := enc(nil, s)
		switch {
		case wantErr != nil && err == nil:
			t.Fatalf("%q: encoded %x, want error %v", s, out, wantErr)
		case wantErr != nil && !strings.Contains(err.Error(), wantErr.Error()):
			t.Fatalf("%q: got error %v, want %v", s, err, wantErr)
		case wantErr != nil:
			return
		case err != nil:
			t.Fatalf("%q: %v, want %s", s, err, want)
		}
		got, err := numericBinaryText(out)
		if err != nil {
			t.Fatalf("%q: encoded %x: %v", s, out, err)
		}
		if got != want {
			t.Fatalf("%q: encoded %x, which reads %s, want %s", s, out, got, want)
		}
	})
}

// numericReference returns numeric_out of numeric_in(s), computed the slow
// way, or the error the encoder should report.
func numericReference(s string) (string, error) {
	if m := numericSpecial.FindStringSubmatch(s); m != nil {
		switch {
		case m[1] != "":
			return "NaN", nil
		case m[2] == "-":
			return "-Infinity", nil
		}
		return "Infinity", nil
	}
	m := numericNumber.FindStringSubmatch(s)
	if m == nil || m[2] == "" && m[3] == "" {
		return "", errors.New("cannot encode")
	}
	neg, digits, nFrac := m[1] == "-", m[2]+m[3], len(m[3])
	exp, err := strconv.ParseInt(m[4], 10, 64)
	if m[4] != "" && (err != nil || exp >= 1<<30-1 || exp <= -(1<<30-1)) {
		return "", errors.New("out of range") // before trailing garbage, as numeric_in does
	}
	if m[5] != "" {
		return "", errors.New("cannot encode")
	}
	dscale := max(0, int64(nFrac)-exp)
	if dscale > 16383 {
		return "", errors.New("out of range")
	}
	digits = strings.TrimLeft(digits, "0")
	if digits == "" {
		if dscale == 0 {
			return "0", nil
		}
		return "0." + strings.Repeat("0", int(dscale)), nil
	}
	// Numeric holds at most 131072 digits before the point.
	if intDigits := int64(len(digits)-nFrac) + exp; intDigits > 131072 {
		return "", errors.New("out of range")
	}
	scaled, _ := new(big.Int).SetString(digits, 10)
	scaled.Mul(scaled, new(big.Int).Exp(big.NewInt(10), big.NewInt(exp-int64(nFrac)+dscale), nil))
	text := scaled.String()
	if pad := int(dscale) + 1 - len(text); pad > 0 {
		text = strings.Repeat("0", pad) + text
	}
	if dscale > 0 {
		text = text[:len(text)-int(dscale)] + "." + text[len(text)-int(dscale):]
	}
	if neg {
		text = "-" + text
	}
	return text, nil
}
