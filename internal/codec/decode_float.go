package codec

import (
	"math"
	"math/bits"
	"strconv"
)

// This file parses float8's text form faster than strconv for what
// float8out prints most: a plain decimal of at most 19 digits (the
// shortest form that reads back exactly has at most 17). The result is
// always strconv.ParseFloat's, bit for bit: what the fast path cannot
// prove correctly rounded, strconv parses.

// parseFloat8 parses a float8's text form as strconv.ParseFloat does.
func parseFloat8(src []byte) (float64, bool) {
	if m, frac, neg, ok := scanDecimal(src); ok {
		if f, ok := decimalToFloat(m, frac); ok {
			if neg {
				f = -f
			}
			return f, true
		}
	}
	f, err := strconv.ParseFloat(string(src), 64)
	return f, err == nil
}

// float64pow10 are the powers of ten a float64 holds exactly, and pow5
// their odd factors.
var (
	float64pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
		1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}
	pow5 = func() (p [len(float64pow10)]uint64) {
		p[0] = 1
		for i := 1; i < len(p); i++ {
			p[i] = p[i-1] * 5
		}
		return p
	}()
)

// scanDecimal reads [-]digits[.digits] of at most 19 digits and at most
// 22 after the point: the value is m/10^frac, negated when neg. ok is
// false for any other text.
func scanDecimal(src []byte) (m uint64, frac int, neg, ok bool) {
	s := src
	if len(s) > 0 && s[0] == '-' {
		s, neg = s[1:], true
	}
	digits, point := 0, false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			if digits == 19 {
				return 0, 0, false, false // m could overflow
			}
			m = m*10 + uint64(c-'0')
			digits++
			if point {
				frac++
			}
		case c == '.' && !point:
			point = true
		default:
			return 0, 0, false, false
		}
	}
	return m, frac, neg, digits > 0 && frac < len(float64pow10)
}

// decimalToFloat returns the float64 nearest to m/10^frac (frac at most
// 22). Below 2^53, m and 10^frac are exact float64s and one IEEE division
// rounds their quotient correctly (Clinger's fast path). Above, float64(m)
// is rounded already and the quotient may be one unit in the last place
// off: of it and its two neighbours, the one whose rounding interval
// holds m/10^frac (roundsTo) is the answer. ok is false when none
// provably is (a tie, or a power of two): strconv decides those.
func decimalToFloat(m uint64, frac int) (float64, bool) {
	f := float64(m) / float64pow10[frac]
	if m < 1<<53 {
		return f, true
	}
	if roundsTo(m, frac, f) {
		return f, true
	}
	for _, c := range [...]float64{math.Nextafter(f, 0), math.Nextafter(f, math.Inf(1))} {
		if roundsTo(m, frac, c) {
			return c, true
		}
	}
	return 0, false
}

// roundsTo reports whether m/10^frac lies strictly inside the rounding
// interval of c, a positive normal float64 M·2^e that is not a power of
// two: (2M-1)·2^(e-1) < m/10^frac < (2M+1)·2^(e-1). With 10^frac =
// 5^frac·2^frac, that is (2M∓1)·5^frac·2^k against m, k = e-1+frac, in
// 128-bit integers: for m below 2^64 and frac at most 22, k lies between
// -52 and 11.
func roundsTo(m uint64, frac int, c float64) bool {
	b := math.Float64bits(c)
	exp, mant := int(b>>52), b&(1<<52-1)
	if exp == 0 || exp == 0x7ff || mant == 0 {
		return false
	}
	M, k := mant|1<<52, exp-1075-1+frac
	if k < -63 || k > 63 {
		return false
	}
	lo, hi := mul128(2*M-1, pow5[frac]), mul128(2*M+1, pow5[frac])
	x := u128{lo: m}
	if k >= 0 {
		lo, hi = lo.shl(uint(k)), hi.shl(uint(k))
	} else {
		x = x.shl(uint(-k))
	}
	return lo.less(x) && x.less(hi)
}

// u128 is an unsigned 128-bit integer; the values roundsTo shifts stay
// below 2^116.
type u128 struct{ hi, lo uint64 }

func mul128(a, b uint64) u128 {
	hi, lo := bits.Mul64(a, b)
	return u128{hi, lo}
}

// shl shifts x left by s (below 64); bits shifted out are lost.
func (x u128) shl(s uint) u128 {
	if s == 0 {
		return x
	}
	return u128{hi: x.hi<<s | x.lo>>(64-s), lo: x.lo << s}
}

func (x u128) less(y u128) bool { return x.hi < y.hi || x.hi == y.hi && x.lo < y.lo }
