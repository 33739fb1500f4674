package pgpipe

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/pgtest"
)

// script starts a scripted backend that first runs the handshake; the
// server is closed and its script checked when the test ends.
func script(t *testing.T, steps ...pgtest.Step) *pgtest.Server {
	t.Helper()
	s, err := pgtest.Start(append([]pgtest.Step{pgtest.Handshake()}, steps...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Wait(10 * time.Second); err != nil {
			t.Error(err)
		}
		s.Close()
	})
	return s
}

// scriptConn opens one connection to s. Automatic preparation is off
// unless extra says otherwise, so scripts see unnamed statements.
func scriptConn(t *testing.T, s *pgtest.Server, extra ...string) *sql.Conn {
	t.Helper()
	return scriptConnWith(t, s, nil, extra...)
}

// scriptConnWith is scriptConn with edit applied to the parsed Config
// (settings a DSN cannot carry, such as DialFunc).
func scriptConnWith(t *testing.T, s *pgtest.Server, edit func(*Config), extra ...string) *sql.Conn {
	t.Helper()
	dsn := "host=" + s.Host() + " port=" + itoa(int(s.Port())) + " user=u dbname=d sslmode=disable prepare_threshold=none passfile=/nonexistent"
	for _, e := range extra {
		dsn += " " + e
	}
	cfg, err := ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cfg)
	}
	cn, err := NewConnectorConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cn)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// valid reports the driver connection's own verdict on itself.
func valid(t *testing.T, conn *sql.Conn) bool {
	t.Helper()
	var ok bool
	_ = conn.Raw(func(dc any) error {
		ok = dc.(driver.Validator).IsValid()
		return nil
	})
	return ok
}

var (
	flightQuery = []pgproto3.FrontendMessage{&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Describe{}, &pgproto3.Execute{}, &pgproto3.Sync{}}
	flightExec  = []pgproto3.FrontendMessage{&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}}
	int4Col     = pgtest.Col{Name: "n", OID: 23, Size: 4}
)

// queryReplies answers an unnamed query's flight with rows of one int4
// column and a final tag.
func queryReplies(values ...string) pgtest.Step {
	msgs := []pgproto3.BackendMessage{&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.RowDescription(int4Col)}
	for _, v := range values {
		msgs = append(msgs, pgtest.DataRow([]byte(v)))
	}
	msgs = append(msgs, pgtest.CommandComplete("SELECT "+itoa(len(values))), pgtest.ReadyForQuery('I'))
	return pgtest.Send(msgs...)
}

// oneQuery is a whole query exchange that returns one row with 1.
func oneQuery() []pgtest.Step {
	return []pgtest.Step{pgtest.ExpectFlight(flightQuery...), queryReplies("1")}
}

// mustQueryOne checks that the connection still answers a query.
func mustQueryOne(t *testing.T, conn *sql.Conn) {
	t.Helper()
	var n int
	if err := conn.QueryRowContext(context.Background(), "SELECT $1::int", 1).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the connection does not answer the next query: %d, %v", n, err)
	}
}

func TestQueryWithArgumentsIsOneFlight(t *testing.T) {
	s := script(t,
		pgtest.Expect(&pgproto3.Parse{Query: "SELECT $1::int"}),
		pgtest.Expect(&pgproto3.Bind{Parameters: [][]byte{[]byte("7")}}),
		pgtest.Expect(&pgproto3.Describe{ObjectType: 'P'}),
		pgtest.Expect(&pgproto3.Execute{}),
		pgtest.Expect(&pgproto3.Sync{}),
		queryReplies("7"),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	var n int
	if err := conn.QueryRowContext(context.Background(), "SELECT $1::int", 7).Scan(&n); err != nil || n != 7 {
		t.Fatalf("got %d, %v", n, err)
	}
	conn.Close()
}

func TestQueryServerErrorBetweenDataRows(t *testing.T) {
	steps := []pgtest.Step{
		pgtest.ExpectFlight(flightQuery...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.RowDescription(int4Col),
			pgtest.DataRow([]byte("1")), pgtest.DataRow([]byte("2")),
			pgtest.ErrorResponse("22012", "division by zero"), pgtest.ReadyForQuery('I')),
	}
	s := script(t, append(steps, oneQuery()...)...)
	conn := scriptConn(t, s)
	rows, err := conn.QueryContext(context.Background(), "SELECT 1/(2-n) FROM t WHERE $1", true)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	var pgErr *Error
	if !errors.As(rows.Err(), &pgErr) || pgErr.Code != "22012" || len(got) != 2 {
		t.Fatalf("rows %v, err %v; want 2 rows then SQLSTATE 22012", got, rows.Err())
	}
	rows.Close()
	mustQueryOne(t, conn)
}

func TestQueryServerClosesMidRow(t *testing.T) {
	half, _ := pgtest.DataRow([]byte("12345")).Encode(nil)
	s := script(t,
		pgtest.ExpectFlight(flightQuery...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.RowDescription(int4Col), pgtest.DataRow([]byte("1"))),
		pgtest.SendRaw(half[:len(half)-3]),
		pgtest.CloseConn(),
	)
	conn := scriptConn(t, s)
	rows, err := conn.QueryContext(context.Background(), "SELECT n FROM t WHERE $1", true)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatalf("first row missing: %v", rows.Err())
	}
	if rows.Next() {
		t.Fatal("a half-sent row was returned")
	}
	var ce *ConnError
	if !errors.As(rows.Err(), &ce) || errors.Is(rows.Err(), driver.ErrBadConn) {
		t.Fatalf("rows.Err() = %v; want a *ConnError that is not driver.ErrBadConn", rows.Err())
	}
	rows.Close()
	if valid(t, conn) {
		t.Fatal("a connection that broke mid-row still reports itself valid")
	}
}

