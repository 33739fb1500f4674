package pgtest

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Limits that keep mismatch errors readable.
const (
	maxShownBytes = 64 // longer strings and byte slices are cut, with their length shown
	maxShownElems = 8  // longer slices show their first elements and their length
)

// typeName returns the name of a message's type, such as "Bind".
func typeName(m any) string {
	t := reflect.TypeOf(m)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// copyMessage returns a deep copy of m, sharing no memory with it. Messages
// from pgproto3.Backend.Receive live in buffers the next Receive reuses;
// messages given to a step constructor belong to the test.
func copyMessage[M pgproto3.Message](m M) M {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return m
	}
	c := reflect.New(v.Elem().Type())
	copyValue(c.Elem(), v.Elem())
	return c.Interface().(M)
}

func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Struct:
		for i := range src.NumField() {
			if src.Type().Field(i).IsExported() {
				copyValue(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyValue(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		for it := src.MapRange(); it.Next(); {
			v := reflect.New(src.Type().Elem()).Elem()
			copyValue(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
		dst.Set(m)
	default: // numbers, strings, arrays of bytes: copied by value
		dst.Set(src)
	}
}

// diffMessages compares two messages of the same type field by field and
// returns one line per difference: "field F: want W got G", or
// "field F[i]: want W got G" for the differing elements of two slices of
// the same length. A nil slice or map equals an empty one; deeper down
// (elements of Bind.Parameters) nil and empty differ, as NULL and an empty string do.
func diffMessages(want, got any) []string {
	wv, gv := reflect.ValueOf(want).Elem(), reflect.ValueOf(got).Elem()
	var diffs []string
	for i := range wv.NumField() {
		f := wv.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		diffs = append(diffs, diffField(f.Name, wv.Field(i), gv.Field(i))...)
	}
	return diffs
}

func diffField(name string, w, g reflect.Value) []string {
	switch w.Kind() {
	case reflect.Slice, reflect.Map:
		if w.Len() == 0 && g.Len() == 0 {
			return nil
		}
	}
	if reflect.DeepEqual(w.Interface(), g.Interface()) {
		return nil
	}
	if w.Kind() == reflect.Slice && w.Type().Elem().Kind() != reflect.Uint8 && w.Len() == g.Len() {
		var diffs []string
		for i := range w.Len() {
			we, ge := w.Index(i), g.Index(i)
			if !reflect.DeepEqual(we.Interface(), ge.Interface()) {
				diffs = append(diffs, fmt.Sprintf("field %s[%d]: want %s got %s", name, i, formatElem(we), formatElem(ge)))
			}
		}
		return diffs
	}
	return []string{fmt.Sprintf("field %s: want %s got %s", name, formatValue(w), formatValue(g))}
}

// formatMessage prints a message as its type and its non-zero fields:
// Parse{Name:"x", Query:"select 1"}.
func formatMessage(m any) string {
	v := reflect.ValueOf(m)
	if !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return "nil"
	}
	return typeName(m) + formatStruct(reflect.Indirect(v))
}

func formatStruct(v reflect.Value) string {
	var b strings.Builder
	b.WriteByte('{')
	n := 0
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() || v.Field(i).IsZero() {
			continue
		}
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		b.WriteString(f.Name)
		b.WriteByte(':')
		b.WriteString(formatValue(v.Field(i)))
	}
	b.WriteByte('}')
	return b.String()
}

// formatValue prints a field's value; nil byte slices print as "".
func formatValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.String:
		return quote(v.String())
	case reflect.Uint8:
		c := byte(v.Uint())
		if c >= ' ' && c <= '~' {
			return strconv.QuoteRune(rune(c))
		}
		return strconv.Itoa(int(c))
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return quote(string(v.Bytes()))
		}
		return formatList(v)
	case reflect.Array:
		return formatList(v)
	case reflect.Map:
		return formatMap(v)
	case reflect.Struct:
		return formatStruct(v)
	}
	return fmt.Sprint(v.Interface())
}

// formatElem prints an element of a list, where a nil byte slice is SQL
// NULL.
func formatElem(v reflect.Value) string {
	if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 && v.IsNil() {
		return "NULL"
	}
	return formatValue(v)
}

func formatList(v reflect.Value) string {
	n := min(v.Len(), maxShownElems)
	parts := make([]string, 0, n+1)
	for i := range n {
		parts = append(parts, formatElem(v.Index(i)))
	}
	if v.Len() > n {
		parts = append(parts, fmt.Sprintf("…(%d in all)", v.Len()))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func formatMap(v reflect.Value) string {
	parts := make([]string, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		parts = append(parts, formatValue(it.Key())+":"+formatValue(it.Value()))
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, " ") + "}"
}

// quote quotes s, cut to maxShownBytes with its full length shown.
func quote(s string) string {
	if len(s) <= maxShownBytes {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxShownBytes]) + fmt.Sprintf("…(%d bytes)", len(s))
}
