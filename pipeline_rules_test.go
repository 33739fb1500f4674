package pgpipe

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/codec"
	"github.com/pgpipe/pgpipe/internal/pgtest"
)

// Scripted tests of errors the server reports at a pipeline's sync points:
// a deferred constraint checked by the implicit commit fails there, after
// every command of the segment reported success.

var (
	msgsInsert   = []pgproto3.FrontendMessage{&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Execute{}}
	insertReply  = []pgproto3.BackendMessage{&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, pgtest.CommandComplete("INSERT 0 1")}
	deferredFKey = pgtest.ErrorResponse("23503", `insert or update on table "child" violates foreign key constraint "child_p_fkey"`)
)

// flight concatenates message lists for ExpectFlight.
func flight(parts ...[]pgproto3.FrontendMessage) []pgproto3.FrontendMessage {
	var all []pgproto3.FrontendMessage
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// replies concatenates reply lists for Send.
func replies(parts ...[]pgproto3.BackendMessage) []pgproto3.BackendMessage {
	var all []pgproto3.BackendMessage
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

var (
	sync1  = []pgproto3.FrontendMessage{&pgproto3.Sync{}}
	flush1 = []pgproto3.FrontendMessage{&pgproto3.Flush{}}
	rfqI   = []pgproto3.BackendMessage{pgtest.ReadyForQuery('I')}
)

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var pgErr *Error
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Fatalf("%s: want an *Error with SQLSTATE %s, got %v", what, code, err)
	}
}

func TestExecBatchAtomicReportsAnErrorAtCommit(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flight(sync1, msgsInsert, msgsInsert, sync1, flush1)...),
		pgtest.Send(replies(rfqI, insertReply, insertReply, []pgproto3.BackendMessage{deferredFKey}, rfqI)...),
		pgtest.ExpectFlight(sync1...),
		pgtest.Send(rfqI...),
		pgtest.ExpectFlight(flightQuery...), queryReplies("1"),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	res, err := ExecBatch(context.Background(), conn, "INSERT INTO child VALUES ($1)", [][]any{{1}, {2}}, BatchAtomic)
	wantCode(t, "ExecBatch", err, "23503")
	if res.RowsAffected != 0 {
		t.Errorf("RowsAffected = %d, want 0: nothing was committed", res.RowsAffected)
	}
	for i, e := range res.Errors {
		wantCode(t, "Errors["+itoa(i)+"]", e, "23503")
	}
	mustQueryOne(t, conn)
	conn.Close()
}

func TestExecBatchIndependentReportsAnErrorAtCommit(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flight(msgsInsert, sync1, msgsInsert, sync1, flush1)...),
		pgtest.Send(replies(insertReply, rfqI, insertReply, []pgproto3.BackendMessage{deferredFKey}, rfqI)...),
		pgtest.ExpectFlight(sync1...),
		pgtest.Send(rfqI...),
		pgtest.ExpectFlight(flightQuery...), queryReplies("1"),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	res, err := ExecBatch(context.Background(), conn, "INSERT INTO child VALUES ($1)", [][]any{{1}, {2}}, BatchIndependent)
	if err != nil {
		t.Fatalf("ExecBatch: %v (independent mode reports row errors in BatchResult)", err)
	}
	if res.Errors[0] != nil {
		t.Errorf("Errors[0] = %v, want nil", res.Errors[0])
	}
	wantCode(t, "Errors[1]", res.Errors[1], "23503")
	if res.RowsAffected != 1 {
		t.Errorf("RowsAffected = %d, want 1", res.RowsAffected)
	}
	mustQueryOne(t, conn)
	conn.Close()
}

// A handle read before its segment's Sync was queued can only tell the
// command's own outcome; the commit that fails later must reach
// RunPipeline's error, and the handle once asked again.
func TestPipelineReportsACommitErrorAfterTheHandleSaidNil(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flight(msgsInsert, flush1)...),
		pgtest.Send(insertReply...),
		pgtest.ExpectFlight(sync1...),
		pgtest.Send(deferredFKey, pgtest.ReadyForQuery('I')),
		pgtest.ExpectFlight(flightQuery...), queryReplies("1"),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	var h *Result
	err := RunPipeline(context.Background(), conn, func(p *Pipeline) error {
		h = p.Exec("INSERT INTO child VALUES ($1)", 1)
		if err := h.Err(); err != nil {
			t.Errorf("the command itself succeeded, its handle said %v", err)
		}
		return nil
	})
	wantCode(t, "RunPipeline", err, "23503")
	mustQueryOne(t, conn)
	conn.Close()
}

