package integration_test

// Helpers for types_test.go: a runner that checks one value through every
// result format the driver uses, and the exact comparison it needs.
//
// A query's result format depends on how the connection runs it. With the
// default prepare_threshold (5) its first five executions are unnamed and
// every column comes back in the text format; the sixth prepares it (still
// text, the columns are described then); from the seventh on the driver
// asks for the binary format of int, float, bool, bytea, date, timestamp,
// timestamptz, uuid, json and jsonb columns. A value that differs between
// two runs of the same query is a difference between the text and the
// binary decoder.

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// formatMode is one way a connection runs a query again and again.
type formatMode struct {
	name     string
	dsn      string // DSN setting, or ""
	explicit bool   // run through conn.PrepareContext and the *sql.Stmt
	simple   bool   // run with the simple protocol (cases without arguments)
	runs     int    // executions, enough to reach every format of the mode
	named    int    // how many of them bind a named statement; 0: never prepared
}

var formatModes = []formatMode{
	{name: "auto-prepared", runs: 7, named: 2},
	{name: "prepare_threshold=0", dsn: "prepare_threshold=0", runs: 3, named: 3},
	{name: "prepare_threshold=none", dsn: "prepare_threshold=none", runs: 3},
	{name: "explicit Prepare", explicit: true, runs: 3, named: 3},
	{name: "simple protocol", simple: true, runs: 2},
}

// simpleSuffix makes a query without arguments two statements, which the
// driver runs with the simple protocol: the case's result set comes first.
const simpleSuffix = "; SELECT 'second result set'"

// label says how run (1-based) executes under m, for failure messages.
func (m formatMode) label(run int) string {
	switch {
	case m.explicit:
		return fmt.Sprintf("%s, run %d (named statement, binary results)", m.name, run)
	case m.simple:
		return fmt.Sprintf("%s, run %d (simple Query, text results)", m.name, run)
	case m.named == 0:
		return fmt.Sprintf("%s, run %d (unnamed, text results)", m.name, run)
	}
	switch first := m.runs - m.named + 1; {
	case run < first:
		return fmt.Sprintf("%s, run %d (unnamed, text results)", m.name, run)
	case run == first:
		return fmt.Sprintf("%s, run %d (preparing, text results)", m.name, run)
	}
	return fmt.Sprintf("%s, run %d (named statement, binary results)", m.name, run)
}

// valueCase is one query returning one column, and what database/sql must
// make of its value.
type valueCase struct {
	name  string // unique within its table; becomes a comment in the query
	query string
	args  []any
	// want is what Scan into *any stores; its dynamic type is checked
	// too. rowsOf lists the values of several rows.
	want any
	// typed holds pointers to the values Scan must store into a
	// destination of the pointed-to type (*int32, *sql.NullString, ...).
	typed []any
	// dbType is the expected ColumnTypes DatabaseTypeName, when set.
	dbType string
	// infinite marks a date or time infinity, a string although the
	// column's ScanType is time.Time (documented).
	infinite bool
}

// rowsOf is a valueCase.want for a query returning several rows.
type rowsOf []any

// checkValues runs every case under every formatMode, each mode on one
// connection of its own that first runs setup. It fails on any value,
// scan type or database type name that is not exactly the case's, and
// when a mode did not prepare (or did prepare) the query as it should.
func checkValues(t *testing.T, setup []string, cases []valueCase) {
	t.Helper()
	checkValuesOn(t, server.dsn, setup, cases)
}

// checkValuesOn is checkValues on connections opened with the DSN base.
func checkValuesOn(t *testing.T, base string, setup []string, cases []valueCase) {
	t.Helper()
	for _, m := range formatModes {
		withModeConn(t, base, m, setup, func(conn *sql.Conn) {
			t.Helper()
			for _, c := range cases {
				checkCase(t, conn, m, c)
			}
		})
	}
}

// withModeConn opens one connection for m with the DSN base, runs setup
// on it and calls f. The connection is closed when f returns.
func withModeConn(t *testing.T, base string, m formatMode, setup []string, f func(*sql.Conn)) {
	t.Helper()
	cfg, err := pgpipe.ParseDSN(base)
	if err != nil {
		t.Fatalf("%s: %v", m.name, err)
	}
	if m.dsn != "" {
		cfg = withSettings(t, cfg, m.dsn)
	}
	cn, err := pgpipe.NewConnectorConfig(cfg)
	if err != nil {
		t.Fatalf("%s: %v", m.name, err)
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("%s: db.Conn: %v", m.name, err)
	}
	defer conn.Close()
	for _, s := range setup {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: setup %q: %v", m.name, s, err)
		}
	}
	f(conn)
}

