package pgpipe

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/pgtest"
)

// Tests of a server that misbehaves: unknown messages, frames cut short,
// lengths that lie, messages where the protocol allows none. Each ends
// with a clear error (no panic, no hang), and a connection that reports
// itself invalid and hung up on the server.

// faultConn opens one connection to s (see scriptConn) with a short cancel
// grace period.
func faultConn(t *testing.T, s *pgtest.Server) *sql.Conn {
	t.Helper()
	return scriptConn(t, s, "cancel_grace=200ms")
}

// faultValid reports the driver connection's own verdict on itself.
func faultValid(conn *sql.Conn) bool {
	ok := false
	_ = conn.Raw(func(dc any) error {
		ok = dc.(driver.Validator).IsValid()
		return nil
	})
	return ok
}

// faultFrame encodes msgs, failing the test on an encoding error.
func faultFrame(t *testing.T, msgs ...pgproto3.BackendMessage) []byte {
	t.Helper()
	var b []byte
	for _, m := range msgs {
		var err error
		if b, err = m.Encode(b); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// faultHeader is a message header: a type byte and a length, which may lie.
func faultHeader(typ byte, length uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{typ}, length)
}

var (
	faultFlight = []pgproto3.FrontendMessage{&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Describe{}, &pgproto3.Execute{}, &pgproto3.Sync{}}
	faultCol    = pgtest.Col{Name: "n", OID: 23, Size: 4}
)

// faultWantBroken checks that err reports a broken connection in words that
// contain want, that it is not driver.ErrBadConn (the query reached the
// server), and that the connection is given up.
func faultWantBroken(t *testing.T, conn *sql.Conn, err error, want string) {
	t.Helper()
	var ce *ConnError
	switch {
	case err == nil:
		t.Fatal("no error")
	case !errors.As(err, &ce):
		t.Errorf("err = %v (%T); want a *ConnError", err, err)
	case !strings.Contains(err.Error(), want):
		t.Errorf("err = %v; want it to say %q", err, want)
	case errors.Is(err, driver.ErrBadConn):
		t.Errorf("err = %v is driver.ErrBadConn, though the query reached the server", err)
	}
	if faultValid(conn) {
		t.Error("the connection still reports itself valid")
	}
}

// faultQueryAll runs a query with an argument (the extended protocol) and
// reads all its rows, returning the first error.
func faultQueryAll(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, "SELECT n FROM t WHERE $1", true)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

func TestFaultUnknownMessageTypeBreaksTheConnection(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(faultFlight...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}),
		pgtest.SendRaw([]byte{'x', 0, 0, 0, 6, 'h', 'i'}),
		pgtest.ExpectClosed(),
	)
	conn := faultConn(t, s)
	faultWantBroken(t, conn, faultQueryAll(context.Background(), conn), "protocol violation")
}

func TestFaultTruncatedFrameThenCloseBreaksTheConnection(t *testing.T) {
	rowDesc := faultFrame(t, pgtest.RowDescription(faultCol))
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"half a header", []byte{'T', 0, 0}},
		{"a header without its body", rowDesc[:5]},
		{"a body cut short", rowDesc[:len(rowDesc)-3]},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := script(t,
				pgtest.ExpectFlight(faultFlight...),
				pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}),
				pgtest.SendRaw(c.raw),
				pgtest.CloseConn(),
			)
			conn := faultConn(t, s)
			faultWantBroken(t, conn, faultQueryAll(context.Background(), conn), "server closed the connection")
		})
	}
}

