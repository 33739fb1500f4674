package codec

// This file encodes query arguments for the Bind message.
//
// The server infers each parameter's type from the query: the driver's
// Parse names no types (OID 0, unspecified) when every argument goes in
// text, and when one goes in binary it names the statement's parameter
// types as the server described them, the types the binary values were
// encoded for (the root's sendExecParse). A value in text must therefore
// be in a form the input function of any plausible target type accepts.
// The exceptions: once the parameter types are known, values of a fitting
// Go type go in binary (encode_param.go); and []byte and time.Duration,
// whose meaning depends on the type, are encoded for it
// (encode_typed.go), the types being learned first when unknown (the
// root's learn.go). Without known types (in a pipeline) a []byte goes in
// binary as lib/pq sends it, with OID 0: the binary form of bytea is the
// raw bytes and that of text, varchar and json is the UTF-8 bytes.
//
// database/sql hands each argument to CheckArg first (the driver's
// NamedValueChecker) and, when CheckArg answers driver.ErrSkip, to its own
// default converter. Either way the result reaches AppendArg.

import (
	"bytes"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Format codes of the Bind and RowDescription messages (protocol section
// "Message Formats").
const (
	FormatText   int16 = 0
	FormatBinary int16 = 1
)

// maxValuerDepth bounds how many driver.Valuer and pointer indirections
// CheckArg follows, so a Valuer that returns itself cannot loop forever.
const maxValuerDepth = 8

// decimalDecomposer is the interface database/sql accepts as a driver value
// for decimal types (see database/sql/driver.Value). The coefficient is a
// big-endian unsigned integer; the value is ±coefficient·10^exponent. Form 0
// is finite, 1 infinite, 2 NaN.
type decimalDecomposer interface {
	Decompose(buf []byte) (form byte, negative bool, coefficient []byte, exponent int32)
}

// arrayArg is a Go slice that CheckArg accepted as a PostgreSQL array.
// AppendArg writes it as an array literal in the text format.
type arrayArg struct {
	v reflect.Value // a non-nil slice whose leaf element type is encodable
}

// BadArg stands for an argument the connection could not convert (its
// CheckNamedValue); encoding it (AppendArg) fails with Err, so the
// statement fails before anything is sent with a *pgpipe.ArgError that
// names the argument.
type BadArg struct{ Err error }

// Value returns the conversion error, for any path that converts the
// argument again.
func (b BadArg) Value() (driver.Value, error) { return nil, b.Err }

var (
	valuerType     = reflect.TypeFor[driver.Valuer]()
	decomposerType = reflect.TypeFor[decimalDecomposer]()
	timeType       = reflect.TypeFor[time.Time]()
	rawMessageType = reflect.TypeFor[json.RawMessage]()
)

// CheckArg implements driver.NamedValueChecker's decision for one argument
// value v. It returns:
//
//   - v itself, unconverted, when AppendArg encodes its type directly: nil,
//     bool, every int and uint size, float32, float64, string, []byte,
//     json.RawMessage, time.Time, time.Duration and decimal types implementing
//     Decompose (as database/sql/driver.Value describes). Keeping an int as
//     an int avoids the allocation of boxing a new int64.
//   - for a driver.Valuer, the checked result of its Value method; a nil
//     pointer whose element type implements Valuer yields nil (SQL NULL),
//     as in database/sql. The result may be anything CheckArg accepts,
//     including a slice or a named scalar type such as `type Status string`.
//   - for a nil pointer, nil; for another pointer, the checked value it
//     points to.
//   - for a named []byte type, the []byte (sent in binary like []byte).
//   - for a slice of bools, integers, floats, strings (named types
//     included), []byte, json.RawMessage, time.Time, Valuers, pointers to
//     those (nil pointers are NULL) or interface values (nil is NULL, a
//     slice is a sub-array), and for rectangular slices of such slices (a
//     multi-dimensional array), an arrayArg that AppendArg writes as an
//     array literal. A nil slice is NULL.
//   - driver.ErrSkip for any other type, so that database/sql's default
//     converter runs: it converts named scalar types and reports "unsupported
//     type T" with the argument's position.
//
// It returns an error only when a Value method fails or returns a type the
// driver cannot send.
func CheckArg(v any) (any, error) {
	return checkArgDepth(v, 0)
}

func checkArgDepth(v any, depth int) (any, error) {
	switch v := v.(type) {
	case nil, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64,
		float32, float64, string, []byte, json.RawMessage, time.Time, time.Duration, decimalDecomposer:
		return v, nil
	case driver.Valuer:
		return checkValuer(v, depth)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		if depth >= maxValuerDepth {
			return nil, fmt.Errorf("pgpipe: cannot send %T: more than %d indirections", v, maxValuerDepth)
		}
		return checkArgDepth(rv.Elem().Interface(), depth+1)
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			if rv.IsNil() {
				return nil, nil
			}
			return rv.Bytes(), nil
		}
		if !arrayLeafOK(rv.Type()) {
			return nil, driver.ErrSkip
		}
		if rv.IsNil() {
			return nil, nil
		}
		return arrayArg{v: rv}, nil
	}
	return nil, driver.ErrSkip
}

// checkValuer calls vr.Value the way database/sql's callValuerValue does
// and checks the result.
func checkValuer(vr driver.Valuer, depth int) (any, error) {
	if isNilValuerPointer(vr) {
		return nil, nil
	}
	if depth >= maxValuerDepth {
		return nil, fmt.Errorf("pgpipe: cannot send %T: Value methods nested more than %d deep", vr, maxValuerDepth)
	}
	v, err := vr.Value()
	if err != nil {
		return nil, err
	}
	out, err := checkArgDepth(v, depth+1)
	if errors.Is(err, driver.ErrSkip) {
		// database/sql would call Value again and then reject the type,
		// so settle named scalars here.
		if out, ok := scalarByKind(reflect.ValueOf(v)); ok {
			return out, nil
		}
		return nil, fmt.Errorf("pgpipe: %T.Value returned unsupported type %T", vr, v)
	}
	return out, err
}

// isNilValuerPointer reports whether vr is a nil pointer to a type whose
// value receiver implements driver.Valuer, which database/sql treats as
// NULL instead of calling Value on it and panicking.
func isNilValuerPointer(vr driver.Valuer) bool {
	rv := reflect.ValueOf(vr)
	return rv.Kind() == reflect.Pointer && rv.IsNil() && rv.Type().Elem().Implements(valuerType)
}

// scalarByKind converts a value of a named scalar type to the basic type of
// its kind, as database/sql's default converter does.
func scalarByKind(rv reflect.Value) (any, bool) {
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint(), true
	case reflect.Float32:
		return float32(rv.Float()), true
	case reflect.Float64:
		return rv.Float(), true
	case reflect.String:
		return rv.String(), true
	}
	return nil, false
}

