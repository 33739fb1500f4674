package pgpipe

import (
	"database/sql/driver"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/pgpipe/pgpipe/internal/codec"
)

// rows streams one query's results from the wire: Next decodes one DataRow
// at a time, so memory does not grow with the number of rows.
//
// A []byte that Next returns (bytea, json, jsonb) points into the read
// buffer and is valid only until the next call of Next or Close.
// database/sql copies it when scanning into anything but *sql.RawBytes;
// a RawBytes is valid until the next Next, as database/sql documents.
//
// A query without arguments that holds several statements runs with the
// simple protocol; each statement that returns rows is one result set,
// reached with NextResultSet. Statements that return no rows are run and
// skipped.
type rows struct {
	c *conn
	// env is the session the values are decoded for (its TimeZone):
	// c.core's, live, or, for rows a shared connection read (mux), a
	// copy of that connection's at their end (shared).
	env    *decodeEnv
	shared decodeEnv
	res    result
	box    codec.Boxer
	span   *traceSpan // nil without a tracer
	simple bool       // a simple-protocol query: several result sets possible
	// finished is set once ReadyForQuery was read: the connection is free.
	finished bool
	closed   bool
	// ahead is set when HasNextResultSet read the next result set's
	// columns: res describes that set, which Next must not enter before
	// NextResultSet moves to it.
	ahead bool
	// errReported is set once the query's error reached the caller.
	errReported bool
	// names is the slab Columns hands out column names from; like box,
	// it outlives a query.
	names []string
}

// column is one result column as the server describes it, with the
// decoder for the format the values come in.
type column struct {
	name     string
	oid      uint32
	typmod   int32
	size     int16
	format   int16
	tableOID uint32
	attnum   uint16
	dec      codec.Decoder
	fast     codec.FastKind // a decoding that boxes without allocating (codec.Boxer)
}

// noColumns is the column list of a statement that returns rows with no
// columns (SELECT;), as opposed to nil: no rows at all.
var noColumns = []column{}

// describeColumns turns a RowDescription into columns, appending to buf.
// The message is only valid until the next receive: names are copied
// (interned, so a repeated query allocates none).
func (c *core) describeColumns(buf []column, fields []pgproto3.FieldDescription) []column {
	if len(fields) == 0 {
		return noColumns
	}
	for i := range fields {
		f := &fields[i]
		buf = append(buf, column{
			name: c.names.intern(f.Name), oid: f.DataTypeOID, typmod: f.TypeModifier,
			size: f.DataTypeSize, format: f.Format,
			tableOID: f.TableOID, attnum: f.TableAttributeNumber,
			dec:  codec.DecoderFor(f.DataTypeOID, f.Format),
			fast: codec.FastKindFor(f.DataTypeOID, f.Format),
		})
	}
	return buf
}

// nameCache interns column names, so a repeated query allocates none; it
// starts afresh past 4096 names.
type nameCache struct{ m map[string]string }

// intern returns b as a string, reusing an earlier copy.
func (n *nameCache) intern(b []byte) string {
	if s, ok := n.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if n.m == nil || len(n.m) >= 4096 {
		n.m = make(map[string]string)
	}
	n.m[s] = s
	return s
}

// Columns returns the column names. The slice is the caller's.
//
// database/sql calls it once per query, to size its row. The slices of
// several queries come out of one slab of nameSlab names: each part is
// handed out once, its capacity ends at its length, and it is never
// written again, so a caller may keep or change it; a kept slice keeps
// its slab (at most 1 KiB) alive.
func (r *rows) Columns() []string {
	n := len(r.res.cols)
	var names []string
	switch {
	case n == 0:
		return []string{}
	case n > nameSlab/4:
		names = make([]string, n)
	default:
		if len(r.names) < n {
			r.names = make([]string, nameSlab)
		}
		names, r.names = r.names[:n:n], r.names[n:]
	}
	for i := range r.res.cols {
		names[i] = r.res.cols[i].name
	}
	return names
}

// nameSlab is the number of column names Columns allocates at a time.
const nameSlab = 64

