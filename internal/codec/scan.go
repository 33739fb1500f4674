package codec

import (
	"bytes"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// ConvertAssign stores src, a value as Next returns it (nil, int64,
// float64, bool, []byte, string, time.Time), into dest, with the
// conversions database/sql's Rows.Scan applies, so that rows read through
// pgpipe's extensions (a pipeline, COPY TO as rows) scan as rows read
// through database/sql do. A []byte src is copied unless dest is
// *sql.RawBytes.
func ConvertAssign(dest, src any) error {
	if assignFast(dest, src) {
		return nil
	}
	switch d := dest.(type) {
	case sql.Scanner:
		return d.Scan(src)
	case *any:
		if b, ok := src.([]byte); ok {
			src = bytes.Clone(b)
		}
		*d = src
		return nil
	case *bool:
		v, err := driver.Bool.ConvertValue(src)
		if err != nil {
			return fmt.Errorf("pgpipe: converting %T to bool: %w", src, err)
		}
		*d = v.(bool)
		return nil
	}
	return assignReflect(dest, src)
}

// assignFast handles the common string, []byte, time.Time, int64, float64
// and NULL cases without reflection.
func assignFast(dest, src any) bool {
	switch s := src.(type) {
	case string:
		return assignString(dest, s)
	case []byte:
		return assignBytes(dest, s)
	case time.Time:
		if d, ok := dest.(*time.Time); ok {
			*d = s
			return true
		}
		return assignTimeText(dest, s)
	case int64:
		if d, ok := dest.(*int64); ok {
			*d = s
			return true
		}
	case float64:
		if d, ok := dest.(*float64); ok {
			*d = s
			return true
		}
	case nil:
		return assignNull(dest)
	}
	return false
}

// assignString stores a string into a *string, *[]byte or *sql.RawBytes.
func assignString(dest any, s string) bool {
	switch d := dest.(type) {
	case *string:
		*d = s
	case *[]byte:
		*d = []byte(s)
	case *sql.RawBytes:
		*d = append((*d)[:0], s...)
	default:
		return false
	}
	return true
}

// assignBytes stores a []byte into a *string or a *[]byte (copied), or a
// *sql.RawBytes (not copied).
func assignBytes(dest any, s []byte) bool {
	switch d := dest.(type) {
	case *string:
		*d = string(s)
	case *[]byte:
		*d = bytes.Clone(s)
	case *sql.RawBytes:
		*d = s
	default:
		return false
	}
	return true
}

// assignTimeText stores a time.Time's RFC 3339 text into a *string or
// *[]byte.
func assignTimeText(dest any, s time.Time) bool {
	switch d := dest.(type) {
	case *string:
		*d = s.Format(time.RFC3339Nano)
	case *[]byte:
		*d = []byte(s.Format(time.RFC3339Nano))
	default:
		return false
	}
	return true
}

// assignNull stores NULL into a *any, *[]byte or *sql.RawBytes.
func assignNull(dest any) bool {
	switch d := dest.(type) {
	case *any:
		*d = nil
	case *[]byte:
		*d = nil
	case *sql.RawBytes:
		*d = nil
	default:
		return false
	}
	return true
}

// assignReflect handles pointers to pointers, named types and numeric
// conversions through strings, as database/sql does.
func assignReflect(dest, src any) error {
	dpv := reflect.ValueOf(dest)
	if dpv.Kind() != reflect.Pointer || dpv.IsNil() {
		return errors.New("pgpipe: Scan destination is not a non-nil pointer")
	}
	dv := dpv.Elem()
	if src == nil {
		switch dv.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
			dv.SetZero()
			return nil
		}
		return fmt.Errorf("pgpipe: converting NULL to %s is unsupported", dv.Kind())
	}
	if dv.Kind() == reflect.Pointer {
		dv.Set(reflect.New(dv.Type().Elem()))
		return ConvertAssign(dv.Interface(), src)
	}
	sv := reflect.ValueOf(src)
	if sv.Type().AssignableTo(dv.Type()) {
		if b, ok := src.([]byte); ok {
			dv.Set(reflect.ValueOf(bytes.Clone(b)))
			return nil
		}
		dv.Set(sv)
		return nil
	}
	if dv.Kind() == sv.Kind() && sv.Type().ConvertibleTo(dv.Type()) {
		dv.Set(sv.Convert(dv.Type()))
		return nil
	}
	return assignParsed(dv, dest, src)
}

// assignParsed stores src into a number or string of a named or other-sized
// type dv (what dest points to) through its text, as database/sql does.
func assignParsed(dv reflect.Value, dest, src any) error {
	s, ok := asString(src)
	switch dv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, dv.Type().Bits())
		if !ok || err != nil {
			return convErr(src, dv, err)
		}
		dv.SetInt(i)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(s, 10, dv.Type().Bits())
		if !ok || err != nil {
			return convErr(src, dv, err)
		}
		dv.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, dv.Type().Bits())
		if !ok || err != nil {
			return convErr(src, dv, err)
		}
		dv.SetFloat(f)
		return nil
	case reflect.String:
		if ok {
			dv.SetString(s)
			return nil
		}
	}
	return fmt.Errorf("pgpipe: unsupported Scan, storing %T into type %T", src, dest)
}

func convErr(src any, dv reflect.Value, err error) error {
	if err == nil {
		err = errors.New("not a number")
	}
	return fmt.Errorf("pgpipe: converting %T %v to %s: %w", src, src, dv.Type(), err)
}

// asString renders the scalar values rows return as database/sql does.
func asString(src any) (string, bool) {
	switch v := src.(type) {
	case string:
		return v, true
	case []byte:
		return string(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}