// TestFaultLengthsThatLieFailFast sends a message header whose length is
// negative, shorter than the length field or absurd for its type, and then
// nothing more (the server stalls): the driver must neither wait for the
// body nor allocate it, but fail at once with a protocol error. libpq
// rejects lengths over 30000 for every message type but the few that may
// be long (DataRow, RowDescription, CopyData, ErrorResponse,
// NoticeResponse, NotificationResponse, FunctionCallResponse).
func TestFaultLengthsThatLieFailFast(t *testing.T) {
	for _, c := range []struct {
		name   string
		header []byte
	}{
		{"ReadyForQuery of 0x7fffffff bytes", faultHeader('Z', 0x7fffffff)},
		{"ReadyForQuery of -1 bytes", faultHeader('Z', 0xffffffff)},
		{"ReadyForQuery of 0 bytes", faultHeader('Z', 0)},
		{"ReadyForQuery of 3 bytes", faultHeader('Z', 3)},
		{"DataRow of 0x7fffffff bytes", faultHeader('D', 0x7fffffff)},
		{"ReadyForQuery of almost 1 GiB", faultHeader('Z', 0x3ffffff0)},
		{"CommandComplete of 256 MiB", faultHeader('C', 256<<20)},
	} {
		t.Run(c.name, func(t *testing.T) {
			release := make(chan struct{})
			s := script(t,
				pgtest.ExpectFlight(faultFlight...),
				pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.RowDescription(faultCol),
					pgtest.DataRow([]byte("1")), pgtest.CommandComplete("SELECT 1")),
				pgtest.SendRaw(c.header),
				pgtest.Pause(release),
			)
			defer close(release) // before the script is checked
			conn := faultConn(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := faultQueryAll(ctx, conn)
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
				t.Errorf("the driver allocated %d MiB for a message that never came", grew>>20)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("the driver waited for the body until its deadline instead of failing fast: %v", err)
			}
			faultWantBroken(t, conn, err, "protocol violation")
		})
	}
}

func TestFaultErrorResponseWithoutFieldsIsAProtocolViolation(t *testing.T) {
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"no fields", []byte{'E', 0, 0, 0, 5, 0}},
		{"an empty body", []byte{'E', 0, 0, 0, 4}},
		{"an unterminated field", []byte{'E', 0, 0, 0, 8, 'M', 'o', 'o'}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := script(t,
				pgtest.ExpectFlight(faultFlight...),
				pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}),
				pgtest.SendRaw(append(c.raw, faultFrame(t, pgtest.ReadyForQuery('I'))...)),
				pgtest.ExpectClosed(),
			)
			conn := faultConn(t, s)
			faultWantBroken(t, conn, faultQueryAll(context.Background(), conn), "protocol violation")
		})
	}
}

func TestFaultDataRowWithTheWrongNumberOfColumns(t *testing.T) {
	for _, c := range []struct {
		name  string
		query string
		steps []pgtest.Step
	}{
		{"extended", "SELECT n FROM t WHERE $1", []pgtest.Step{
			pgtest.ExpectFlight(faultFlight...),
			pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.RowDescription(faultCol),
				pgtest.DataRow([]byte("1")), pgtest.DataRow([]byte("2"), []byte("3"))),
		}},
		{"simple", "SELECT 1; SELECT n FROM t", []pgtest.Step{
			pgtest.ExpectType(&pgproto3.Query{}),
			pgtest.Send(pgtest.RowDescription(faultCol), pgtest.DataRow([]byte("1")), pgtest.DataRow()),
		}},
		{"before any RowDescription", "SELECT n FROM t WHERE $1", []pgtest.Step{
			pgtest.ExpectFlight(faultFlight...),
			pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.DataRow([]byte("1"))),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := script(t, append(c.steps, pgtest.ExpectClosed())...)
			conn := faultConn(t, s)
			err := faultQueryText(conn, c.query)
			faultWantBroken(t, conn, err, "protocol violation")
		})
	}
}

// faultQueryText runs query (with an argument when it has a $1) and reads
// every row.
func faultQueryText(conn *sql.Conn, query string) error {
	var args []any
	if strings.Contains(query, "$1") {
		args = append(args, true)
	}
	rows, err := conn.QueryContext(context.Background(), query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for {
		for rows.Next() {
		}
		if !rows.NextResultSet() {
			break
		}
	}
	return rows.Err()
}

func TestFaultRowDescriptionBetweenDataRows(t *testing.T) {
	for _, c := range []struct {
		name  string
		query string
		steps []pgtest.Step
	}{
		{"extended", "SELECT n FROM t WHERE $1", []pgtest.Step{
			pgtest.ExpectFlight(faultFlight...),
			pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.RowDescription(faultCol),
				pgtest.DataRow([]byte("1")), pgtest.RowDescription(faultCol), pgtest.DataRow([]byte("2"))),
		}},
		{"simple", "SELECT 1; SELECT n FROM t", []pgtest.Step{
			pgtest.ExpectType(&pgproto3.Query{}),
			pgtest.Send(pgtest.RowDescription(faultCol), pgtest.DataRow([]byte("1")),
				pgtest.RowDescription(faultCol), pgtest.DataRow([]byte("2"))),
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := script(t, append(c.steps, pgtest.ExpectClosed())...)
			conn := faultConn(t, s)
			faultWantBroken(t, conn, faultQueryText(conn, c.query), "protocol violation")
		})
	}
}

