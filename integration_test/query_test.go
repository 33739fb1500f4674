package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pgpipe/pgpipe"
)

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

// countingDB opens a one-connection pool whose socket writes are counted.
func countingDB(t *testing.T, extra ...string) (*sql.DB, *atomic.Int64) {
	t.Helper()
	cfg := withSettings(t, serverConfig(t), append([]string{"sslmode=disable"}, extra...)...)
	writes := new(atomic.Int64)
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, writes}, nil
	}
	db := openConfigDB(t, cfg)
	db.SetMaxOpenConns(1)
	return db, writes
}

func TestQueryWithArgumentsIsOneWrite(t *testing.T) {
	t.Parallel()
	for _, threshold := range []string{"none", "5", "0"} {
		db, writes := countingDB(t, "prepare_threshold="+threshold)
		if err := db.Ping(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 8; i++ {
			before := writes.Load()
			var n int
			if err := db.QueryRow("SELECT $1::int + $2", i, 1).Scan(&n); err != nil || n != i+1 {
				t.Fatalf("prepare_threshold=%s, execution %d: %d, %v", threshold, i+1, n, err)
			}
			if w := writes.Load() - before; w != 1 {
				t.Fatalf("prepare_threshold=%s, execution %d: %d writes, want 1 (one flight)", threshold, i+1, w)
			}
		}
	}
}

func TestSeveralStatementsGiveSeveralResultSets(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int")
	rows, err := db.Query("SELECT 1 AS a; INSERT INTO " + tbl + " VALUES (5); SELECT 'x' AS b, 'y' AS c; SELECT n FROM " + tbl)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var sets [][]string
	for {
		cols, _ := rows.Columns()
		var set []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			set = append(set, fmt.Sprint(cols, vals))
		}
		sets = append(sets, set)
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"[a] [1]"}, {"[b c] [x y]"}, {"[n] [5]"}}
	if !reflect.DeepEqual(sets, want) {
		t.Fatalf("result sets %v, want %v", sets, want)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the INSERT between result sets ran %d times, %v", n, err)
	}
}

func TestSeveralStatementsExec(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int")
	res, err := db.Exec("INSERT INTO " + tbl + " VALUES (1); INSERT INTO " + tbl + " VALUES (2), (3)")
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 2 {
		t.Fatalf("RowsAffected %d, want 2 (the last statement's)", n)
	}
	_, err = db.Exec("INSERT INTO " + tbl + " VALUES (4); SELECT 1/0; INSERT INTO " + tbl + " VALUES (5)")
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "22012" {
		t.Fatalf("err = %v, want division by zero", err)
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d rows, %v: a failed simple query must roll back all its statements", n, err)
	}
}

func TestLargeResultStreamsWithBoundedMemory(t *testing.T) {
	conn := openConn(t)
	const total = 2_000_000
	rows, err := conn.QueryContext(context.Background(),
		"SELECT g, repeat('x', 20) || g, g * 1.5::float8 FROM generate_series(1, $1::int) g", total)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, uint64(0)
	var count, sum int64
	for rows.Next() {
		var n int64
		var s string
		var f float64
		if err := rows.Scan(&n, &s, &f); err != nil {
			t.Fatal(err)
		}
		count++
		sum += n
		if count%200_000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if count != total || sum != total*(total+1)/2 {
		t.Fatalf("read %d rows summing to %d", count, sum)
	}
	if growth := int64(peak) - int64(base); growth > 16<<20 {
		t.Fatalf("heap grew by %d MiB while streaming %d rows; results must not be buffered", growth>>20, total)
	}
}

func TestRowsOfAnEarlierQueryBlockTheConnectionWithAClearError(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	rows, err := conn.QueryContext(context.Background(), "SELECT generate_series(1, 10)")
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	_, err = conn.ExecContext(context.Background(), "SELECT 1")
	var busy *pgpipe.BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("second command while rows are open: %v, want *pgpipe.BusyError", err)
	}
	rows.Close()
	var n int
	if err := conn.QueryRowContext(context.Background(), "SELECT 2").Scan(&n); err != nil || n != 2 {
		t.Fatalf("after closing the rows: %d, %v", n, err)
	}
}