// checkCase runs one case m.runs times on conn and checks every result.
func checkCase(t *testing.T, conn *sql.Conn, m formatMode, c valueCase) {
	t.Helper()
	ctx := context.Background()
	q := "/* " + c.name + " */ " + c.query
	if m.simple {
		if len(c.args) > 0 {
			return
		}
		q += simpleSuffix
	}
	var st *sql.Stmt
	if m.explicit {
		var err error
		if st, err = conn.PrepareContext(ctx, q); err != nil {
			t.Errorf("%s, %s: Prepare: %v", c.name, m.name, err)
			return
		}
		defer st.Close()
	}
	for run := 1; run <= m.runs; run++ {
		var rows *sql.Rows
		var err error
		if st != nil {
			rows, err = st.QueryContext(ctx, c.args...)
		} else {
			rows, err = conn.QueryContext(ctx, q, c.args...)
		}
		if err != nil {
			t.Errorf("%s, %s: query: %v", c.name, m.label(run), err)
			return
		}
		ok := checkRows(t, rows, c, c.name+", "+m.label(run))
		if ok && m.simple {
			ok = checkSecondResultSet(t, rows, c.name+", "+m.label(run))
		}
		if err := rows.Close(); err != nil {
			t.Errorf("%s, %s: rows.Close: %v", c.name, m.label(run), err)
		}
		if !ok {
			return
		}
	}
	checkPrepared(t, conn, m, q, c.name)
}

// checkRows reads the rows of one execution of c and reports whether
// they were all as expected.
func checkRows(t *testing.T, rows *sql.Rows, c valueCase, where string) bool {
	t.Helper()
	wants, many := c.want.(rowsOf)
	if !many {
		wants = rowsOf{c.want}
	}
	cts, err := rows.ColumnTypes()
	if err != nil || len(cts) != 1 {
		t.Errorf("%s: ColumnTypes: %d columns, %v; want 1", where, len(cts), err)
		return false
	}
	if c.dbType != "" && cts[0].DatabaseTypeName() != c.dbType {
		t.Errorf("%s: DatabaseTypeName %q, want %q", where, cts[0].DatabaseTypeName(), c.dbType)
	}
	for i, want := range wants {
		if !rows.Next() {
			t.Errorf("%s: %d rows, want %d (rows.Err: %v)", where, i, len(wants), rows.Err())
			return false
		}
		var got any
		if err := rows.Scan(&got); err != nil {
			t.Errorf("%s: Scan into any: %v", where, err)
			return false
		}
		if !sameValue(got, want) {
			t.Errorf("%s: Scan into any gave %s, want %s", where, show(got), show(want))
			return false
		}
		if got != nil && !c.infinite {
			checkScanType(t, cts[0], got, where)
		}
		if !checkTyped(t, rows, c.typed, where) {
			return false
		}
	}
	if rows.Next() {
		t.Errorf("%s: more than %d rows", where, len(wants))
		return false
	}
	if err := rows.Err(); err != nil {
		t.Errorf("%s: rows.Err: %v", where, err)
		return false
	}
	return true
}

// checkSecondResultSet checks that the statement after the case's query
// in a simple-protocol run gave its own result set.
func checkSecondResultSet(t *testing.T, rows *sql.Rows, where string) bool {
	t.Helper()
	var s string
	if !rows.NextResultSet() || !rows.Next() {
		t.Errorf("%s: no second result set (rows.Err: %v)", where, rows.Err())
		return false
	}
	if err := rows.Scan(&s); err != nil || s != "second result set" {
		t.Errorf("%s: second result set gave %q, %v", where, s, err)
		return false
	}
	return true
}

// checkTyped scans the current row into a fresh destination of each
// pointer's type and compares with the value it points to.
func checkTyped(t *testing.T, rows *sql.Rows, typed []any, where string) bool {
	t.Helper()
	for _, p := range typed {
		want := reflect.ValueOf(p).Elem()
		dest := reflect.New(want.Type())
		if err := rows.Scan(dest.Interface()); err != nil {
			t.Errorf("%s: Scan into %T: %v", where, p, err)
			return false
		}
		if got := dest.Elem().Interface(); !sameValue(got, want.Interface()) {
			t.Errorf("%s: Scan into %T gave %s, want %s", where, p, show(got), show(want.Interface()))
			return false
		}
	}
	return true
}

