package pgpipe

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgpipe/pgpipe/internal/codec"
)

// lib/pq's COPY idiom in the binary COPY format.
//
// Inside a transaction block, a plain "COPY table (columns) FROM STDIN"
// (as lib/pq's CopyIn writes it) is sent with (FORMAT binary): the column
// types come from the server once (a Describe, one round trip when the
// COPY starts), and each row's values are encoded in binary, which costs
// the client and the server about half of what parsing text does. A value
// the binary encoder of its column does not take (text the server would
// parse, such as 'now' for a timestamp) ends the binary COPY and goes on
// with the same statement in the text format: both COPYs are in the same
// transaction block, so they commit or roll back together, and the final
// Exec reports the rows of both. Outside a transaction block every COPY is
// committed when it ends, so the idiom stays in the text format there.

// copyBinary is what a binary COPY of the idiom needs.
type copyBinary struct {
	cols  []column
	encs  []codec.BinaryEncoder
	kinds []copyKind
}

// identPattern matches a simple or double-quoted SQL identifier.
const identPattern = `(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`

// plainCopyIn matches "COPY table (columns) FROM STDIN" with no options.
var plainCopyIn = regexp.MustCompile(`(?is)^\s*copy\s+(` + identPattern + `(?:\s*\.\s*` + identPattern + `)?)\s*\(([^()]+)\)\s*from\s+stdin\s*;?\s*$`)

var simpleIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_$]*$`)

// unquoteIdent returns the name an identifier denotes: a quoted one as
// written, an unquoted one folded to lower case, as PostgreSQL does.
func unquoteIdent(s string) (string, bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		inner := s[1 : len(s)-1]
		if strings.Count(inner, `"`)%2 != 0 || strings.Contains(strings.ReplaceAll(inner, `""`, ""), `"`) {
			return "", false
		}
		return strings.ReplaceAll(inner, `""`, `"`), true
	}
	if !simpleIdent.MatchString(s) {
		return "", false
	}
	return strings.ToLower(s), true
}