// Once the segment's Sync is queued, reading a handle waits for it.
func TestPipelineHandleAfterSyncHasTheCommitError(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flight(msgsInsert, msgsInsert, sync1, flush1)...),
		pgtest.Send(replies(insertReply, insertReply, []pgproto3.BackendMessage{deferredFKey}, rfqI)...),
		pgtest.ExpectFlight(sync1...),
		pgtest.Send(rfqI...),
		pgtest.ExpectFlight(flightQuery...), queryReplies("1"),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	err := RunPipeline(context.Background(), conn, func(p *Pipeline) error {
		a := p.Exec("INSERT INTO child VALUES ($1)", 1)
		b := p.Exec("INSERT INTO child VALUES ($1)", 2)
		p.Sync()
		wantCode(t, "first handle", a.Err(), "23503")
		wantCode(t, "second handle", b.Err(), "23503")
		return nil
	})
	if err != nil {
		t.Errorf("RunPipeline: %v, want nil: the callback saw every error", err)
	}
	mustQueryOne(t, conn)
	conn.Close()
}

// pooledProbe answers the driver's pooler probe with a backend other than
// the one of the startup: a pooler sits in between.
func pooledProbe() []pgtest.Step {
	return []pgtest.Step{
		pgtest.Expect(&pgproto3.Query{String: "SELECT pg_catalog.pg_backend_pid()"}),
		pgtest.Send(pgtest.RowDescription(pgtest.Col{Name: "pg_backend_pid", OID: codec.OIDInt4, Size: 4}),
			pgtest.DataRow([]byte(itoa(pgtest.DefaultProcessID+1))), pgtest.CommandComplete("SELECT 1"), pgtest.ReadyForQuery('I')),
	}
}

// unnamedParse checks a Parse of query without a statement name.
func unnamedParse(query string) pgtest.Step {
	return pgtest.ExpectFunc("unnamed Parse of "+query, func(m pgproto3.FrontendMessage) error {
		if p, ok := m.(*pgproto3.Parse); !ok || p.Query != query || p.Name != "" {
			return errors.New("want an unnamed Parse of " + query)
		}
		return nil
	})
}

// Behind a pooler the session can move at every sync point of a pipeline,
// and a statement the pooler lost could not be re-run there: pipelines run
// unnamed, even where a plain query would prepare.
func TestBehindAPoolerPipelinesRunUnnamed(t *testing.T) {
	const query = "INSERT INTO t VALUES ($1)"
	steps := pooledProbe()
	for i := 0; i < 2; i++ {
		steps = append(steps, unnamedParse(query), pgtest.ExpectFlight(&pgproto3.Bind{}, &pgproto3.Execute{}, &pgproto3.Sync{}))
	}
	steps = append(steps, pgtest.ExpectFlight(flush1...),
		pgtest.Send(replies(insertReply, rfqI, insertReply, rfqI)...),
		pgtest.ExpectFlight(sync1...), pgtest.Send(rfqI...),
		pgtest.ExpectTerminateOrClose())
	s := script(t, steps...)
	conn := scriptConn(t, s, "prepare_threshold=0")
	res, err := ExecBatch(context.Background(), conn, query, [][]any{{1}, {2}}, BatchIndependent)
	if err != nil || res.RowsAffected != 2 {
		t.Fatalf("ExecBatch: %+v, %v", res, err)
	}
	conn.Close()
}

var (
	execMsgs     = []pgproto3.FrontendMessage{&pgproto3.Parse{}, &pgproto3.Bind{}, &pgproto3.Execute{}}
	execOK       = []pgproto3.BackendMessage{&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}}
	uniqueFailed = pgtest.ErrorResponse("23505", "duplicate key value violates unique constraint")
)