// checkPrepared asks the server whether q is a prepared statement of the
// connection, and how many executions bound it: that proves the runs went
// through the path the mode claims (and so through both result formats).
func checkPrepared(t *testing.T, conn *sql.Conn, m formatMode, q, name string) {
	t.Helper()
	ctx := pgpipe.WithPrepare(context.Background(), pgpipe.PrepareNever)
	var n int64
	err := conn.QueryRowContext(ctx,
		"SELECT generic_plans + custom_plans FROM pg_prepared_statements WHERE statement = $1", q).Scan(&n)
	switch {
	case m.named == 0 && err == sql.ErrNoRows:
	case m.named == 0:
		t.Errorf("%s, %s: the server has the query as a prepared statement (%d executions, %v); want none", name, m.name, n, err)
	case err != nil:
		t.Errorf("%s, %s: the query is not a prepared statement on the server: %v", name, m.name, err)
	case n != int64(m.named):
		t.Errorf("%s, %s: the prepared statement ran %d times; want %d of %d runs", name, m.name, n, m.named, m.runs)
	}
}

// argPaths are the ways a statement with arguments runs inside a
// transaction: Exec, Query and the Exec of a prepared statement.
var argPaths = []struct {
	name string
	run  func(tx *sql.Tx, query string, args ...any) error
}{
	{"Exec", func(tx *sql.Tx, query string, args ...any) error {
		_, err := tx.Exec(query, args...)
		return err
	}},
	{"Query", func(tx *sql.Tx, query string, args ...any) error {
		rows, err := tx.Query(query+" RETURNING 1", args...)
		if err == nil {
			err = rows.Close()
		}
		return err
	}},
	{"prepared Stmt", func(tx *sql.Tx, query string, args ...any) error {
		st, err := tx.Prepare(query)
		if err != nil {
			return fmt.Errorf("unexpected Prepare failure: %w", err)
		}
		defer st.Close()
		_, err = st.Exec(args...)
		return err
	}},
}

// aroundGoodInserts runs f in a transaction between two good executions
// of insert (with the arguments 1, "before" and 3, "after") and commits,
// and returns f's error. The transaction shows whether f sent anything
// that failed on the server: that would abort it, and the second insert
// or the commit would fail.
func aroundGoodInserts(t *testing.T, db *sql.DB, insert, where string, f func(*sql.Tx) error) error {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatalf("%s: Begin: %v", where, err)
	}
	if _, err := tx.Exec(insert, 1, "before"); err != nil {
		t.Fatalf("%s: insert before: %v", where, err)
	}
	ferr := f(tx)
	if _, err := tx.Exec(insert, 3, "after"); err != nil {
		t.Errorf("%s: the transaction did not survive: %v", where, err)
	}
	if err := tx.Commit(); err != nil {
		t.Errorf("%s: commit: %v", where, err)
	}
	return ferr
}

// dateStyleCases are dates and times whose text form DateStyle changes.
func dateStyleCases() []valueCase {
	at := time.Date(2024, 7, 1, 12, 0, 0, 5e8, time.UTC)
	return []valueCase{
		{name: "date", query: "SELECT '2024-07-01'::date", want: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)},
		{name: "timestamp", query: "SELECT '2024-07-01 12:00:00.5'::timestamp", want: at},
		{name: "timestamptz", query: "SELECT '2024-07-01 12:00:00.5+00'::timestamptz", want: at},
		{name: "date BC", query: "SELECT '0044-03-15 BC'::date", want: time.Date(-43, 3, 15, 0, 0, 0, 0, time.UTC)},
		{name: "argument", query: "SELECT $1::timestamptz", args: []any{at}, want: at},
		{name: "date argument", query: "SELECT $1::date", args: []any{at}, want: time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)},
	}
}

// rowQueryer runs a query expected to return one row: a *sql.Conn, a
// *sql.Tx, a *sql.DB or a stmtQueryer.
type rowQueryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stmtQueryer runs its prepared statement whatever query it is given.
type stmtQueryer struct{ st *sql.Stmt }

func (s stmtQueryer) QueryRowContext(ctx context.Context, _ string, args ...any) *sql.Row {
	return s.st.QueryRowContext(ctx, args...)
}

