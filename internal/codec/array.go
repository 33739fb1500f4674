package codec

import (
	"database/sql"
	"database/sql/driver"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// ArrayValue is the Value method of pgpipe.Array(a): the slice a is or
// points to, which the driver sends as an array; a nil slice or pointer is
// NULL.
func ArrayValue(a any) (driver.Value, error) {
	rv := reflect.ValueOf(a)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Slice {
		return nil, fmt.Errorf("pgpipe: Array of %T: not a slice", a)
	}
	if rv.IsNil() {
		return nil, nil
	}
	return rv.Interface(), nil
}

// ScanArray is the Scan method of pgpipe.Array(a), whose doc says what it
// accepts: it parses src, an array in PostgreSQL's text format, into the
// slice a points to.
func ScanArray(a, src any) error {
	dp := reflect.ValueOf(a)
	if dp.Kind() != reflect.Pointer || dp.IsNil() || dp.Elem().Kind() != reflect.Slice {
		return fmt.Errorf("pgpipe: cannot scan an array into %T: Array needs a non-nil pointer to a slice", a)
	}
	dv := dp.Elem()
	var text []byte
	switch s := src.(type) {
	case nil:
		dv.SetZero()
		return nil
	case string:
		text = []byte(s)
	case []byte:
		text = s
	default:
		return fmt.Errorf("pgpipe: cannot scan %T into %s: not an array", src, dv.Type())
	}
	arr, err := parseTextArray(text)
	if err != nil {
		return err
	}
	return fillArray(dv, arr)
}

// fillArray stores arr into the slice dv.
func fillArray(dv reflect.Value, arr *textArray) error {
	depth, leaf := 1, dv.Type().Elem()
	for isScanDimension(leaf) {
		depth++
		leaf = leaf.Elem()
	}
	if len(arr.dims) == 0 {
		dv.Set(reflect.MakeSlice(dv.Type(), 0, 0))
		return nil
	}
	if len(arr.dims) != depth && !(len(arr.dims) > depth && leaf.Kind() == reflect.Interface) {
		return fmt.Errorf("pgpipe: cannot scan a %d-dimensional array into %s, which has %d", len(arr.dims), dv.Type(), depth)
	}
	f := arrayFiller{arr: arr, typ: dv.Type()}
	return f.fill(dv, 0)
}

// isScanDimension reports whether a slice element of type t is itself a
// dimension: a slice that is not a []byte and does not scan by itself.
func isScanDimension(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Uint8 && !reflect.PointerTo(t).Implements(scannerType)
}

var scannerType = reflect.TypeFor[sql.Scanner]()

type arrayFiller struct {
	arr  *textArray
	typ  reflect.Type
	next int               // the next element of arr.elems
	path [maxArrayDims]int // the index being filled, for errors
}

// fill makes v, a slice for dimension level, and fills it.
func (f *arrayFiller) fill(v reflect.Value, level int) error {
	n := f.arr.dims[level]
	s := reflect.MakeSlice(v.Type(), n, n)
	for i := range n {
		f.path[level] = i
		ev := s.Index(i)
		var err error
		switch {
		case level+1 < len(f.arr.dims) && ev.Kind() == reflect.Interface:
			sub := reflect.New(reflect.TypeFor[[]any]()).Elem()
			err = f.fill(sub, level+1)
			ev.Set(sub)
		case level+1 < len(f.arr.dims):
			err = f.fill(ev, level+1)
		default:
			err = f.elem(ev, f.arr.elems[f.next], level)
			f.next++
		}
		if err != nil {
			return err
		}
	}
	v.Set(s)
	return nil
}

// elem stores one element into ev.
func (f *arrayFiller) elem(ev reflect.Value, e arrayElem, level int) error {
	if reflect.PointerTo(ev.Type()).Implements(scannerType) {
		var src any
		if !e.null {
			var err error
			if src, err = scannerSource(ev.Type(), e.text); err != nil {
				return f.errorAt(level, err)
			}
		}
		if err := ev.Addr().Interface().(sql.Scanner).Scan(src); err != nil {
			return f.errorAt(level, err)
		}
		return nil
	}
	switch ev.Kind() {
	case reflect.Pointer:
		if e.null {
			ev.SetZero()
			return nil
		}
		p := reflect.New(ev.Type().Elem())
		if err := f.elem(p.Elem(), e, level); err != nil {
			return err
		}
		ev.Set(p)
		return nil
	case reflect.Interface, reflect.Slice: // a []byte element: nil for NULL
		if e.null {
			ev.SetZero()
			return nil
		}
		if ev.Kind() == reflect.Interface {
			ev.Set(reflect.ValueOf(e.text))
			return nil
		}
	}
	if e.null {
		return f.errorAt(level, fmt.Errorf("NULL cannot be stored in %s (use a pointer or sql.Null type)", ev.Type()))
	}
	if err := setArrayElem(ev, e.text); err != nil {
		return f.errorAt(level, err)
	}
	return nil
}

// setArrayElem converts the text of a non-NULL element into ev.
func setArrayElem(ev reflect.Value, s string) error {
	var err error
	switch t := ev.Type(); {
	case t == timeType:
		var tm time.Time
		if tm, err = parseArrayTime(s); err == nil {
			ev.Set(reflect.ValueOf(tm))
		}
		return err
	case t == rawMessageType:
		ev.SetBytes([]byte(s))
		return nil
	}
	switch ev.Kind() {
	case reflect.Bool:
		var b bool
		if b, err = strconv.ParseBool(s); err == nil {
			ev.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		if n, err = strconv.ParseInt(s, 10, ev.Type().Bits()); err == nil {
			ev.SetInt(n)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var n uint64
		if n, err = strconv.ParseUint(s, 10, ev.Type().Bits()); err == nil {
			ev.SetUint(n)
		}
	case reflect.Float32, reflect.Float64:
		var x float64
		if x, err = strconv.ParseFloat(s, ev.Type().Bits()); err == nil {
			ev.SetFloat(x)
		}
	case reflect.String:
		ev.SetString(s)
	case reflect.Slice:
		if ev.Type().Elem().Kind() != reflect.Uint8 {
			return fmt.Errorf("unsupported element type %s", ev.Type())
		}
		var b any
		if b, err = decodeTextBytea([]byte(s), nil); err == nil {
			ev.SetBytes(b.([]byte))
		}
	default:
		return fmt.Errorf("unsupported element type %s", ev.Type())
	}
	if err != nil {
		return fmt.Errorf("converting %q to %s: %w", s, ev.Type(), unwrapNum(err))
	}
	return nil
}

// unwrapNum drops strconv's repetition of the input from its errors.
func unwrapNum(err error) error {
	if ne, ok := err.(*strconv.NumError); ok {
		return ne.Err
	}
	return err
}

// parseArrayTime parses a date, timestamp or timestamptz element.
func parseArrayTime(s string) (time.Time, error) {
	b := []byte(s)
	if v, err := decodeTextTimestamptz(b, nil); err == nil {
		if t, ok := v.(time.Time); ok {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("%s cannot be stored in time.Time", s)
	}
	if v, err := decodeTextTimestamp(b, nil); err == nil {
		if t, ok := v.(time.Time); ok {
			return t, nil
		}
	}
	v, err := decodeTextDate(b, nil)
	if t, ok := v.(time.Time); ok && err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date or timestamp", s)
}

// scannerSource converts an element's text into the value an element of a
// Scanner type t expects: a time.Time for sql.NullTime and sql.Null[T]
// of a time, a decoded []byte where the value is a []byte, otherwise the
// text (which sql.Null* convert as database/sql converts strings).
func scannerSource(t reflect.Type, s string) (any, error) {
	if t.Kind() == reflect.Struct {
		for _, name := range []string{"V", "Time"} {
			if fv, ok := t.FieldByName(name); ok {
				switch {
				case fv.Type == timeType:
					return parseArrayTime(s)
				case fv.Type.Kind() == reflect.Slice && fv.Type.Elem().Kind() == reflect.Uint8 && fv.Type != rawMessageType:
					return decodeTextBytea([]byte(s), nil)
				}
			}
		}
	}
	return s, nil
}

// errorAt names the element being filled.
func (f *arrayFiller) errorAt(level int, err error) error {
	at := ""
	for _, i := range f.path[:level+1] {
		at += "[" + strconv.Itoa(i) + "]"
	}
	return fmt.Errorf("pgpipe: cannot scan array into %s: element %s: %w", f.typ, at, err)
}