// arrayLeafOK reports whether t, a slice type that is not a []byte, has
// elements appendArray can write: after peeling off the slice levels that
// are array dimensions, a scalar kind, []byte, time.Time, a Valuer or
// Decompose implementation, an interface (checked per element) or a pointer
// to one of these.
func arrayLeafOK(t reflect.Type) bool {
	e := t.Elem()
	for isDimension(e) {
		e = e.Elem()
	}
	if e.Kind() == reflect.Pointer && !implementsAny(e) {
		e = e.Elem()
	}
	if implementsAny(e) || e == timeType {
		return true
	}
	switch e.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String, reflect.Interface:
		return true
	case reflect.Slice:
		return e.Elem().Kind() == reflect.Uint8
	}
	return false
}

// implementsAny reports whether t implements driver.Valuer or Decompose.
func implementsAny(t reflect.Type) bool {
	return t.Implements(valuerType) || t.Implements(decomposerType)
}

// AppendArg appends the wire encoding of v to buf for a Bind message. v is a
// value CheckArg returned or one database/sql's default converter produces
// (nil, int64, float64, bool, []byte, string, time.Time). It returns the
// extended buffer, the format code to send (FormatText or FormatBinary) and
// whether v is SQL NULL, in which case nothing is appended and the caller
// sends length -1. For an unsupported type or an array it cannot write (a
// ragged multi-dimensional slice, an unsupported element) it returns an
// error naming the problem; buf may then hold a partial encoding beyond its
// original length, which the caller discards.
//
// Encodings (all text except []byte):
//
//   - bool: t or f; integers: decimal; floats: the shortest decimal that
//     reads back as the same value, NaN, Infinity or -Infinity.
//   - string and json.RawMessage: the bytes as they are (a nil
//     json.RawMessage is NULL).
//   - []byte: binary, the bytes as they are; a nil []byte is NULL.
//   - time.Time: "YYYY-MM-DD HH:MM:SS.fffffffff+HH:MM:SS" with the zone
//     offset of the value, the fraction trimmed of trailing zeros (the server
//     rounds it to microseconds), the seconds of the offset only when
//     nonzero, and years before 1 written as PostgreSQL expects, with " BC".
//     An offset PostgreSQL cannot represent (16 hours or more) is replaced by
//     UTC, keeping the instant.
//   - a Decompose value: its decimal digits, Infinity, -Infinity or NaN.
//   - arrays: see appendArray.
//
// It does not allocate for scalar values when buf has room.
func AppendArg(buf []byte, v any) (out []byte, format int16, null bool, err error) {
	switch v := v.(type) {
	case nil:
		return buf, FormatText, true, nil
	case []byte:
		if v == nil {
			return buf, FormatBinary, true, nil
		}
		return append(buf, v...), FormatBinary, false, nil
	case json.RawMessage:
		if v == nil {
			return buf, FormatText, true, nil
		}
		return append(buf, v...), FormatText, false, nil
	case arrayArg:
		out, err := appendArray(buf, v.v)
		return out, FormatText, false, err
	case BadArg:
		return buf, FormatText, false, v.Err
	}
	out, ok := appendScalar(buf, v)
	if !ok {
		return buf, FormatText, false, fmt.Errorf("pgpipe: cannot send a value of type %T", v)
	}
	return out, FormatText, false, nil
}