// expectEachRun runs query m.runs times through db and fails on any value
// Scan into any gives that is not want.
func expectEachRun(t *testing.T, m formatMode, where string, db rowQueryer, query string, args []any, want any) {
	t.Helper()
	for run := 1; run <= m.runs; run++ {
		var got any
		if err := db.QueryRowContext(context.Background(), query, args...).Scan(&got); err != nil || !sameValue(got, want) {
			t.Errorf("%s, %s: got %s, %v; want %s", where, m.label(run), show(got), err, show(want))
		}
	}
}

// sameValue reports whether got is want exactly: the same dynamic type and
// value, floats bit for bit (NaN equal to NaN, -0 not equal to 0), times
// as the same instant in a location of the same name and zone, byte
// slices with nil distinct from empty.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil
	case float64:
		g, ok := got.(float64)
		return ok && sameFloat(g, w)
	case float32:
		g, ok := got.(float32)
		return ok && sameFloat(float64(g), float64(w))
	case time.Time:
		g, ok := got.(time.Time)
		return ok && sameTime(g, w)
	case []byte:
		g, ok := got.([]byte)
		return ok && bytes.Equal(g, w) && (g == nil) == (w == nil)
	case sql.NullTime:
		g, ok := got.(sql.NullTime)
		return ok && g.Valid == w.Valid && sameTime(g.Time, w.Time)
	case sql.NullFloat64:
		g, ok := got.(sql.NullFloat64)
		return ok && g.Valid == w.Valid && sameFloat(g.Float64, w.Float64)
	}
	return reflect.TypeOf(got) == reflect.TypeOf(want) && reflect.DeepEqual(got, want)
}

func sameFloat(g, w float64) bool {
	return math.Float64bits(g) == math.Float64bits(w) || math.IsNaN(g) && math.IsNaN(w)
}

func sameTime(g, w time.Time) bool {
	gName, gOff := g.Zone()
	wName, wOff := w.Zone()
	return g.Equal(w) && g.Location().String() == w.Location().String() && gName == wName && gOff == wOff
}

// show prints a value with its type, precisely enough to see why two
// values differ.
func show(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case float64:
		return fmt.Sprintf("float64(%s, bits %#016x)", strconv.FormatFloat(v, 'g', -1, 64), math.Float64bits(v))
	case float32:
		return fmt.Sprintf("float32(%s)", strconv.FormatFloat(float64(v), 'g', -1, 32))
	case time.Time:
		name, off := v.Zone()
		return fmt.Sprintf("time.Time(%s, location %q, zone %q %+ds)",
			v.Format("2006-01-02 15:04:05.999999999 -07:00:00"), v.Location(), name, off)
	case []byte:
		if v == nil {
			return "[]byte(nil)"
		}
		return fmt.Sprintf("[]byte(%q)", v)
	case string:
		return fmt.Sprintf("string(%q)", v)
	case sql.NullTime:
		return fmt.Sprintf("sql.NullTime{%s, Valid: %t}", show(v.Time), v.Valid)
	}
	return fmt.Sprintf("%T(%#v)", v, v)
}

func ptr[T any](v T) *T { return &v }

// mustLoad loads a time zone, failing the test when Go cannot.
func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("loading time zone: %v", err)
	}
	return loc
}

// allBytes returns the 256 byte values in order.
func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// decimal is a minimal decimal type with the Decompose method that
// database/sql/driver documents for decimal arguments:
// ±coef·10^exp, form 0 finite, 1 infinite, 2 NaN.
type decimal struct {
	form byte
	neg  bool
	coef uint64
	exp  int32
}

func (d decimal) Decompose(buf []byte) (form byte, negative bool, coefficient []byte, exponent int32) {
	coefficient = binary.BigEndian.AppendUint64(buf[:0], d.coef)
	return d.form, d.neg, coefficient, d.exp
}

// upper is a driver.Valuer with a value receiver: it sends its text in
// upper case.
type upper string

func (u upper) Value() (driver.Value, error) { return strings.ToUpper(string(u)), nil }

// status is a named string type, returned by statusValuer.Value.
type status string

type statusValuer struct{ s status }

func (v statusValuer) Value() (driver.Value, error) { return v.s, nil }

// idList is a Valuer whose value is a Go slice, sent as an array.
type idList struct{ ids []int64 }

func (l idList) Value() (driver.Value, error) { return l.ids, nil }

// failingValuer's Value method fails with errValuer.
type failingValuer struct{}

var errValuer = fmt.Errorf("failingValuer: no value today")

