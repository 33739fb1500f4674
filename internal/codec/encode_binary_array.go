package codec

import (
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// Arrays (array_send): int32 ndim, int32 flags (1 if any element is NULL),
// uint32 element type, per dimension int32 length and int32 lower bound
// (always 1 here), then each element as int32 length (-1 for NULL) and
// bytes, in row-major order. An empty array has no dimensions.

// binaryArrayWriter writes one array; see encodeBinaryArray.
type binaryArrayWriter struct {
	oid, elem uint32
	enc       binaryEncodeFunc
	typ       reflect.Type // the top-level slice type, for errors
	ndim      int
	dims      [maxArrayDims]int
	path      [maxArrayDims]int // index of the element being written
	hasNull   bool
}

// encodeBinaryArray writes v, an arrayArg or a slice other than []byte, as
// an array of type oid whose elements have type elem and are written by
// enc. Nested slices are dimensions, as CheckArg and appendArray see them;
// they must be rectangular, and an empty slice in any dimension makes the
// empty array.
func encodeBinaryArray(buf []byte, v any, oid, elem uint32, enc binaryEncodeFunc) ([]byte, error) {
	var rv reflect.Value
	if a, ok := v.(arrayArg); ok {
		rv = a.v
	} else if rv = reflect.ValueOf(v); rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() == reflect.Uint8 {
		return buf, errCannotEncode(v, oid, "")
	}
	w := binaryArrayWriter{oid: oid, elem: elem, enc: enc, typ: rv.Type()}
	empty := false
	for sub := rv; ; {
		if w.ndim == maxArrayDims {
			return buf, errCannotEncode(v, oid, "more than 6 dimensions")
		}
		w.dims[w.ndim] = sub.Len()
		w.ndim++
		empty = empty || sub.Len() == 0
		if !isDimension(sub.Type().Elem()) {
			break
		}
		if sub.Len() == 0 {
			sub = reflect.Zero(sub.Type().Elem())
		} else {
			sub = sub.Index(0)
		}
	}
	start := len(buf)
	ndim := w.ndim
	if empty {
		ndim = 0
	}
	buf = binary.BigEndian.AppendUint32(buf, uint32(ndim))
	buf = binary.BigEndian.AppendUint32(buf, 0)
	buf = binary.BigEndian.AppendUint32(buf, elem)
	for _, n := range w.dims[:ndim] {
		buf = binary.BigEndian.AppendUint32(buf, uint32(n))
		buf = binary.BigEndian.AppendUint32(buf, 1)
	}
	buf, err := w.write(buf, rv, 0)
	if err != nil {
		return buf, err
	}
	if w.hasNull {
		buf[start+7] = 1
	}
	return buf, nil
}

// write writes the sub-array v at dimension level.
func (w *binaryArrayWriter) write(buf []byte, v reflect.Value, level int) ([]byte, error) {
	if v.Len() != w.dims[level] {
		return buf, w.errorAt(level, fmt.Sprintf("ragged multi-dimensional slice: %d elements where the first has %d",
			v.Len(), w.dims[level]))
	}
	var err error
	for i := range v.Len() {
		w.path[level] = i
		if level+1 < w.ndim {
			buf, err = w.write(buf, v.Index(i), level+1)
		} else {
			buf, err = w.element(buf, v.Index(i), 0)
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// element writes one element with its length; depth counts the pointers,
// interfaces and Value calls followed to reach it.
func (w *binaryArrayWriter) element(buf []byte, ev reflect.Value, depth int) ([]byte, error) {
	if depth > maxValuerDepth {
		return buf, w.errorAt(w.ndim, "too many indirections")
	}
	if k := ev.Kind(); k == reflect.Invalid || (k == reflect.Pointer || k == reflect.Interface) && ev.IsNil() {
		w.hasNull = true
		return binary.BigEndian.AppendUint32(buf, math.MaxUint32), nil // -1
	}
	if implementsAny(ev.Type()) {
		return w.methodElement(buf, ev, depth)
	}
	var x any
	switch ev.Kind() {
	case reflect.Pointer, reflect.Interface:
		return w.element(buf, ev.Elem(), depth+1)
	case reflect.Slice:
		switch {
		case ev.Type().Elem().Kind() != reflect.Uint8:
		case ev.IsNil():
			return w.element(buf, reflect.Value{}, depth) // NULL, as in appendArray
		case ev.Type() == rawMessageType:
			x = json.RawMessage(ev.Bytes())
		default:
			x = ev.Bytes()
		}
	case reflect.Array:
		if ev.Type().Elem().Kind() == reflect.Uint8 && ev.Len() == 16 {
			var u [16]byte
			reflect.Copy(reflect.ValueOf(u[:]), ev)
			x = u
		}
	case reflect.Struct:
		if ev.Type() == timeType {
			x = timeOf(ev)
		}
	default:
		x, _ = scalarByKind(ev)
	}
	if x == nil {
		return buf, w.errorAt(w.ndim, "unsupported element type "+ev.Type().String())
	}
	return w.encode(buf, x)
}

// encode writes the non-NULL element x with its length.
func (w *binaryArrayWriter) encode(buf []byte, x any) ([]byte, error) {
	at := len(buf)
	buf, err := w.enc(append(buf, 0, 0, 0, 0), x, w.elem)
	if err != nil {
		var e *binaryEncodeError
		if errors.As(err, &e) && e.at == "" {
			e.at = w.pathText(w.ndim)
		}
		return buf, err
	}
	binary.BigEndian.PutUint32(buf[at:], uint32(len(buf)-at-4))
	return buf, nil
}

// methodElement writes an element whose type has a Value or Decompose
// method.
func (w *binaryArrayWriter) methodElement(buf []byte, ev reflect.Value, depth int) ([]byte, error) {
	v := ev.Interface()
	if d, ok := v.(decimalDecomposer); ok {
		return w.encode(buf, d)
	}
	vr := v.(driver.Valuer)
	if isNilValuerPointer(vr) {
		return w.element(buf, reflect.Value{}, depth)
	}
	r, err := vr.Value()
	if err != nil {
		return buf, &binaryEncodeError{at: w.pathText(w.ndim), msg: fmt.Sprintf("%T.Value", v), err: err}
	}
	return w.element(buf, reflect.ValueOf(r), depth+1)
}

func (w *binaryArrayWriter) errorAt(level int, what string) error {
	return &binaryEncodeError{at: w.pathText(level), msg: "cannot encode " + w.typ.String() + " as " +
		binaryTypeName(w.oid) + ": " + what}
}

// pathText formats the index of the element being written, down to level.
func (w *binaryArrayWriter) pathText(level int) string {
	var b []byte
	for _, i := range w.path[:level] {
		b = append(strconv.AppendInt(append(b, '['), int64(i), 10), ']')
	}
	return string(b)
}