// appendScalar appends the text encoding of a non-NULL scalar value. It
// reports false for a type it does not know.
func appendScalar(buf []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return append(buf, v...), true
	case int64:
		return strconv.AppendInt(buf, v, 10), true
	case int:
		return strconv.AppendInt(buf, int64(v), 10), true
	case int32:
		return strconv.AppendInt(buf, int64(v), 10), true
	case int16:
		return strconv.AppendInt(buf, int64(v), 10), true
	case int8:
		return strconv.AppendInt(buf, int64(v), 10), true
	case uint64:
		return strconv.AppendUint(buf, v, 10), true
	case uint:
		return strconv.AppendUint(buf, uint64(v), 10), true
	case uint32:
		return strconv.AppendUint(buf, uint64(v), 10), true
	case uint16:
		return strconv.AppendUint(buf, uint64(v), 10), true
	case uint8:
		return strconv.AppendUint(buf, uint64(v), 10), true
	case float64:
		return appendFloat(buf, v, 64), true
	case float32:
		return appendFloat(buf, float64(v), 32), true
	case bool:
		return appendBool(buf, v), true
	case time.Time:
		return appendTime(buf, v), true
	case time.Duration:
		return strconv.AppendInt(buf, int64(v), 10), true
	case decimalDecomposer:
		return appendDecimal(buf, v), true
	}
	return buf, false
}

func appendBool(buf []byte, b bool) []byte {
	if b {
		return append(buf, 't')
	}
	return append(buf, 'f')
}

// appendFloat writes f, which holds a value of the given bit size, in the
// shortest form that float4in/float8in read back exactly.
func appendFloat(buf []byte, f float64, bitSize int) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(buf, "Infinity"...)
	case math.IsInf(f, -1):
		return append(buf, "-Infinity"...)
	}
	return strconv.AppendFloat(buf, f, 'g', -1, bitSize) // NaN is "NaN"
}

// maxTZOffset is PostgreSQL's limit on a time zone offset (TZDISP_LIMIT):
// offsets must be less than 16 hours.
const maxTZOffset = 16 * 3600

// appendTime writes t in the ISO form every PostgreSQL date/time input
// function accepts, whatever DateStyle is.
func appendTime(buf []byte, t time.Time) []byte {
	_, offset := t.Zone()
	if offset <= -maxTZOffset || offset >= maxTZOffset {
		t, offset = t.UTC(), 0
	}
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	bc := year <= 0
	if bc {
		year = 1 - year // Go's year 0 is 1 BC
	}
	if year < 1000 {
		buf = append(buf, '0', byte('0'+year/100), byte('0'+year/10%10), byte('0'+year%10))
	} else {
		buf = strconv.AppendInt(buf, int64(year), 10)
	}
	buf = append(buf, '-')
	buf = append2(buf, int(month))
	buf = append(buf, '-')
	buf = append2(buf, day)
	buf = append(buf, ' ')
	buf = append2(buf, hour)
	buf = append(buf, ':')
	buf = append2(buf, minute)
	buf = append(buf, ':')
	buf = append2(buf, sec)
	buf = appendFraction(buf, t.Nanosecond())
	buf = appendOffset(buf, offset)
	if bc {
		buf = append(buf, " BC"...)
	}
	return buf
}