func TestUnexpectedMessageBreaksTheConnection(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flightQuery...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.CloseComplete{}),
		pgtest.ExpectClosed(),
	)
	conn := scriptConn(t, s)
	_, err := conn.QueryContext(context.Background(), "SELECT $1", 1)
	if err == nil || !strings.Contains(err.Error(), "protocol violation") || !strings.Contains(err.Error(), "CloseComplete") {
		t.Fatalf("err = %v; want a protocol violation naming CloseComplete", err)
	}
	if valid(t, conn) {
		t.Fatal("the connection is still valid after a protocol violation")
	}
}

func TestErrorAtSyncIsTheLastCommandsError(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flightExec...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("INSERT 0 1"),
			pgtest.ErrorResponse("23503", "insert or update violates foreign key constraint"), pgtest.ReadyForQuery('I')),
	)
	conn := scriptConn(t, s)
	_, err := conn.ExecContext(context.Background(), "INSERT INTO child VALUES ($1)", 1)
	var pgErr *Error
	if !errors.As(err, &pgErr) || pgErr.Code != "23503" {
		t.Fatalf("err = %v; a deferred constraint failing at commit must fail the Exec", err)
	}
	if !valid(t, conn) {
		t.Fatal("the connection was given up after a statement error")
	}
}

func TestFatalErrorBreaksTheConnection(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flightQuery...),
		pgtest.Send(pgtest.FatalResponse("57P01", "terminating connection due to administrator command")),
		pgtest.CloseConn(),
	)
	conn := scriptConn(t, s)
	_, err := conn.QueryContext(context.Background(), "SELECT $1", 1)
	var pgErr *Error
	if !errors.As(err, &pgErr) || pgErr.Code != "57P01" || errors.Is(err, driver.ErrBadConn) {
		t.Fatalf("err = %v; want the FATAL 57P01, not ErrBadConn", err)
	}
	if valid(t, conn) {
		t.Fatal("the connection is still valid after FATAL")
	}
}

func TestNoticesReachTheHandler(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flightExec...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{},
			&pgproto3.NoticeResponse{Severity: "NOTICE", Code: "00000", Message: "hello from the server"},
			pgtest.CommandComplete("DO"), pgtest.ReadyForQuery('I')),
	)
	var got atomic.Value
	cfg, _ := ParseDSN("host=" + s.Host() + " port=" + itoa(int(s.Port())) + " user=u sslmode=disable prepare_threshold=none")
	cfg.NoticeHandler = func(n *Notice) { got.Store(n.Message) }
	cn, _ := NewConnectorConfig(cfg)
	db := sql.OpenDB(cn)
	defer db.Close()
	if _, err := db.Exec("DO $$ BEGIN RAISE NOTICE 'x'; END $$ -- $1", nil); err != nil {
		t.Fatal(err)
	}
	if got.Load() != "hello from the server" {
		t.Fatalf("notice handler got %v", got.Load())
	}
}

func TestCancelSendsCancelRequestAndKeepsTheConnection(t *testing.T) {
	steps := []pgtest.Step{
		pgtest.ExpectFlight(flightExec...),
		pgtest.WaitForCancel(),
		pgtest.Send(pgtest.ErrorResponse("57014", "canceling statement due to user request"), pgtest.ReadyForQuery('I')),
	}
	s := script(t, append(steps, oneQuery()...)...)
	conn := scriptConn(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := conn.ExecContext(ctx, "SELECT pg_sleep($1)", 10)
	var pgErr *Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("err = %v; want both context.DeadlineExceeded and SQLSTATE 57014", err)
	}
	if n := len(s.CancelRequests()); n != 1 {
		t.Fatalf("%d CancelRequests, want 1", n)
	}
	if got := s.CancelRequests()[0].ProcessID; got != pgtest.DefaultProcessID {
		t.Fatalf("CancelRequest for pid %d, want %d", got, pgtest.DefaultProcessID)
	}
	mustQueryOne(t, conn)
}