func (failingValuer) Value() (driver.Value, error) { return nil, errValuer }

// Named types without Value methods: database/sql's default conversion
// (or the driver's) applies.
type (
	celsius float64
	userID  int32
	label   string
	blob    []byte
	idSlice []int64
)

func toAny[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// sessionLocation is the location timestamptz values come back in under
// the session TimeZone zone: the driver returns time.UTC for the names of
// UTC (Etc/UTC is initdb's usual default), a loaded zone otherwise.
func sessionLocation(t *testing.T, zone string) *time.Location {
	switch strings.ToUpper(zone) {
	case "UTC", "ETC/UTC", "GMT", "ETC/GMT", "UCT", "ETC/UCT", "ZULU", "UNIVERSAL":
		return time.UTC
	}
	return mustLoad(t, zone)
}

// colWant is what ColumnTypes must say of one column: length -1 and
// prec -1 stand for ok=false.
type colWant struct {
	dbType    string
	length    int64
	prec, scl int64
}

// narrowScanTypes are the ScanTypes narrower than the value Scan into any
// gives (int64, float64), as lib/pq and pgx report them.
var narrowScanTypes = map[string]reflect.Type{
	"INT2": reflect.TypeFor[int16](), "INT4": reflect.TypeFor[int32](), "FLOAT4": reflect.TypeFor[float32](),
}

// checkScanType checks that ct's ScanType is the type of got (a value
// Scan into any gave), or the column's narrower type that holds got
// exactly, converted the way database/sql's Scan converts it.
func checkScanType(t *testing.T, ct *sql.ColumnType, got any, where string) {
	t.Helper()
	want := reflect.TypeOf(got)
	if narrow, ok := narrowScanTypes[ct.DatabaseTypeName()]; ok {
		want = narrow
	}
	if ct.ScanType() != want {
		t.Errorf("%s: ScanType %v, want %v (Scan into any gave %T)", where, ct.ScanType(), want, got)
		return
	}
	if want == reflect.TypeOf(got) {
		return
	}
	back := reflect.ValueOf(got).Convert(want).Convert(reflect.TypeOf(got)).Interface()
	if !sameValue(back, got) {
		t.Errorf("%s: %v does not fit ScanType %v", where, got, want)
	}
}

// checkColumnTypes runs q once and checks what ColumnTypes says of each
// column, and that ScanType is the type Scan into any gives.
func checkColumnTypes(t *testing.T, conn *sql.Conn, q string, wants map[string]colWant, where string) {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil || len(cts) != len(wants) {
		t.Fatalf("%s: %d column types, %v; want %d", where, len(cts), err, len(wants))
	}
	if !rows.Next() {
		t.Fatalf("%s: no row: %v", where, rows.Err())
	}
	vals := make([]any, len(cts))
	dests := make([]any, len(cts))
	for i := range vals {
		dests[i] = &vals[i]
	}
	if err := rows.Scan(dests...); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	for i, ct := range cts {
		w, ok := wants[ct.Name()]
		if !ok {
			t.Errorf("%s: unexpected column %q", where, ct.Name())
			continue
		}
		if got := ct.DatabaseTypeName(); got != w.dbType {
			t.Errorf("%s: %s: DatabaseTypeName %q, want %q", where, ct.Name(), got, w.dbType)
		}
		if vals[i] == nil {
			if ct.ScanType() != reflect.TypeFor[any]() {
				t.Errorf("%s: %s: NULL value, ScanType %v; want interface {} (void)", where, ct.Name(), ct.ScanType())
			}
		} else {
			checkScanType(t, ct, vals[i], where+": "+ct.Name())
		}
		n, lok := ct.Length()
		if lok != (w.length != -1) || lok && n != w.length {
			t.Errorf("%s: %s: Length %d, %t; want %d (-1: not ok)", where, ct.Name(), n, lok, w.length)
		}
		p, s, dok := ct.DecimalSize()
		if dok != (w.prec != -1) || dok && (p != w.prec || s != w.scl) {
			t.Errorf("%s: %s: DecimalSize %d, %d, %t; want %d, %d (-1: not ok)", where, ct.Name(), p, s, dok, w.prec, w.scl)
		}
		if _, nok := ct.Nullable(); nok {
			t.Errorf("%s: %s: Nullable reports ok; a RowDescription cannot know", where, ct.Name())
		}
	}
	if rows.Next() {
		t.Errorf("%s: more than one row", where)
	}
}