func TestClosingRowsEarlyLeavesTheConnectionReady(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	for i := 0; i < 3; i++ {
		rows, err := conn.QueryContext(context.Background(), "SELECT g FROM generate_series(1, 100000) g")
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 10 && rows.Next(); j++ {
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRowContext(context.Background(), "SELECT $1::int", i).Scan(&n); err != nil || n != i {
			t.Fatalf("after an early close: %d, %v", n, err)
		}
	}
}

func TestServerErrorCarriesEveryField(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "id int CONSTRAINT pk_"+fmt.Sprint(tableSeq.Add(1))+" PRIMARY KEY")
	if _, err := db.Exec("INSERT INTO "+tbl+" VALUES ($1)", 1); err != nil {
		t.Fatal(err)
	}
	_, err := db.Exec("INSERT INTO "+tbl+" VALUES ($1)", 1)
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) {
		t.Fatalf("err %v is not a *pgpipe.Error", err)
	}
	if pgErr.Code != "23505" || pgErr.SQLState() != "23505" || pgErr.TableName != tbl || pgErr.SchemaName != "public" ||
		pgErr.ConstraintName == "" || pgErr.Detail == "" || pgErr.Severity != "ERROR" || pgErr.File == "" || pgErr.Line == 0 || pgErr.Routine == "" {
		t.Fatalf("missing fields: %#v", pgErr)
	}
	_, err = db.Exec("SELECT * FROM nosuchtable_x WHERE $1", true)
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" || pgErr.Position != 15 {
		t.Fatalf("undefined table: %v (position %d), want 42P01 at 15", err, pgErr.Position)
	}
	if d := pgErr.Detailed(); !strings.Contains(d, "^") || !strings.Contains(d, "nosuchtable_x") {
		t.Fatalf("Detailed() has no caret under the query:\n%s", d)
	}
}

func TestNoticesReachTheConnectorHandler(t *testing.T) {
	t.Parallel()
	cfg, err := pgpipe.ParseDSN(server.dsn)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	cfg.NoticeHandler = func(n *pgpipe.Notice) { got <- n.Severity + " " + n.Message }
	cn, _ := pgpipe.NewConnectorConfig(cfg)
	db := sql.OpenDB(cn)
	defer db.Close()
	if _, err := db.Exec("DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$"); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != "NOTICE hello 42" {
		t.Fatalf("notice %q", n)
	}
}

func TestTerminatedBackendIsReplacedByThePool(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	db.SetMaxOpenConns(1)
	var pid int
	if err := db.QueryRow("SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	admin := openDB(t)
	if _, err := admin.Exec("SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	var pid2 int
	var err error
	for i := 0; i < 3; i++ { // the first use may report the termination
		if err = db.QueryRow("SELECT pg_backend_pid()").Scan(&pid2); err == nil {
			break
		}
		var pgErr *pgpipe.Error
		var ce *pgpipe.ConnError
		if !errors.As(err, &pgErr) && !errors.As(err, &ce) {
			t.Fatalf("unexpected error kind after termination: %v", err)
		}
	}
	if err != nil || pid2 == pid {
		t.Fatalf("after pg_terminate_backend: pid %d (was %d), %v", pid2, pid, err)
	}
}

func TestQueryOfStatementsThatReturnNoRows(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	rows, err := conn.QueryContext(context.Background(), "SET application_name = 'a'; SET application_name = 'b'")
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Fatal("a row from SET statements")
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	var app string
	if err := conn.QueryRowContext(context.Background(), "SHOW application_name").Scan(&app); err != nil || app != "b" {
		t.Fatalf("after the query: %q, %v", app, err)
	}
}
