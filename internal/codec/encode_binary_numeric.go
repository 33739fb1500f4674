package codec

import (
	"encoding/binary"
	"math"
	"math/big"
	"reflect"
	"strconv"
)

// Numeric's binary form (numeric_send): int16 ndigits, int16 weight, uint16
// sign, uint16 dscale, then ndigits base-10000 digits, most significant
// first; the value is the sum of digit[i]·10000^(weight-i), and dscale is the
// number of decimal digits shown after the point. The digits carry no
// leading or trailing zeros; zero has none.
const (
	numericPos       = 0x0000
	numericNeg       = 0x4000
	numericNaN       = 0xC000
	numericPInf      = 0xD000
	numericNInf      = 0xF000
	numericMaxDScale = 0x3FFF              // NUMERIC_DSCALE_MAX
	numericMaxWeight = math.MaxInt16       // NUMERIC_WEIGHT_MAX: 131072 digits before the point
	numericMaxExp    = math.MaxInt32/2 - 1 // numeric_in rejects larger exponents
)

// numericStatus is what appendNumericText made of its input.
type numericStatus int8

const (
	numericOK numericStatus = iota
	numericSyntax
	numericRange
)

func encodeBinaryNumeric(buf []byte, v any, oid uint32) ([]byte, error) {
	var tmp [32]byte
	st := numericOK
	switch x := v.(type) {
	case string:
		buf, st = appendNumericText(buf, x)
	case float64:
		buf, st = appendNumericFloat(buf, x, 64)
	case float32:
		buf, st = appendNumericFloat(buf, float64(x), 32)
	case int, int8, int16, int32, int64:
		buf, st = appendNumericText(buf, strconv.AppendInt(tmp[:0], reflect.ValueOf(x).Int(), 10))
	case uint, uint8, uint16, uint32, uint64:
		buf, st = appendNumericText(buf, strconv.AppendUint(tmp[:0], reflect.ValueOf(x).Uint(), 10))
	case decimalDecomposer:
		buf, st = appendNumericDecimal(buf, x)
	default:
		return retryByKind(buf, v, oid, encodeBinaryNumeric)
	}
	switch st {
	case numericSyntax:
		return buf, errCannotEncode(v, oid, "")
	case numericRange:
		return buf, errOutOfRange(v, oid)
	}
	return buf, nil
}

func appendNumericSpecial(buf []byte, sign uint16) []byte {
	return append(buf, 0, 0, 0, 0, byte(sign>>8), byte(sign), 0, 0)
}

// appendNumericFloat writes a float as numeric_in reads its shortest
// decimal form.
func appendNumericFloat(buf []byte, f float64, bits int) ([]byte, numericStatus) {
	switch {
	case math.IsNaN(f):
		return appendNumericSpecial(buf, numericNaN), numericOK
	case math.IsInf(f, 1):
		return appendNumericSpecial(buf, numericPInf), numericOK
	case math.IsInf(f, -1):
		return appendNumericSpecial(buf, numericNInf), numericOK
	}
	var tmp [32]byte
	return appendNumericText(buf, strconv.AppendFloat(tmp[:0], f, 'e', -1, bits))
}

// appendNumericDecimal writes a Decompose value.
func appendNumericDecimal(buf []byte, d decimalDecomposer) ([]byte, numericStatus) {
	form, neg, coef, exp := d.Decompose(nil) // a buffer would escape
	var tmp [20]byte
	switch {
	case form == 2:
		return appendNumericSpecial(buf, numericNaN), numericOK
	case form == 1 && neg:
		return appendNumericSpecial(buf, numericNInf), numericOK
	case form == 1:
		return appendNumericSpecial(buf, numericPInf), numericOK
	}
	var digits []byte
	if len(coef) <= 8 {
		var u uint64
		for _, b := range coef {
			u = u<<8 | uint64(b)
		}
		digits = strconv.AppendUint(tmp[:0], u, 10)
	} else {
		digits = new(big.Int).SetBytes(coef).Append(nil, 10)
	}
	return appendNumericDigits(buf, neg, digits, []byte(nil), int64(exp))
}

