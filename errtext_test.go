package pgpipe

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/codec"
	"github.com/pgpipe/pgpipe/internal/pgtest"
)

// driverConn opens one driver connection to s, outside database/sql, so a
// test can see what each call returns.
func driverConn(t *testing.T, s *pgtest.Server, extra string) *conn {
	t.Helper()
	cn, err := NewConnector("host=" + s.Host() + " port=" + itoa(int(s.Port())) + " user=u dbname=d sslmode=disable passfile=/nonexistent " + extra)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := cn.Connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	return dc.(*conn)
}

// A FATAL error in reply to Ping's empty query names Ping, not an empty
// statement ("connection broken while running : FATAL"), and Ping's error
// keeps the server's error beside driver.ErrBadConn.
func TestFatalDuringPingNamesPing(t *testing.T) {
	s := script(t,
		pgtest.Expect(&pgproto3.Query{String: ""}),
		pgtest.Send(pgtest.FatalResponse("57P01", "terminating connection due to administrator command")),
		pgtest.CloseConn(),
	)
	c := driverConn(t, s, "prepare_threshold=none")
	err := c.Ping(context.Background())
	var pgErr *Error
	if !errors.Is(err, driver.ErrBadConn) || !errors.As(err, &pgErr) || pgErr.Code != "57P01" {
		t.Fatalf("Ping: %v; want driver.ErrBadConn and SQLSTATE 57P01", err)
	}
	if got := c.core.broken.Error(); !strings.Contains(got, "while running an empty query (as Ping does): FATAL") {
		t.Fatalf("the connection's error %q does not name Ping", got)
	}
	if c.IsValid() {
		t.Fatal("the connection is still valid")
	}
}

// A session that timed out while idle in a transaction reports its FATAL
// to the next command sent: COMMIT. When the statement cache put a Close
// in front of the COMMIT, the error landed on the Close and named nothing;
// it names COMMIT.
func TestFatalAtCommitBehindACloseNamesCommit(t *testing.T) {
	s := script(t,
		pgtest.Expect(&pgproto3.Query{String: "SELECT pg_catalog.pg_backend_pid()"}),
		pgtest.Send(pgtest.RowDescription(pgtest.Col{Name: "pg_backend_pid", OID: codec.OIDInt4, Size: 4}),
			pgtest.DataRow([]byte(itoa(pgtest.DefaultProcessID))), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectFlight(&pgproto3.Parse{}, &pgproto3.Describe{}, &pgproto3.Sync{}),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.ParameterDescription{}, &pgproto3.NoData{}, pgtest.ReadyForQuery('I')),
		pgtest.ExpectFlight(&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("BEGIN"),
			&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("SET"), pgtest.ReadyForQuery('T')),
		pgtest.ExpectFlight(&pgproto3.Close{}, &pgproto3.Sync{}, &pgproto3.Query{}),
		pgtest.Send(pgtest.FatalResponse("25P03", "terminating connection due to idle-in-transaction timeout")),
		pgtest.CloseConn(),
	)
	c := driverConn(t, s, "")
	ctx := context.Background()
	st, err := c.PrepareContext(ctx, "SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	tx, err := c.BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "SET x = 1", nil); err != nil {
		t.Fatal(err)
	}
	st.Close()
	err = tx.Commit()
	var pgErr *Error
	if !errors.As(err, &pgErr) || pgErr.Code != "25P03" {
		t.Fatalf("Commit: %v; want SQLSTATE 25P03", err)
	}
	if got := c.core.broken.Error(); !strings.Contains(got, "while running COMMIT: FATAL") {
		t.Fatalf("the connection's error %q does not name COMMIT", got)
	}
	if err := tx.Rollback(); err == nil || !strings.Contains(err.Error(), "COMMIT") {
		t.Fatalf("Rollback after the failed COMMIT: %v; want the connection's error naming COMMIT", err)
	}
}

// Ping on a connection whose server does not answer, with a context that
// ends, returns an error wrapping the context's error (as pgx does), not a
// bare driver.ErrBadConn.
func TestPingOnAStalledConnectionWrapsTheContextsError(t *testing.T) {
	never := make(chan struct{})
	defer close(never)
	s := script(t,
		pgtest.Expect(&pgproto3.Query{String: ""}),
		pgtest.WaitForCancel(),
		pgtest.Pause(never),
	)
	c := driverConn(t, s, "prepare_threshold=none cancel_grace=50ms")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.Ping(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, driver.ErrBadConn) {
		t.Fatalf("Ping: %v; want an error wrapping context.DeadlineExceeded and driver.ErrBadConn", err)
	}
	if c.IsValid() {
		t.Fatal("the connection is still valid after the grace period ran out")
	}
}