// append2 writes 0 <= n < 100 as two digits.
func append2(buf []byte, n int) []byte {
	return append(buf, byte('0'+n/10), byte('0'+n%10))
}

// appendFraction writes ".fffffffff" for nsec > 0, trailing zeros trimmed.
func appendFraction(buf []byte, nsec int) []byte {
	if nsec == 0 {
		return buf
	}
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + nsec%10)
		nsec /= 10
	}
	n := 9
	for digits[n-1] == '0' {
		n--
	}
	buf = append(buf, '.')
	return append(buf, digits[:n]...)
}

// appendOffset writes a zone offset in seconds east of UTC as +HH:MM, with
// :SS added when the offset has seconds (local mean time before 1900).
func appendOffset(buf []byte, offset int) []byte {
	sign := byte('+')
	if offset < 0 {
		sign, offset = '-', -offset
	}
	buf = append(buf, sign)
	buf = append2(buf, offset/3600)
	buf = append(buf, ':')
	buf = append2(buf, offset/60%60)
	if s := offset % 60; s != 0 {
		buf = append(buf, ':')
		buf = append2(buf, s)
	}
	return buf
}

// maxDecimalZeros bounds the zeros appendDecimal writes for a positive
// exponent; beyond it the exponent is written as e+N.
const maxDecimalZeros = 64

// appendDecimal writes a Decompose value as numeric_in reads it.
func appendDecimal(buf []byte, d decimalDecomposer) []byte {
	form, negative, coef, exp := d.Decompose(nil)
	switch form {
	case 1:
		if negative {
			return append(buf, "-Infinity"...)
		}
		return append(buf, "Infinity"...)
	case 2:
		return append(buf, "NaN"...)
	}
	if negative {
		buf = append(buf, '-')
	}
	start := len(buf)
	buf = new(big.Int).SetBytes(coef).Append(buf, 10)
	switch {
	case exp > 0 && exp <= maxDecimalZeros:
		for range exp {
			buf = append(buf, '0')
		}
	case exp > 0:
		buf = append(buf, 'e')
		buf = strconv.AppendInt(buf, int64(exp), 10)
	case exp < 0:
		buf = insertPoint(buf, start, int(-exp))
	}
	return buf
}

// insertPoint puts a decimal point before the last frac digits of
// buf[start:], padding with leading zeros as needed ("5", 3 -> "0.005").
func insertPoint(buf []byte, start, frac int) []byte {
	digits := len(buf) - start
	if pad := frac + 1 - digits; pad > 0 {
		buf = append(buf, make([]byte, pad)...)
		copy(buf[start+pad:], buf[start:start+digits])
		for i := range pad {
			buf[start+i] = '0'
		}
		digits += pad
	}
	point := len(buf) - frac
	buf = append(buf, 0)
	copy(buf[point+1:], buf[point:])
	buf[point] = '.'
	return buf
}

// maxArrayDims is the number of dimensions appendArray tracks without
// allocating; PostgreSQL itself allows 6 (MAXDIM).
const maxArrayDims = 6

// arrayWriter writes one array argument; see appendArray.
type arrayWriter struct {
	typ  reflect.Type // the top-level slice type, for errors
	dims []int        // length of each dimension, from the first elements
	path []int        // index of the element being written, per dimension

	// The last element type seen and whether it implements driver.Valuer
	// or Decompose, so that a homogeneous slice asks reflect once.
	lastType reflect.Type
	lastImpl bool

	buf [2 * maxArrayDims]int
}