func TestCancelGraceExpiredClosesTheConnection(t *testing.T) {
	never := make(chan struct{})
	s := script(t,
		pgtest.ExpectFlight(flightExec...),
		pgtest.WaitForCancel(),
		pgtest.Pause(never),
	)
	conn := scriptConn(t, s, "cancel_grace=200ms")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := conn.ExecContext(ctx, "SELECT pg_sleep($1)", 10)
	var ce *CancelError
	if !errors.As(err, &ce) || !ce.Closed || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want a CancelError with Closed set", err)
	}
	if valid(t, conn) {
		t.Fatal("the connection is still valid after the grace period ran out")
	}
	close(never)
}

func TestContextDoneBeforeStartSendsNothing(t *testing.T) {
	s := script(t, oneQuery()...)
	conn := scriptConn(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := conn.ExecContext(ctx, "SELECT $1", 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	mustQueryOne(t, conn)
	if n := len(s.CancelRequests()); n != 0 {
		t.Fatalf("%d CancelRequests for a query never sent", n)
	}
}

// failingConn fails its next write after writing n bytes of it.
type failingConn struct {
	net.Conn
	failAfter atomic.Int64 // -1: do not fail
}

func (f *failingConn) Write(b []byte) (int, error) {
	if n := f.failAfter.Load(); n >= 0 {
		k := min(int(n), len(b))
		f.Conn.Write(b[:k])
		f.Conn.Close()
		return k, errors.New("injected write failure")
	}
	return f.Conn.Write(b)
}

func TestErrBadConnOnlyWhenNothingWasWritten(t *testing.T) {
	for _, tc := range []struct {
		written int64
		badConn bool
	}{{0, true}, {3, false}} {
		s, err := pgtest.Start(pgtest.Handshake(), pgtest.ExpectTerminateOrClose())
		if err != nil {
			t.Fatal(err)
		}
		var fc *failingConn
		cfg, _ := ParseDSN("host=" + s.Host() + " port=" + itoa(int(s.Port())) + " user=u sslmode=disable prepare_threshold=none")
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			fc = &failingConn{Conn: c}
			fc.failAfter.Store(-1)
			return fc, err
		}
		cn, _ := NewConnectorConfig(cfg)
		dc, err := cn.Connect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fc.failAfter.Store(tc.written)
		_, err = dc.(driver.ExecerContext).ExecContext(context.Background(), "INSERT INTO t VALUES ($1)", []driver.NamedValue{{Ordinal: 1, Value: int64(1)}})
		if got := errors.Is(err, driver.ErrBadConn); got != tc.badConn {
			t.Errorf("%d bytes written before the failure: errors.Is(err, ErrBadConn) = %v, want %v (err %v)", tc.written, got, tc.badConn, err)
		}
		if !strings.Contains(err.Error(), "injected write failure") {
			t.Errorf("the cause is lost: %v", err)
		}
		if dc.(driver.Validator).IsValid() {
			t.Error("the connection is valid after a failed write")
		}
		s.Close()
	}
}

func TestConnectNeverReturnsErrBadConn(t *testing.T) {
	s, err := pgtest.Start(pgtest.CloseConn())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cn, _ := NewConnector("host=" + s.Host() + " port=" + itoa(int(s.Port())) + " user=u sslmode=disable")
	_, err = cn.Connect(context.Background())
	if err == nil || errors.Is(err, driver.ErrBadConn) {
		t.Fatalf("Connect to a server that hangs up: %v; want an error that is not ErrBadConn", err)
	}
}

func TestCommitAfterAFailedStatementSaysRolledBack(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("BEGIN"),
			&pgproto3.ParseComplete{}, pgtest.ErrorResponse("23505", "duplicate key value violates unique constraint"),
			pgtest.ReadyForQuery('E')),
		pgtest.Expect(&pgproto3.Query{String: "COMMIT"}),
		pgtest.Send(pgtest.CommandComplete("ROLLBACK"), pgtest.ReadyForQuery('I')),
	)
	conn := scriptConn(t, s)
	tx, err := conn.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO t VALUES ($1)", 1); err == nil {
		t.Fatal("the failing insert succeeded")
	}
	err = tx.Commit()
	var pgErr *Error
	if !errors.Is(err, ErrTxRolledBack) || !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("Commit = %v; want ErrTxRolledBack wrapping the 23505", err)
	}
}
