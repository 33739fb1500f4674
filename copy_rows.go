package pgpipe

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/pgpipe/pgpipe/internal/codec"
)

// COPY FROM from Go values: the column types come from the server once
// per COPY (a Describe of "SELECT columns FROM table"), then every row is
// encoded in the binary COPY format, or in the text format when the
// driver has no binary encoder for some column's type.

// binaryCopyHeader starts a binary COPY stream: the signature, no flags,
// no header extension.
var binaryCopyHeader = []byte("PGCOPY\n\377\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

// CopyFromRows copies Go values into table; see [CopyFromRows].
func (c *conn) CopyFromRows(ctx context.Context, table string, columns []string, src RowSource) (int64, error) {
	cols, err := c.describeTable(ctx, table, columns)
	if err != nil {
		return 0, err
	}
	encs := make([]codec.BinaryEncoder, len(cols))
	binaryOK := true
	for i, col := range cols {
		encs[i] = codec.BinaryEncoderFor(col.oid)
		binaryOK = binaryOK && encs[i] != nil
	}
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = QuoteIdentifier(col.name)
	}
	query := "COPY " + table + " (" + strings.Join(names, ", ") + ") FROM STDIN"
	if binaryOK {
		query += " (FORMAT binary)"
	}
	return c.copyIn(ctx, query, func(w *copyWriter) error {
		if binaryOK {
			w.append(binaryCopyHeader)
		}
		var row int64
		for src.Next() {
			row++
			vals, err := src.Values()
			if err != nil {
				return err
			}
			if len(vals) != len(cols) {
				return &CopyValueError{Row: row, Column: "", Err: errors.New("the row has " + itoa(len(vals)) + " values for " + itoa(len(cols)) + " columns")}
			}
			if binaryOK {
				err = w.binaryRow(row, cols, encs, vals)
			} else {
				err = w.textRow(row, cols, vals)
			}
			if err != nil {
				return err
			}
			if err := w.maybeFlush(); err != nil {
				return err
			}
		}
		if err := src.Err(); err != nil {
			return err
		}
		if binaryOK {
			w.append([]byte{0xff, 0xff}) // the trailer: a field count of -1
		}
		return nil
	})
}

// binaryRow appends one row in the binary COPY format.
func (w *copyWriter) binaryRow(row int64, cols []column, encs []codec.BinaryEncoder, vals []any) error {
	if len(w.buf) == 0 {
		w.space()
	}
	w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(len(vals)))
	for i, v := range vals {
		v, err := copyValue(v)
		if err != nil {
			return &CopyValueError{Row: row, Column: cols[i].name, Err: err}
		}
		if codec.IsNull(v) {
			w.buf = binary.BigEndian.AppendUint32(w.buf, 0xffffffff)
			continue
		}
		at := len(w.buf)
		w.buf = append(w.buf, 0, 0, 0, 0)
		out, err := encs[i](w.buf, v)
		if err != nil {
			return &CopyValueError{Row: row, Column: cols[i].name, Err: err}
		}
		w.buf = out
		binary.BigEndian.PutUint32(w.buf[at:], uint32(len(w.buf)-at-4))
	}
	return nil
}

// textRow appends one row in the text COPY format.
func (w *copyWriter) textRow(row int64, cols []column, vals []any) error {
	if len(w.buf) == 0 {
		w.space()
	}
	for i, v := range vals {
		if i > 0 {
			w.buf = append(w.buf, '\t')
		}
		v, err := copyValue(v)
		if err == nil {
			w.buf, err = appendCopyText(w.buf, v)
		}
		if err != nil {
			return &CopyValueError{Row: row, Column: cols[i].name, Err: err}
		}
	}
	w.buf = append(w.buf, '\n')
	return nil
}

// copyValue converts a value as the driver converts arguments (Valuers,
// named types), so COPY accepts what Exec accepts.
func copyValue(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	out, err := codec.CheckArg(v)
	if errors.Is(err, driver.ErrSkip) {
		out, err = driver.DefaultParameterConverter.ConvertValue(v)
	}
	return out, err
}

// appendCopyText appends v in the text COPY format: the value's text
// form with backslash, tab, newline and carriage return escaped, \N for
// NULL, and bytea in hex.
func appendCopyText(buf []byte, v any) ([]byte, error) {
	if v == nil {
		return append(buf, `\N`...), nil
	}
	start := len(buf)
	out, format, null, err := codec.AppendArg(buf, v)
	if err != nil {
		return buf, err
	}
	if null {
		return append(buf, `\N`...), nil
	}
	if format == 1 { // []byte: bytea's hex text form
		raw := append([]byte(nil), out[start:]...)
		out = append(out[:start], `\x`...)
		out = hex.AppendEncode(out, raw)
	}
	return escapeCopyText(out, start), nil
}

// escapeCopyText escapes buf[start:] in place for the text COPY format.
func escapeCopyText(buf []byte, start int) []byte {
	n := 0
	for _, b := range buf[start:] {
		if b == '\\' || b == '\t' || b == '\n' || b == '\r' {
			n++
		}
	}
	if n == 0 {
		return buf
	}
	val := append([]byte(nil), buf[start:]...)
	buf = buf[:start]
	for _, b := range val {
		switch b {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		default:
			buf = append(buf, b)
		}
	}
	return buf
}

// describeTable asks the server for the types of table's columns (all of
// them when columns is empty): one round trip.
func (c *conn) describeTable(ctx context.Context, table string, columns []string) ([]column, error) {
	list := "*"
	if len(columns) > 0 {
		quoted := make([]string, len(columns))
		for i, col := range columns {
			quoted[i] = QuoteIdentifier(col)
		}
		list = strings.Join(quoted, ", ")
	}
	query := "SELECT " + list + " FROM " + table
	if err := c.begin(ctx, query); err != nil {
		return nil, err
	}
	defer c.endOp()
	_, cols, err := c.core.describe(query)
	return cols, err
}

// QuoteIdentifier quotes a name for use as an SQL identifier: in double
// quotes, with double quotes doubled.
func QuoteIdentifier(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