func TestFaultReadyForQueryWithAnUnknownStatus(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(faultFlight...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.RowDescription(faultCol),
			pgtest.DataRow([]byte("1")), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('X')),
		pgtest.ExpectClosed(),
	)
	conn := faultConn(t, s)
	faultWantBroken(t, conn, faultQueryAll(context.Background(), conn), "protocol violation")
}

func TestFaultReadyForQueryWithAnUnknownStatusAtStartup(t *testing.T) {
	s, err := pgtest.Start(
		pgtest.ExpectType(&pgproto3.StartupMessage{}),
		pgtest.Send(&pgproto3.AuthenticationOk{}, &pgproto3.BackendKeyData{ProcessID: 1, SecretKey: []byte{0, 0, 0, 1}}, pgtest.ReadyForQuery('?')),
		pgtest.ExpectClosed(),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cn, err := NewConnector("host=" + s.Host() + " port=" + itoa(int(s.Port())) + " user=u sslmode=disable prepare_threshold=none passfile=/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	dc, err := cn.Connect(context.Background())
	if err == nil {
		dc.Close()
		t.Fatal("connected to a server whose ReadyForQuery has status '?'")
	}
	if !strings.Contains(err.Error(), "protocol violation") || errors.Is(err, driver.ErrBadConn) {
		t.Errorf("err = %v; want a protocol violation, not driver.ErrBadConn", err)
	}
	if err := s.Wait(10 * time.Second); err != nil {
		t.Error(err)
	}
}

// TestFaultServerGoneDuringCopyFromIsNotErrBadConn: the server takes the
// COPY and hangs up. The COPY statement reached the server, so the error
// must not claim that nothing did (driver.ErrBadConn).
func TestFaultServerGoneDuringCopyFromIsNotErrBadConn(t *testing.T) {
	s := script(t,
		pgtest.Expect(&pgproto3.Query{String: "COPY t FROM STDIN"}),
		pgtest.Send(&pgproto3.CopyInResponse{ColumnFormatCodes: []uint16{0}}),
		pgtest.CloseConn(),
	)
	conn := faultConn(t, s)
	data := strings.Repeat("1\n", 100000)
	_, err := CopyFrom(context.Background(), conn, "COPY t FROM STDIN", strings.NewReader(data))
	faultWantBroken(t, conn, err, "")
}

// TestFaultServerGoneMidPipelineIsNotErrBadConn: the server reads the
// first command of a large pipeline and hangs up while the driver is
// still writing chunks. Commands reached the server, so no error may be
// driver.ErrBadConn.
func TestFaultServerGoneMidPipelineIsNotErrBadConn(t *testing.T) {
	s := script(t,
		pgtest.ExpectType(&pgproto3.Parse{}),
		pgtest.CloseConn(),
	)
	conn := faultConn(t, s)
	arg := strings.Repeat("x", 4096)
	var handles []*Result
	err := RunPipeline(context.Background(), conn, func(p *Pipeline) error {
		for range 400 { // 1.6 MB: many chunks
			handles = append(handles, p.Exec("INSERT INTO t VALUES ($1)", arg))
		}
		for _, h := range handles {
			if err := h.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	for i, h := range handles {
		if herr := h.Err(); errors.Is(herr, driver.ErrBadConn) {
			t.Fatalf("command %d: %v is driver.ErrBadConn, though earlier commands reached the server", i+1, herr)
		}
	}
	faultWantBroken(t, conn, err, "")
}