// Next decodes the next row into dest. It returns io.EOF after the last
// row of the current result set, or the error that ended it.
func (r *rows) Next(dest []driver.Value) error {
	if r.res.rowReady {
		r.res.rowReady = false
		r.res.delivered = true
		return r.decode(r.c.core.rowValues, dest)
	}
	if vals, ok := r.res.buf.next(); ok {
		return r.decode(vals, dest)
	}
	core := r.c.core
	for {
		if r.finished || r.simple && (r.res.setDone || r.ahead) {
			return r.endErr()
		}
		if r.res.state == resDone && r.res.buf.empty() && r.c.core.broken != nil {
			return r.res.err
		}
		ev, err := core.advance(&r.res)
		if err != nil {
			r.finish()
			return err
		}
		switch ev {
		case evRow:
			r.res.delivered = true
			return r.decode(core.rowValues, dest)
		case evSync:
			r.finish()
		}
	}
}

// endErr is what Next returns at the end of a result set.
func (r *rows) endErr() error {
	if r.res.err != nil && !r.ahead {
		r.errReported = true
		return r.res.err
	}
	return io.EOF
}

// finish records that the connection reached ReadyForQuery.
func (r *rows) finish() {
	if !r.finished {
		r.finished = true
		r.c.endOp()
		r.span.end(&r.res, r.res.rowsAffected, r.res.err)
		r.span = nil
	}
}

// decode converts one DataRow's values.
func (r *rows) decode(values [][]byte, dest []driver.Value) error {
	return r.env.decodeRow(&r.box, r.res.cols, values, dest)
}

// decodeRow converts one DataRow's values into dest, each in the format
// its column's RowDescription gave: the one row decoder of every way rows
// are read (database/sql rows, pipeline rows). The common types box
// through box without an allocation per value (codec.Boxer), in either format.
func (e *decodeEnv) decodeRow(box *codec.Boxer, cols []column, values [][]byte, dest []driver.Value) error {
	loc := e.loc
	for i := range cols {
		v := values[i]
		if v == nil {
			dest[i] = nil
			continue
		}
		if k := cols[i].fast; k != codec.FastNone {
			if val, ok := box.DecodeFast(k, v, loc); ok {
				dest[i] = val
				continue
			}
		}
		val, err := cols[i].dec(v, loc)
		if err != nil {
			return e.decodeError(&cols[i], err)
		}
		dest[i] = val
	}
	return nil
}

// decodeError explains a value the driver could not decode.
func (e *decodeEnv) decodeError(col *column, err error) error {
	msg := strings.TrimPrefix(err.Error(), "pgpipe: ")
	if ds := e.dateStyle; col.format == 0 && isDateTime(col.oid) && ds != "" && !strings.HasPrefix(ds, "ISO") {
		return fmt.Errorf("pgpipe: decoding column %q (%s): the session's DateStyle is %q, and pgpipe reads dates and times in the ISO style only (SET DateStyle = 'ISO, DMY' keeps a DMY input order): %s",
			col.name, typeDesc(col.oid), ds, msg)
	}
	return &decodeErr{col: col.name, typ: typeDesc(col.oid), msg: msg, err: err}
}

// decodeErr is a value the driver could not decode.
type decodeErr struct {
	col, typ, msg string
	err           error
}

func (e *decodeErr) Error() string {
	return fmt.Sprintf("pgpipe: decoding column %q (%s): %s", e.col, e.typ, e.msg)
}
func (e *decodeErr) Unwrap() error { return e.err }

// isDateTime reports whether oid is a type whose text form DateStyle sets.
func isDateTime(oid uint32) bool {
	return oid == codec.OIDDate || oid == codec.OIDTimestamp || oid == codec.OIDTimestamptz
}

// typeDesc names a type for messages.
func typeDesc(oid uint32) string {
	if n := codec.TypeName(oid); n != "" {
		return n
	}
	return "type OID " + itoa(int(oid))
}

