package bench

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"testing"
)

// nopDriver is a database/sql driver that takes every value and sends
// nothing: BenchmarkCopyIdiomFloor runs lib/pq's COPY idiom through it to
// measure what database/sql itself costs per Exec.
type nopDriver struct{}

type nopConn struct{}

type nopStmt struct{}

func (nopDriver) Open(string) (driver.Conn, error)       { return nopConn{}, nil }
func (nopConn) Prepare(string) (driver.Stmt, error)      { return nopStmt{}, nil }
func (nopConn) Close() error                             { return nil }
func (nopConn) Begin() (driver.Tx, error)                { return nopConn{}, nil }
func (nopConn) Commit() error                            { return nil }
func (nopConn) Rollback() error                          { return nil }
func (nopStmt) Close() error                             { return nil }
func (nopStmt) NumInput() int                            { return -1 }
func (nopStmt) CheckNamedValue(*driver.NamedValue) error { return nil }
func (nopStmt) Exec([]driver.Value) (driver.Result, error) {
	return driver.RowsAffected(0), nil
}
func (nopStmt) Query([]driver.Value) (driver.Rows, error) { return nil, driver.ErrSkip }
func (nopStmt) ExecContext(context.Context, []driver.NamedValue) (driver.Result, error) {
	return driver.RowsAffected(0), nil
}

// BenchmarkCopyIdiomFloor is the floor of lib/pq's COPY idiom through
// database/sql: the loop of pqCopyIn (the same rows, boxed the same way)
// on a driver that does nothing. Compare its cpu-ns/op, the CPU time per
// row, with the CopyFromValues workload's cpu-ns/op divided by its rows.
// Run it with a fixed count (-benchtime 2000000x) and pinned as the
// workloads are (taskset -c 0).
func BenchmarkCopyIdiomFloor(b *testing.B) {
	db := sql.OpenDB(nopConnector{})
	defer db.Close()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "COPY t (a, b, c, d) FROM STDIN")
	if err != nil {
		b.Fatal(err)
	}
	vals := newRow()
	b.ReportAllocs()
	cpu0 := CPUTime()
	i := 0
	for b.Loop() {
		i++
		fillRow(vals, i)
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(CPUTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

type nopConnector struct{}

func (nopConnector) Connect(context.Context) (driver.Conn, error) { return nopConn{}, nil }
func (nopConnector) Driver() driver.Driver                        { return nopDriver{} }
