package pgpipe

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"regexp"
	"strings"

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
	cols []column
	encs []codec.BinaryEncoder
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
	b := &copyBinary{cols: cols, encs: make([]codec.BinaryEncoder, len(cols))}
	for i, col := range cols {
		if b.encs[i] = codec.BinaryEncoderFor(col.oid); b.encs[i] == nil {
			return s.sql, nil, nil
		}
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
	start := len(w.buf)
	w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(len(args)))
	for i := range args {
		v := args[i].Value
		if codec.IsNull(v) {
			w.buf = binary.BigEndian.AppendUint32(w.buf, 0xffffffff)
			continue
		}
		at := len(w.buf)
		w.buf = append(w.buf, 0, 0, 0, 0)
		out, err := b.encs[i](w.buf, v)
		if err != nil {
			w.buf = w.buf[:start]
			return false, nil
		}
		w.buf = out
		binary.BigEndian.PutUint32(w.buf[at:], uint32(len(w.buf)-at-4))
	}
	return true, nil
}

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