// HasNextResultSet reports whether another result set follows. It skips
// what is left of the current set and reads ahead over statements that
// return no rows, up to the next set's columns. An error the server
// reported after the current set counts as one more: NextResultSet
// returns it.
func (r *rows) HasNextResultSet() bool {
	if !r.simple || r.closed {
		return false
	}
	for !r.ahead && r.res.err == nil && !r.finished {
		r.res.discard = true
		ev, err := r.c.core.advance(nil)
		r.res.discard = false
		switch {
		case err != nil:
			r.res.err = err
			r.finish()
		case ev == evDescribed:
			r.ahead = true
		case ev == evSync:
			r.finish()
		}
	}
	return r.ahead || r.res.err != nil && !r.errReported
}

// NextResultSet moves to the next result set; io.EOF when there is none,
// or the error that ended the query.
func (r *rows) NextResultSet() error {
	if !r.HasNextResultSet() {
		return io.EOF
	}
	if r.ahead {
		r.ahead = false
		return nil
	}
	r.errReported = true
	return r.res.err
}

// Close discards the rest of the results and leaves the connection ready
// for the next command. It returns the query's error when the caller has
// not seen it yet: one found while discarding, or one the server reported
// at the implicit commit after the last row (a deferred constraint), which
// QueryRow's Scan learns only from Close.
func (r *rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	var err error
	if !r.finished {
		r.res.discard = true
		err = r.c.core.awaitSync()
		r.finish()
	}
	r.c.rowsClosed(r)
	if err != nil && r.c.core.broken != nil {
		return err
	}
	if r.res.err != nil && !r.errReported {
		r.errReported = true
		return r.res.err
	}
	return nil
}

// ColumnTypeScanType returns the Go type column i scans into without
// loss, as lib/pq and pgx report it: int16, int32 and float32 for int2,
// int4 and float4 (see codec.ScanType).
func (r *rows) ColumnTypeScanType(i int) reflect.Type { return codec.ScanType(r.res.cols[i].oid) }

// ColumnTypeDatabaseTypeName returns the upper-case type name ("INT4",
// "TEXT", "_INT4" for int4[]), or "" for a type the driver does not know.
func (r *rows) ColumnTypeDatabaseTypeName(i int) string { return codec.TypeName(r.res.cols[i].oid) }

// ColumnTypeLength returns the length of variable-length text and binary
// columns: the declared maximum for varchar(n) and char(n), math.MaxInt64
// when unbounded.
func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	return codec.ColumnLength(r.res.cols[i].oid, r.res.cols[i].typmod)
}

// ColumnTypePrecisionScale returns numeric(p,s)'s precision and scale;
// for an unconstrained numeric, 65535 and 65531, as lib/pq and pgx report
// it (see codec.PrecisionScale).
func (r *rows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return codec.PrecisionScale(r.res.cols[i].oid, r.res.cols[i].typmod)
}

// ColumnTypeNullable reports ok=false: a RowDescription does not say
// whether a column may be NULL.
func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) { return false, false }

// rowBuffer holds DataRows read ahead of their consumer (a pipeline whose
// later result was read first, a multiplexed query's rows). Values are
// copied out of the read buffer. Rows without columns (SELECT FROM t) are
// counted: they have no values to hold.
type rowBuffer struct {
	data  []byte
	spans []span // per value; end -1 is NULL
	ncols int
	nrows int // rows added
	read  int // rows handed out
	vals  [][]byte
}

func (b *rowBuffer) add(values [][]byte) {
	b.ncols = len(values)
	b.nrows++
	for _, v := range values {
		if v == nil {
			b.spans = append(b.spans, span{len(b.data), -1})
			continue
		}
		start := len(b.data)
		b.data = append(b.data, v...)
		b.spans = append(b.spans, span{start, len(b.data)})
	}
}

func (b *rowBuffer) empty() bool { return b.read >= b.nrows }

// next returns the next buffered row, valid until the next call.
func (b *rowBuffer) next() ([][]byte, bool) {
	if b.empty() {
		return nil, false
	}
	b.vals = b.vals[:0]
	at := b.read * b.ncols
	for _, s := range b.spans[at : at+b.ncols] {
		b.vals = append(b.vals, spanValue(b.data, s))
	}
	b.read++
	return b.vals, true
}

func (b *rowBuffer) reset() {
	if cap(b.data) > 1<<20 {
		b.data = nil
	}
	b.data, b.spans, b.read, b.ncols, b.nrows = b.data[:0], b.spans[:0], 0, 0, 0
}