// splitColumns splits a column list at its commas (a quoted name holding
// a comma is then not an identifier, and the COPY stays in text).
func splitColumns(list string) []string {
	parts := strings.Split(list, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// binaryPlan decides whether the COPY goes in the binary format, and
// returns the statement to send and the plan; the statement and nil for
// the text format. An error is the Describe's (the table or a column does
// not exist), which the COPY itself would report.
func (s *copyStmt) binaryPlan(ctx context.Context) (string, *copyBinary, error) {
	core := s.c.core
	if !core.txn.inBlock() || core.txn.failed() {
		return s.sql, nil, nil
	}
	m := plainCopyIn.FindStringSubmatch(s.sql)
	if m == nil {
		return s.sql, nil, nil
	}
	var columns []string
	for _, part := range splitColumns(m[2]) {
		name, ok := unquoteIdent(part)
		if !ok {
			return s.sql, nil, nil
		}
		columns = append(columns, name)
	}
	cols, err := s.c.describeTable(ctx, m[1], columns)
	if err != nil {
		return "", nil, err
	}
	b := &copyBinary{cols: cols, encs: make([]codec.BinaryEncoder, len(cols)), kinds: make([]copyKind, len(cols))}
	for i, col := range cols {
		if b.encs[i] = codec.BinaryEncoderFor(col.oid); b.encs[i] == nil {
			return s.sql, nil, nil
		}
		b.kinds[i] = copyKindOf(col.oid)
	}
	return strings.TrimRight(strings.TrimSpace(s.sql), ";") + " (FORMAT binary)", b, nil
}

// binaryRow appends one row in the binary format; ok is false, with
// nothing appended, when a value is not one its column's encoder takes.
func (s *copyStmt) binaryRow(args []driver.NamedValue) (ok bool, err error) {
	w, b := s.w, s.bin
	if len(args) != len(b.cols) {
		return false, errors.New("pgpipe: the row has " + itoa(len(args)) + " values for " + itoa(len(b.cols)) + " columns")
	}
	if len(w.buf) == 0 {
		w.space()
	}
	buf := binary.BigEndian.AppendUint16(w.buf, uint16(len(args)))
	for i := range args {
		v := args[i].Value
		var fast bool
		if buf, fast = appendUsual(buf, b.kinds[i], b.cols[i].oid, v); fast {
			continue
		}
		if codec.IsNull(v) {
			buf = binary.BigEndian.AppendUint32(buf, 0xffffffff)
			continue
		}
		if bad, ok := v.(codec.BadArg); ok {
			// A value the connection could not convert: the text format
			// cannot send it either.
			return false, &ArgError{Position: i + 1, Err: bad.Err}
		}
		at := len(buf)
		out, err := b.encs[i](append(buf, 0, 0, 0, 0), v)
		if err != nil {
			return false, nil // w.buf still ends before the row
		}
		binary.BigEndian.PutUint32(out[at:], uint32(len(out)-at-4))
		buf = out
	}
	w.buf = buf
	return true, nil
}

// copyKind names a column type whose usual Go value a binary row writes
// directly (appendUsual), without the type's general encoder: the idiom
// calls it for every value of every row.
type copyKind uint8

const (
	copyOther  copyKind = iota
	copyInt8            // int8 from int64
	copyFloat8          // float8 from float64
	copyText            // text, varchar from string
	copyTime            // timestamptz, timestamp, date from time.Time
)

// copyKindOf returns the copyKind of type oid.
func copyKindOf(oid uint32) copyKind {
	switch oid {
	case codec.OIDInt8:
		return copyInt8
	case codec.OIDFloat8:
		return copyFloat8
	case codec.OIDText, codec.OIDVarchar:
		return copyText
	case codec.OIDTimestamptz, codec.OIDTimestamp, codec.OIDDate:
		return copyTime
	}
	return copyOther
}

// appendUsual appends v with its length, as the column's binaryEncoder
// would, when v has the usual Go type of kind k (column type oid); fast is
// false, with buf unchanged, for any other value, and for one the encoder
// would refuse.
func appendUsual(buf []byte, k copyKind, oid uint32, v any) (out []byte, fast bool) {
	switch k {
	case copyInt8:
		if x, ok := v.(int64); ok {
			return binary.BigEndian.AppendUint64(append(buf, 0, 0, 0, 8), uint64(x)), true
		}
	case copyFloat8:
		if x, ok := v.(float64); ok {
			return binary.BigEndian.AppendUint64(append(buf, 0, 0, 0, 8), math.Float64bits(x)), true
		}
	case copyText:
		if x, ok := v.(string); ok && plainText(x) {
			return append(binary.BigEndian.AppendUint32(buf, uint32(len(x))), x...), true
		}
	case copyTime:
		if x, ok := v.(time.Time); ok {
			at := len(buf)
			out, ok := codec.AppendBinaryTime(append(buf, 0, 0, 0, 0), x, oid)
			if !ok {
				return buf, false
			}
			binary.BigEndian.PutUint32(out[at:], uint32(len(out)-at-4))
			return out, true
		}
	}
	return buf, false
}

// plainText reports whether s is text the binary text encoder takes:
// valid UTF-8 without a NUL byte. ASCII is checked 8 bytes at a time (the
// idiom checks every text value of every row), the last 8 bytes of a
// string of 8 or more overlapping the words before; text that is not all
// ASCII gets the general checks.
func plainText(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if !asciiWord(s, i) {
			return validText(s)
		}
	}
	if i == len(s) {
		return true
	}
	if len(s) >= 8 {
		return asciiWord(s, len(s)-8) || validText(s)
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == 0 || c >= utf8.RuneSelf {
			return validText(s)
		}
	}
	return true
}

// asciiWord reports whether the 8 bytes of s at i are ASCII and not NUL.
func asciiWord(s string, i int) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	x := binary.LittleEndian.Uint64([]byte(s[i : i+8])) // no copy: the bytes are only read
	return x&hi == 0 && (x-lo)&^x&hi == 0
}

// validText is plainText's check for text that is not all ASCII.
func validText(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }

// binaryTrailer ends binary COPY data: a field count of -1.
var binaryTrailer = []byte{0xff, 0xff}

// toText ends the binary COPY and starts the statement again in the text
// format, in the same transaction block.
func (s *copyStmt) toText() error {
	core := s.c.core
	s.w.append(binaryTrailer)
	if err := s.w.flush(); err != nil {
		return err
	}
	core.fe.Send(&pgproto3.CopyDone{})
	if err := core.flush(); err != nil {
		return err
	}
	s.bin = nil
	s.idle = true // no COPY in progress until the text one starts
	if err := core.awaitSync(); err != nil {
		return err
	}
	if s.res.err != nil {
		return core.txn.note(s.res.err)
	}
	s.copied += s.res.rowsAffected
	s.res.reset(s.sql)
	s.res.copyWanted, s.res.discard = true, true
	if err := core.copy.start(&s.res, evCopyIn); err != nil || s.res.state == resDone {
		return firstErr(err, core.txn.note(s.res.err), errors.New("pgpipe: the COPY statement did not start again"))
	}
	s.idle = false
	return nil
}