// appendNumericText writes s, read as numeric_in reads it: surrounding
// spaces, NaN, [+-]Infinity or [+-]inf in any case, or an optional sign,
// digits with an optional point (at least one digit) and an optional
// exponent (e, spaces, an optional sign and digits). An exponent out of
// range is reported before anything that follows it.
func appendNumericText[T ~string | ~[]byte](buf []byte, s T) ([]byte, numericStatus) {
	s = trimSpaceASCII(s)
	if foldEqualASCII(s, "NaN") {
		return appendNumericSpecial(buf, numericNaN), numericOK
	}
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	if foldEqualASCII(s, "Infinity") || foldEqualASCII(s, "inf") {
		if neg {
			return appendNumericSpecial(buf, numericNInf), numericOK
		}
		return appendNumericSpecial(buf, numericPInf), numericOK
	}
	i := skipDigits(s, 0)
	intPart, fracPart := s[:i], s[i:i]
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		fracPart, i = s[i+1:j], j
	}
	if len(intPart)+len(fracPart) == 0 {
		return buf, numericSyntax
	}
	var exp int64
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		for i < len(s) && isSpaceC(s[i]) { // numeric_in reads the exponent with strtol
			i++
		}
		expNeg := i < len(s) && s[i] == '-'
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return buf, numericSyntax
		}
		for ; i < j; i++ {
			if exp = exp*10 + int64(s[i]-'0'); exp > numericMaxExp {
				return buf, numericRange
			}
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return buf, numericSyntax
	}
	return appendNumericDigits(buf, neg, intPart, fracPart, exp)
}

func skipDigits[T ~string | ~[]byte](s T, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// foldEqualASCII reports whether s equals word, ignoring ASCII case.
func foldEqualASCII[T ~string | ~[]byte](s T, word string) bool {
	if len(s) != len(word) {
		return false
	}
	for i := range len(s) {
		if s[i]|0x20 != word[i]|0x20 {
			return false
		}
	}
	return true
}

// appendNumericDigits writes ±intPart.fracPart·10^exp, given as decimal
// digits, with the display scale numeric_in gives that text. It reports
// numericRange where numeric_in reports "value overflows numeric format".
func appendNumericDigits[T ~string | ~[]byte](buf []byte, neg bool, intPart, fracPart T, exp int64) ([]byte, numericStatus) {
	dscale := max(0, int64(len(fracPart))-exp)
	if dscale > numericMaxDScale {
		return buf, numericRange
	}
	// Trim zeros: the digits left are intPart[first:] (empty when first
	// is past it) followed by fracPart[:last], and the first is nonzero.
	first, last := 0, len(fracPart)
	for first < len(intPart) && intPart[first] == '0' {
		first++
	}
	for last > 0 && fracPart[last-1] == '0' {
		last--
	}
	if first == len(intPart) {
		for first < len(intPart)+last && fracPart[first-len(intPart)] == '0' {
			first++
		}
	}
	end := len(intPart) + last // one past the last digit
	if last == 0 {
		for end > first && intPart[end-1] == '0' {
			end--
		}
	}
	if first == end { // zero, of any sign
		return append(buf, 0, 0, 0, 0, 0, 0, byte(dscale>>8), byte(dscale)), numericOK
	}
	power := int64(len(intPart)-1-first) + exp // of the first digit
	weight := power >> 2                       // floor division by 4
	if weight > numericMaxWeight {
		return buf, numericRange
	}
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0)
	ndigits, acc := 0, 0
	for k := first; k < end; k, power = k+1, power-1 {
		var c byte
		if k < len(intPart) {
			c = intPart[k]
		} else {
			c = fracPart[k-len(intPart)]
		}
		place := power & 3
		acc += int(c-'0') * [4]int{1, 10, 100, 1000}[place]
		if place == 0 || k == end-1 {
			buf = binary.BigEndian.AppendUint16(buf, uint16(acc))
			ndigits, acc = ndigits+1, 0
		}
	}
	sign := uint16(numericPos)
	if neg {
		sign = numericNeg
	}
	binary.BigEndian.PutUint16(buf[start:], uint16(ndigits))
	binary.BigEndian.PutUint16(buf[start+2:], uint16(int16(weight)))
	binary.BigEndian.PutUint16(buf[start+4:], sign)
	binary.BigEndian.PutUint16(buf[start+6:], uint16(dscale))
	return buf, numericOK
}

// Character types, bytea, json and jsonb.