// appendArray writes the slice rv as an array literal in the text format:
// {"1","2",NULL} for one dimension, {{"1","2"},{"3","4"}} for a slice of
// slices. Every non-NULL element is double-quoted with \ and " escaped, so
// no element text is misread (the string "NULL", spaces, commas, braces);
// NULL is unquoted. Elements are written as AppendArg writes scalars, except
// []byte, which becomes bytea's hex form \x... (its backslash escaped inside
// the quotes), and json.RawMessage, which is text. A slice with no elements,
// in any dimension, is the empty array {}. A slice of slices must be
// rectangular; a ragged one is an error naming the first offending element.
func appendArray(buf []byte, rv reflect.Value) ([]byte, error) {
	a := arrayWriter{typ: rv.Type()}
	a.dims = a.buf[:0:maxArrayDims]
	empty := false
	for v := rv; ; {
		if len(a.dims) == maxArrayDims {
			return buf, fmt.Errorf("pgpipe: cannot send %s as an array: %d or more dimensions, PostgreSQL allows at most %d",
				a.typ, maxArrayDims+1, maxArrayDims)
		}
		a.dims = append(a.dims, v.Len())
		empty = empty || v.Len() == 0
		next, ok := subArray(v)
		if !ok {
			break
		}
		v = next
	}
	a.path = a.buf[maxArrayDims:maxArrayDims]
	for range a.dims {
		a.path = append(a.path, 0)
	}
	start := len(buf)
	buf, err := a.write(buf, rv, 0)
	if err != nil {
		return buf, err
	}
	if empty {
		buf = append(buf[:start], "{}"...)
	}
	return buf, nil
}

// subArray returns the first sub-array of the slice v when its elements
// are dimensions of the array: slices by their type (isDimension), or
// interface values holding slices that are not []byte ([]any{[]any{1, 2},
// ...}). For an empty slice of a slice type it returns an empty value of
// the element type, so that the dimensions below still count.
func subArray(v reflect.Value) (reflect.Value, bool) {
	et := v.Type().Elem()
	if isDimension(et) {
		if v.Len() == 0 {
			return reflect.Zero(et), true
		}
		return v.Index(0), true
	}
	if et.Kind() != reflect.Interface || v.Len() == 0 {
		return reflect.Value{}, false
	}
	e := v.Index(0).Elem()
	if e.IsValid() && isDimension(e.Type()) {
		return e, true
	}
	return reflect.Value{}, false
}

// isDimension reports whether a slice element of type t is itself a
// dimension of the array rather than an element: a slice that is not a
// []byte and has no Value or Decompose method.
func isDimension(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 && !implementsAny(t)
}

// write writes the sub-array v at the given dimension level.
func (a *arrayWriter) write(buf []byte, v reflect.Value, level int) ([]byte, error) {
	if v.Len() != a.dims[level] {
		return buf, a.raggedError(level, v.Len())
	}
	buf = append(buf, '{')
	var err error
	for i := range v.Len() {
		if i > 0 {
			buf = append(buf, ',')
		}
		a.path[level] = i
		if level+1 < len(a.dims) {
			sub := v.Index(i)
			if sub.Kind() == reflect.Interface {
				sub = sub.Elem()
				if !sub.IsValid() || !isDimension(sub.Type()) {
					return buf, a.elemError(v.Index(i), "an element where a sub-array belongs")
				}
			}
			buf, err = a.write(buf, sub, level+1)
		} else {
			buf, err = a.elem(buf, v.Index(i), 0)
		}
		if err != nil {
			return buf, err
		}
	}
	return append(buf, '}'), nil
}

func (a *arrayWriter) raggedError(level, n int) error {
	var at, first []byte
	for _, i := range a.path[:level] {
		at = append(strconv.AppendInt(append(at, '['), int64(i), 10), ']')
		first = append(first, "[0]"...)
	}
	return fmt.Errorf("pgpipe: cannot send %s as an array: ragged multi-dimensional slice: v%s has %d elements, v%s has %d",
		a.typ, at, n, first, a.dims[level])
}