// A transaction fence in a pipeline: the failing command skips the rest of
// the fence up to its Sync (COMMIT included), the fence's ROLLBACK ends
// the aborted block, and the command after the fence still runs.
func TestPipelineTxFenceSkipsToItsSync(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flight(sync1, execMsgs, execMsgs, execMsgs, execMsgs, sync1, execMsgs, execMsgs, flush1)...),
		pgtest.Send(replies(rfqI,
			execOK, []pgproto3.BackendMessage{pgtest.CommandComplete("BEGIN")},
			execOK, []pgproto3.BackendMessage{pgtest.CommandComplete("INSERT 0 1")},
			[]pgproto3.BackendMessage{&pgproto3.ParseComplete{}, uniqueFailed, pgtest.ReadyForQuery('E')},
			execOK, []pgproto3.BackendMessage{pgtest.CommandComplete("ROLLBACK")},
			execOK, []pgproto3.BackendMessage{pgtest.CommandComplete("INSERT 0 1")},
		)...),
		pgtest.ExpectFlight(sync1...), pgtest.Send(rfqI...),
		pgtest.ExpectFlight(flightQuery...), queryReplies("1"),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	var first, inside *Result
	err := RunPipeline(context.Background(), conn, func(p *Pipeline) error {
		tx := p.Tx(func(p *Pipeline) error {
			first = p.Exec("INSERT INTO t VALUES (1)")
			inside = p.Exec("INSERT INTO t VALUES (1)")
			return nil
		})
		after := p.Exec("INSERT INTO u VALUES (1)")
		wantCode(t, "the transaction", tx.Err(), "23505")
		if err := after.Err(); err != nil {
			t.Errorf("the command after the fence: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Errorf("RunPipeline: %v; the transaction's outcome was seen", err)
	}
	if err := first.Err(); err != nil {
		t.Errorf("the fence's first command itself succeeded (rolled back with the fence): %v", err)
	}
	wantCode(t, "the failing command", inside.Err(), "23505")
	mustQueryOne(t, conn)
	conn.Close()
}

// A pipeline whose context ends while the server runs a command: the
// cancel goroutine ends the pipeline with a Sync of its own and sends a
// CancelRequest; the command reports the cancellation, a command queued
// afterwards is never sent, and the connection is kept.
func TestPipelineCancelledMidCommandInjectsASync(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := script(t,
		pgtest.ExpectFlight(execMsgs...),
		pgtest.ExpectFunc("Flush, then the test cancels", func(m pgproto3.FrontendMessage) error {
			if _, ok := m.(*pgproto3.Flush); !ok {
				return errors.New("want Flush")
			}
			cancel()
			return nil
		}),
		pgtest.WaitForCancel(),
		pgtest.Expect(&pgproto3.Sync{}),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{},
			pgtest.ErrorResponse("57014", "canceling statement due to user request"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectFlight(flightQuery...), queryReplies("1"),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	var late *Result
	err := RunPipeline(ctx, conn, func(p *Pipeline) error {
		if err := p.Exec("SELECT pg_sleep(60)").Err(); !errors.Is(err, context.Canceled) {
			t.Errorf("the running command: %v, want context.Canceled", err)
		}
		late = p.Exec("INSERT INTO t VALUES (1)")
		return nil
	})
	if !errors.Is(late.Err(), context.Canceled) {
		t.Errorf("a command queued after the cancel: %v, want context.Canceled", late.Err())
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("RunPipeline: %v", err)
	}
	mustQueryOne(t, conn)
	conn.Close()
}

// A COPY FROM STDIN run without a data source: CopyFail, then the Sync the
// server needs after a COPY in the extended protocol; the connection is
// kept.
func TestCopyWithoutASourceSendsCopyFailThenSync(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flightExec...),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{}, &pgproto3.CopyInResponse{}),
		pgtest.ExpectFlight(&pgproto3.CopyFail{}, &pgproto3.Sync{}),
		pgtest.Send(pgtest.ErrorResponse("57014", "COPY from stdin failed"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectFlight(flightQuery...), queryReplies("1"),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	_, err := conn.ExecContext(context.Background(), "COPY t FROM STDIN WHERE $1", true)
	wantCode(t, "Exec", err, "57014") // the server's echo of the CopyFail
	mustQueryOne(t, conn)
	conn.Close()
}

// A transaction block that ended inside a segment is not undone by an
// error at the segment's Sync: only the commands after the block's end
// belonged to the implicit transaction that failed to commit.
func TestCommitErrorAtSyncSparesABlockThatEndedBefore(t *testing.T) {
	s := script(t,
		pgtest.ExpectFlight(flight(execMsgs, execMsgs, execMsgs, execMsgs, sync1, flush1)...),
		pgtest.Send(replies(
			execOK, []pgproto3.BackendMessage{pgtest.CommandComplete("BEGIN")},
			execOK, []pgproto3.BackendMessage{pgtest.CommandComplete("INSERT 0 1")},
			execOK, []pgproto3.BackendMessage{pgtest.CommandComplete("COMMIT")},
			execOK, []pgproto3.BackendMessage{pgtest.CommandComplete("INSERT 0 1")},
			[]pgproto3.BackendMessage{deferredFKey}, rfqI)...),
		pgtest.ExpectFlight(sync1...), pgtest.Send(rfqI...),
		pgtest.ExpectFlight(flightQuery...), queryReplies("1"),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	err := RunPipeline(context.Background(), conn, func(p *Pipeline) error {
		p.Exec("BEGIN")
		committed := p.Exec("INSERT INTO child VALUES ($1)", 1)
		commit := p.Exec("COMMIT")
		after := p.Exec("INSERT INTO child VALUES ($1)", 2)
		p.Sync()
		if err := committed.Err(); err != nil {
			t.Errorf("the INSERT its block committed: %v", err)
		}
		if err := commit.Err(); err != nil {
			t.Errorf("COMMIT: %v", err)
		}
		wantCode(t, "the INSERT after the block", after.Err(), "23503")
		return nil
	})
	if err != nil {
		t.Errorf("RunPipeline: %v", err)
	}
	mustQueryOne(t, conn)
	conn.Close()
}

// A transaction's deferred BEGIN queued in a pipeline that was cut before
// it was sent: the transaction's next statement still begins the block,
// and Rollback rolls it back.
func TestPipelineCutBeforeItsFirstFlushKeepsTheDeferredBegin(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := script(t,
		pgtest.Expect(&pgproto3.Sync{}), // the Sync that ends the cut pipeline
		pgtest.Send(rfqI...),
		pgtest.ExpectFunc("the transaction's next statement begins the block", func(m pgproto3.FrontendMessage) error {
			if p, ok := m.(*pgproto3.Parse); !ok || p.Query != "BEGIN" {
				return errors.New("want a Parse of BEGIN")
			}
			return nil
		}),
		pgtest.ExpectFlight(flight([]pgproto3.FrontendMessage{&pgproto3.Bind{}, &pgproto3.Execute{}}, execMsgs, sync1)...),
		pgtest.Send(replies(execOK, []pgproto3.BackendMessage{pgtest.CommandComplete("BEGIN")},
			execOK, []pgproto3.BackendMessage{pgtest.CommandComplete("INSERT 0 1"), pgtest.ReadyForQuery('T')})...),
		pgtest.Expect(&pgproto3.Query{String: "ROLLBACK"}),
		pgtest.Send(pgtest.CommandComplete("ROLLBACK"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s)
	tx, err := conn.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var h *Result
	_ = RunPipeline(ctx, conn, func(p *Pipeline) error {
		h = p.Exec("INSERT INTO t VALUES (1)")
		cancel() // before anything was flushed
		return nil
	})
	if !errors.Is(h.Err(), context.Canceled) {
		t.Errorf("the dropped command: %v", h.Err())
	}
	if _, err := tx.ExecContext(context.Background(), "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	conn.Close()
}

// A Sync asked for after the pipeline was cut is not queued: nothing waits
// for a ReadyForQuery that would never come, and the connection is kept.
func TestPipelineSyncAfterTheCutKeepsTheConnection(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := script(t,
		pgtest.Expect(&pgproto3.Sync{}),
		pgtest.Send(rfqI...),
		pgtest.ExpectFlight(flightQuery...), queryReplies("1"),
		pgtest.ExpectTerminateOrClose(),
	)
	conn := scriptConn(t, s, "cancel_grace=1h") // only a hang would end it
	err := RunPipeline(ctx, conn, func(p *Pipeline) error {
		p.Exec("INSERT INTO t VALUES (1)")
		cancel()
		if err := p.Sync(); !errors.Is(err, context.Canceled) {
			t.Errorf("Sync after the cut: %v", err)
		}
		p.Block(func(p *Pipeline) error { return nil })
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("RunPipeline: %v", err)
	}
	mustQueryOne(t, conn)
	conn.Close()
}

// A pipeline whose context ends while its flush is blocked (the server
// reads nothing while it runs the first command) still gets its cancel to
// the server at once: the Sync that ends the pipeline waits for the flush,
// the cancel does not, and the connection is kept. The flush's write is
// held until the cancel connection wrote its CancelRequest (heldWrites),
// and the context ends once the write is held: a cancel that waited for
// the flush would never be written, and the grace period (a minute: only
// that hang uses it up) would close the connection.
func TestPipelineCancelGoesOutWhileAFlushIsBlocked(t *testing.T) {
	s, err := pgtest.StartWithOptions(pgtest.Options{StepTimeout: time.Minute},
		pgtest.Handshake(),
		pgtest.WaitForCancel(), // reads nothing until the cancel came
		pgtest.ExpectUntil(&pgproto3.Sync{}, 1<<22),
		pgtest.Send(&pgproto3.ParseComplete{}, &pgproto3.BindComplete{},
			pgtest.ErrorResponse("57014", "canceling statement due to user request"), pgtest.ReadyForQuery('I')),
		pgtest.ExpectFlight(flightQuery...), queryReplies("1"),
		pgtest.ExpectTerminateOrClose(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Wait(time.Minute); err != nil {
			t.Error(err)
		}
		s.Close()
	})
	h := newHeldWrites()
	conn := scriptConnWith(t, s, func(cfg *Config) { cfg.DialFunc = h.dial }, "cancel_grace=1m")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.hold()
	go func() {
		<-h.held // the pipeline's first flush is blocked in its write
		cancel()
	}()
	pad := strings.Repeat("x", 1000)
	err = RunPipeline(ctx, conn, func(p *Pipeline) error {
		p.Exec("SELECT pg_sleep(60)")
		for i := 0; i < 20000 && ctx.Err() == nil; i++ {
			p.Exec("SELECT '" + pad + "'")
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("RunPipeline: %v, want the context's error", err)
	}
	select {
	case <-h.held:
	default:
		t.Fatal("the pipeline never wrote: the test tested nothing")
	}
	mustQueryOne(t, conn)
	conn.Close()
}

// heldWrites dials the scripted server: the first connection is the
// client's, every later one a cancel connection. Once hold was called, the
// client's next write is held (held is closed) until a cancel connection
// wrote its CancelRequest, or until the client's deadline is set to the
// past (the cancel grace period ended): then it fails.
type heldWrites struct {
	mu      sync.Mutex
	conns   int
	holding bool
	held    chan struct{} // closed when a write is held
	// cancelWrote is closed by the first cancel connection's write,
	// expired when the client's deadline is set to the past.
	cancelWrote, expired  chan struct{}
	wroteOnce, expireOnce sync.Once
}

func newHeldWrites() *heldWrites {
	return &heldWrites{held: make(chan struct{}), cancelWrote: make(chan struct{}), expired: make(chan struct{})}
}

// hold holds the client's next write.
func (h *heldWrites) hold() {
	h.mu.Lock()
	h.holding = true
	h.mu.Unlock()
}

func (h *heldWrites) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns++
	if h.conns == 1 {
		return &heldConn{Conn: c, h: h}, nil
	}
	return &cancelWriteConn{Conn: c, h: h}, nil
}

type heldConn struct {
	net.Conn
	h *heldWrites
}

func (c *heldConn) Write(b []byte) (int, error) {
	c.h.mu.Lock()
	hold := c.h.holding
	c.h.holding = false
	c.h.mu.Unlock()
	if hold {
		close(c.h.held)
		select {
		case <-c.h.cancelWrote:
		case <-c.h.expired:
			return 0, os.ErrDeadlineExceeded
		}
	}
	return c.Conn.Write(b)
}

func (c *heldConn) SetDeadline(t time.Time) error {
	if !t.IsZero() && !t.After(time.Now()) {
		c.h.expireOnce.Do(func() { close(c.h.expired) })
	}
	return c.Conn.SetDeadline(t)
}

type cancelWriteConn struct {
	net.Conn
	h *heldWrites
}

func (c *cancelWriteConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.h.wroteOnce.Do(func() { close(c.h.cancelWrote) })
	return n, err
}
