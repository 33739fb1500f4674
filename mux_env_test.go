package pgpipe

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/pgtest"
)

// Rows a shared connection read are decoded for the session as it was
// when they ended: a TimeZone the server reports afterwards, while the
// connection's owner reads another caller's replies, neither changes them
// nor is read by their caller while the owner writes it (go test -race).
func TestMuxRowsKeepTheSessionTheyWereReadIn(t *testing.T) {
	tsCol := pgtest.Col{Name: "at", OID: 1184, Size: 8}
	s := script(t,
		pgtest.ExpectFlight(flightQuery...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.RowDescription(tsCol),
			pgtest.DataRow([]byte("2026-12-06 10:00:00+00")), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectFlight(flightExec...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{},
			&pgproto3.ParameterStatus{Name: "TimeZone", Value: "Asia/Tokyo"},
			pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectTerminateOrClose(),
	)
	cn, err := NewConnector("host=" + s.Host() + " port=" + itoa(int(s.Port())) +
		" user=u dbname=d sslmode=disable prepare_threshold=none passfile=/nonexistent multiplex=1 timezone=UTC")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	rows, err := db.Query("SELECT at FROM a")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if _, err := db.ExecContext(context.Background(), "SELECT b()"); err != nil { // another caller's
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	var at time.Time
	if err := rows.Scan(&at); err != nil {
		t.Fatal(err)
	}
	if got := at.Location().String(); got != "UTC" {
		t.Errorf("the row read under TimeZone UTC comes back in %s, the TimeZone another caller's statement reported later", got)
	}
}

// A BeginTx that fails before the transaction starts (an isolation level
// PostgreSQL does not have) leaves no server connection pinned to the
// database/sql connection: pinned, it would take one of the N-1 session
// slots for the connection's life (a db.Conn's).
func TestMuxFailedBeginTxPinsNothing(t *testing.T) {
	// A server for the pin, if one is made: its script is not checked,
	// since none is the point.
	s, err := pgtest.Start(pgtest.Handshake(), pgtest.ExpectTerminateOrClose())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cn, err := NewConnector("host=" + s.Host() + " port=" + itoa(int(s.Port())) +
		" user=u dbname=d sslmode=disable passfile=/nonexistent prepare_threshold=none multiplex=2")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	sc, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.BeginTx(context.Background(), &sql.TxOptions{Isolation: sql.LevelLinearizable}); err == nil {
		t.Fatal("BeginTx with an isolation level PostgreSQL lacks succeeded")
	}
	if err := sc.Raw(func(dc any) error {
		if dc.(*conn).mux.m != nil {
			t.Error("the failed BeginTx left a server connection pinned")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