// elem writes one element; depth counts the pointers, interfaces and Value
// calls followed to reach it.
func (a *arrayWriter) elem(buf []byte, ev reflect.Value, depth int) ([]byte, error) {
	if depth > maxValuerDepth {
		return buf, a.elemError(ev, "too many indirections")
	}
	if k := ev.Kind(); (k == reflect.Pointer || k == reflect.Interface) && ev.IsNil() {
		return append(buf, "NULL"...), nil
	}
	if a.implements(ev.Type()) {
		return a.methodElem(buf, ev, depth)
	}
	switch ev.Kind() {
	case reflect.Pointer, reflect.Interface:
		return a.elem(buf, ev.Elem(), depth+1)
	case reflect.Bool:
		return append(appendBool(append(buf, '"'), ev.Bool()), '"'), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return append(strconv.AppendInt(append(buf, '"'), ev.Int(), 10), '"'), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return append(strconv.AppendUint(append(buf, '"'), ev.Uint(), 10), '"'), nil
	case reflect.Float32:
		return append(appendFloat(append(buf, '"'), ev.Float(), 32), '"'), nil
	case reflect.Float64:
		return append(appendFloat(append(buf, '"'), ev.Float(), 64), '"'), nil
	case reflect.String:
		return appendQuoted(buf, ev.String()), nil
	case reflect.Slice:
		if ev.Type().Elem().Kind() == reflect.Uint8 {
			return appendBytesElem(buf, ev), nil
		}
		return buf, a.elemError(ev, "a sub-array ("+ev.Type().String()+") where an element belongs: the sub-arrays of a multi-dimensional array must all be as deep")
	case reflect.Struct:
		if ev.Type() == timeType {
			return append(appendTime(append(buf, '"'), timeOf(ev)), '"'), nil
		}
	}
	return buf, a.elemError(ev, "unsupported element type "+ev.Type().String())
}

// implements reports whether t has a Value or Decompose method, asking
// reflect only when t differs from the previous element's type.
func (a *arrayWriter) implements(t reflect.Type) bool {
	if t != a.lastType {
		a.lastType, a.lastImpl = t, implementsAny(t)
	}
	return a.lastImpl
}

// methodElem writes an element whose type has a Decompose or Value method.
func (a *arrayWriter) methodElem(buf []byte, ev reflect.Value, depth int) ([]byte, error) {
	v := ev.Interface()
	if d, ok := v.(decimalDecomposer); ok {
		return append(appendDecimal(append(buf, '"'), d), '"'), nil
	}
	vr := v.(driver.Valuer)
	if isNilValuerPointer(vr) {
		return append(buf, "NULL"...), nil
	}
	r, err := vr.Value()
	if err != nil {
		return buf, err
	}
	if r == nil {
		return append(buf, "NULL"...), nil
	}
	return a.elem(buf, reflect.ValueOf(r), depth+1)
}

func (a *arrayWriter) elemError(ev reflect.Value, what string) error {
	var at []byte
	for _, i := range a.path {
		at = append(strconv.AppendInt(append(at, '['), int64(i), 10), ']')
	}
	return fmt.Errorf("pgpipe: cannot send %s as an array: element v%s: %s", a.typ, at, what)
}

// timeOf returns the time.Time held by ev without copying it to the heap
// when ev is addressable (a slice element).
func timeOf(ev reflect.Value) time.Time {
	if ev.CanAddr() {
		return *ev.Addr().Interface().(*time.Time)
	}
	return ev.Interface().(time.Time)
}

// appendBytesElem writes a []byte-kinded array element: NULL for nil, the
// text of a json.RawMessage, otherwise bytea's hex form.
func appendBytesElem(buf []byte, ev reflect.Value) []byte {
	if ev.IsNil() {
		return append(buf, "NULL"...)
	}
	if ev.Type() == rawMessageType {
		return appendQuotedBytes(buf, ev.Bytes())
	}
	buf = append(buf, `"\\x`...)
	buf = hex.AppendEncode(buf, ev.Bytes())
	return append(buf, '"')
}

// appendQuoted writes s as a quoted array element, escaping \ and ".
func appendQuoted(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for {
		i := strings.IndexAny(s, `\"`)
		if i < 0 {
			break
		}
		buf = append(buf, s[:i]...)
		buf = append(buf, '\\', s[i])
		s = s[i+1:]
	}
	buf = append(buf, s...)
	return append(buf, '"')
}

// appendQuotedBytes is appendQuoted for a byte slice.
func appendQuotedBytes(buf []byte, b []byte) []byte {
	buf = append(buf, '"')
	for {
		i := bytes.IndexAny(b, `\"`)
		if i < 0 {
			break
		}
		buf = append(buf, b[:i]...)
		buf = append(buf, '\\', b[i])
		b = b[i+1:]
	}
	buf = append(buf, b...)
	return append(buf, '"')
}
