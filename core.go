package pgpipe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/cache"
)

// core is the connection core: one network connection to the server, the
// ordered queue of commands written whose replies are still expected, and
// the state machine that matches every reply to its command. Running one
// query is queueing its messages and a Sync, flushing, and reading until
// ReadyForQuery; a pipeline is the same with more commands in the queue.
// core knows nothing of database/sql's types: the face (conn.go, stmt.go,
// rows.go, tx.go) and the extensions (pipeline_ext.go, batch.go,
// copy_ext.go, copy_rows.go, copy_stmt.go, listener.go) use its verbs.
//
// Where to look:
//
//   - A query's bytes are written by the outbox (outbox.go), which the
//     queue verbs tell what to write, pushing beside each command the
//     request that expects its replies: queueExec, queueBegin, queueSync
//     and queueSimple (exec.go), queueCloses and queueDescribeStmt
//     (prepare.go), copyIO for a COPY's data (copy.go). flush (core.go)
//     writes them to the socket; flushReading (bgreader.go) does so while
//     the background reader drains the replies.
//   - Replies are matched to commands by advance and its on* handlers
//     (queue.go): the request at the head of the queue takes each reply,
//     its result ends in the sync segment (segment.go); copyIO's onIn,
//     onOut and onData take the COPY replies, handleAsync (core.go) the
//     ones the server sends at any time. The verbs that run a command to
//     its end (exec, startQuery, startSimple, awaitSync, runRetrying's
//     retry of a lost statement) are in exec.go.
//   - The connection's state changes in named places: the transaction in
//     txState (txstate.go), moved by queueBegin and onReadyForQuery; the
//     server's prepared statements in stmtState (prepare.go), moved by
//     queueExec, queueCloses and onError's lostStatement; pipeline mode
//     and the cancel goroutine's Sync in pipeMode (pipemode.go); broken,
//     set once by fail (core.go). Who holds the connection between calls
//     is the face's (holder.go).
//
// A core is used by one goroutine at a time. The exceptions are the cancel
// goroutine started by ctxWatch (cancel.go), which reads the fields fixed
// at connect time (key), sets deadlines on netConn and, for a pipeline,
// writes the Sync that ends it (pipeMode.inject, under its writeMu); and
// the connection's background reader (bgreader.go), which reads the socket
// only while flushReading writes.
type core struct {
	cfg    *Config
	logger *slog.Logger

	// The wire. netConn is what the protocol runs over (the TLS conn when
	// TLS is on), rawConn the socket under it, for idle liveness checks
	// (peek). fe decodes from rd, which serves first what the background
	// reader stashed, and encodes into the send buffer out writes.
	netConn net.Conn
	rawConn net.Conn
	fe      *pgproto3.Frontend
	rd      stashReader
	peek    peeker // idle_unix.go
	// reader drains the socket while a pipeline or COPY flush writes;
	// nil until the first such flush (bgreader.go).
	reader *bgReader
	broken error // non-nil once the connection is unusable; sticky
	// interrupted is set on a multiplexed connection's core (mux.go): a
	// read that fails with a passed deadline reports errInterrupted when
	// it returns true, the owner having been woken to write.
	interrupted func() bool

	// Writing: the messages of the commands queued (outbox.go).
	out outbox

	// Matching replies (queue.go): the commands whose replies are
	// expected, in order, and where their replies land.
	q   queue
	seg segment // the sync segment being read (segment.go)
	// rowValues holds the DataRow values of the last evRow; valid until
	// the next receive.
	rowValues   [][]byte
	names       nameCache // column names, interned
	internalRes result    // the driver's own statements (ROLLBACK, probes, Prepare)
	beginRes    result    // a deferred BEGIN

	// Session state that outlives a command.
	txn           txState           // where the transaction stands (txstate.go)
	prep          stmtState         // the server's prepared statements (prepare.go)
	params        map[string]string // ParameterStatus values, copied
	env           decodeEnv         // what decoding values needs of the session
	notifications notifyRing        // received and not yet taken (notify.go)
	boundChannel  bool              // SCRAM authentication used channel binding
	lastUsed      time.Time         // when the last call ended, for the idle check

	// What a running command may enter.
	watch ctxWatch  // its context, and the cancel goroutine (cancel.go)
	key   cancelKey // fixed at connect time; the cancel goroutine reads it
	pipe  pipeMode  // pipeline mode, shared with the cancel goroutine (pipemode.go)
	copy  copyIO    // the COPY sub-protocol (copy.go)
}

// Notification is a NotificationResponse: a NOTIFY received on a channel
// this connection LISTENs to.
type Notification struct {
	PID     uint32 // the notifying backend's process ID
	Channel string
	Payload string
}

// stashReader is what pgproto3 reads from: bytes a background reader
// stashed while a pipeline was being written come first, then the socket
// (or the error the background reader met). It reads the socket readAhead
// bytes at a time and stashes what pgproto3 did not ask for: pgproto3
// asks for at most the free part of its 8 KiB buffer, and a large result
// would otherwise cost a system call per 8 KiB.
type stashReader struct {
	conn  net.Conn
	stash []byte
	err   error
	// ahead is the read-ahead buffer, allocated at the first small read;
	// stash may point into it, and it is filled only when stash is empty.
	ahead []byte
	// aheadErr is the error of a socket read whose bytes are stashed: it
	// comes once they are read.
	aheadErr error
	eof      bool // the socket reached its end: io.EOF is the server's hang-up
	guard    frameGuard
}

// readAhead is the size of a stashReader's socket reads.
const readAhead = 32 << 10

// buffered is the number of stashed bytes not yet read.
func (r *stashReader) buffered() int { return len(r.stash) }

func (r *stashReader) Read(p []byte) (int, error) {
	if r.guard.err != nil {
		return 0, r.guard.err
	}
	n, err := r.read(p)
	if ok := r.guard.scan(p[:n]); ok < n {
		return ok, nil // the error comes with the next Read
	}
	return n, err
}

func (r *stashReader) read(p []byte) (int, error) {
	if len(r.stash) > 0 {
		n := copy(p, r.stash)
		r.stash = r.stash[n:]
		if len(r.stash) == 0 {
			r.stash = nil
		}
		return n, nil
	}
	if err := r.aheadErr; err != nil {
		r.aheadErr = nil
		return 0, err
	}
	if r.err != nil {
		r.eof = r.eof || r.err == io.EOF
		return 0, r.err
	}
	if len(p) >= readAhead {
		n, err := r.conn.Read(p)
		r.eof = r.eof || err == io.EOF
		return n, err
	}
	if r.ahead == nil {
		r.ahead = make([]byte, readAhead)
	}
	n, err := r.conn.Read(r.ahead)
	r.eof = r.eof || err == io.EOF
	m := copy(p, r.ahead[:n])
	if m < n {
		r.stash, r.aheadErr = r.ahead[m:n:n], err
		return m, nil
	}
	return m, err
}

// frameGuard follows the message framing of what the server sends, to
// refuse a length no message of its type can have before pgproto3
// allocates a buffer for it and waits for it to fill: a lying server (or a
// corrupted stream) must not cost a gigabyte and a hang. As libpq does
// (fe-protocol3.c), only the message types that may be long are allowed
// more than maxShortMessage bytes.
type frameGuard struct {
	hdr  [5]byte
	hdrN int   // header bytes seen of the next message
	body int64 // body bytes of the current message still to come
	off  bool  // framing lost (a length below 4): pgproto3 fails anyway
	err  error
}

const maxShortMessage = 30000

// longMessage reports the types that may exceed maxShortMessage:
// DataRow, RowDescription, CopyData, ErrorResponse, NoticeResponse,
// NotificationResponse, FunctionCallResponse, ParameterDescription.
func longMessage(t byte) bool { return strings.IndexByte("DTdENAVt", t) >= 0 }

// scan checks the bytes about to be handed to pgproto3 and returns how
// many of them may be: all, unless a header in them lies, which sets err.
func (g *frameGuard) scan(b []byte) int {
	for i := 0; i < len(b) && !g.off; {
		if g.body > 0 {
			k := min(int64(len(b)-i), g.body)
			i += int(k)
			g.body -= k
			continue
		}
		var hdr []byte
		if g.hdrN == 0 && len(b)-i >= len(g.hdr) {
			hdr = b[i : i+len(g.hdr)] // the usual case: a whole header here
			i += len(g.hdr)
		} else {
			n := copy(g.hdr[g.hdrN:], b[i:])
			g.hdrN += n
			i += n
			if g.hdrN < len(g.hdr) {
				continue
			}
			g.hdrN = 0
			hdr = g.hdr[:]
		}
		length := int64(int32(binary.BigEndian.Uint32(hdr[1:])))
		switch {
		case length < 4:
			g.off = true
		case length > maxShortMessage && !longMessage(hdr[0]):
			g.err = fmt.Errorf("message of type %q claims %d bytes, more than such a message ever has", hdr[0], length)
			return max(i-len(g.hdr), 0)
		default:
			g.body = length - 4
		}
	}
	return len(b)
}

// newCore wraps an established, authenticated connection.
func newCore(cfg *Config, netConn, rawConn net.Conn) *core {
	c := &core{
		cfg:     cfg,
		netConn: netConn,
		rawConn: rawConn,
		params:  make(map[string]string),
		txn:     txState{status: 'I'},
		logger:  cfg.Logger,
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	c.rd.conn = netConn
	c.out.wr.conn = netConn
	c.fe = pgproto3.NewFrontend(&c.rd, &c.out.wr)
	c.out.fe = c.fe
	c.prep.stmts = cache.New[*stmtDesc](cfg.PrepareThreshold, cfg.PreparedMax)
	c.watch.c = c
	c.copy.c = c
	c.pipe.conn = netConn
	return c
}

// receive returns the next message that belongs to a command, handling the
// asynchronous ones (ParameterStatus, NoticeResponse, NotificationResponse)
// on the way. The message is valid until the next receive.
func (c *core) receive() (pgproto3.BackendMessage, error) {
	for {
		msg, err := c.fe.Receive()
		if err != nil {
			return nil, c.readFailed(err)
		}
		if !c.handleAsync(msg) {
			return msg, nil
		}
	}
}

// handleAsync handles a message the server may send at any time and
// reports whether msg was one.
func (c *core) handleAsync(msg pgproto3.BackendMessage) bool {
	switch m := msg.(type) {
	case *pgproto3.ParameterStatus:
		c.setParam(m.Name, m.Value)
	case *pgproto3.NoticeResponse:
		if r := c.q.front(); r != nil && r.quiet && m.Code == "25P01" {
			break // the pipeline's ROLLBACK after a transaction fence that committed
		}
		c.notice(m)
	case *pgproto3.NotificationResponse:
		c.keepNotification(Notification{
			PID: m.PID, Channel: strings.Clone(m.Channel), Payload: strings.Clone(m.Payload),
		})
	default:
		return false
	}
	return true
}

// setParam records a ParameterStatus. A new TimeZone changes how
// timestamptz values are returned.
func (c *core) setParam(name, value string) {
	if c.params[name] == value {
		return
	}
	c.params[name] = strings.Clone(value)
	switch name {
	case "TimeZone":
		c.env.loc = loadLocation(value)
	case "DateStyle":
		c.env.dateStyle = c.params[name]
	case "search_path":
		// PostgreSQL 18 reports search_path: statements prepared under the
		// old path may resolve to other objects now.
		c.prep.stmts.Reset()
	}
}

// notice hands a NoticeResponse to the configured handler.
func (c *core) notice(m *pgproto3.NoticeResponse) {
	if c.cfg.NoticeHandler == nil {
		return
	}
	n := Notice(*newError((*pgproto3.ErrorResponse)(m), ""))
	c.cfg.NoticeHandler(&n)
}

var locations sync.Map // TimeZone name -> *time.Location, or nil when unloadable

// loadLocation loads a session TimeZone, caching the answer.
func loadLocation(name string) *time.Location {
	if v, ok := locations.Load(name); ok {
		loc, _ := v.(*time.Location)
		return loc
	}
	var loc *time.Location
	switch strings.ToUpper(name) {
	case "UTC", "GMT", "ZULU", "UCT", "UNIVERSAL", "ETC/UTC", "ETC/UCT", "ETC/GMT", "Z":
		loc = time.UTC
	default:
		if l, err := time.LoadLocation(name); err == nil {
			loc = l
		}
	}
	locations.Store(name, loc)
	return loc
}

// flush writes everything queued. A write error breaks the connection; when
// not a byte of it reached the socket, the error also wraps
// driver.ErrBadConn so database/sql may retry on another connection
// (nothing of the statement can have run).
func (c *core) flush() error {
	c.watch.settle()
	if c.broken != nil {
		return c.broken // nothing to write on, nothing to retry
	}
	c.out.unflushed = 0
	if c.pipe.active() {
		c.pipe.writeMu.Lock()
		defer c.pipe.writeMu.Unlock()
		if c.pipe.cut() {
			// The cancel goroutine ended the pipeline with a Sync: what is
			// still buffered must never run. accountInjectedSync ends it.
			c.out.drop()
			return nil
		}
	}
	err := c.fe.Flush()
	if err == nil {
		c.q.unsent = 0
		c.out.wrote = true
		return nil
	}
	var retry interface{ SafeToRetry() bool }
	safe := errors.As(err, &retry) && retry.SafeToRetry() && !c.out.wrote
	if cerr := c.watch.err(); cerr != nil {
		safe = false
		err = cerr
	}
	c.fail(&ConnError{Op: "writing to the server", Err: err})
	if safe {
		return &badConnError{err: c.broken}
	}
	return c.broken
}

// readFailed turns a read error into the connection's final error.
func (c *core) readFailed(err error) error {
	if c.broken != nil {
		return c.broken
	}
	if c.interrupted != nil && errors.Is(err, os.ErrDeadlineExceeded) && c.interrupted() {
		return errInterrupted
	}
	if cerr := c.watch.err(); cerr != nil {
		err = cerr
	} else if (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) && c.rd.eof {
		err = errors.New("the server closed the connection")
	} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		// pgproto3 decoding a message whose fields run past its end.
		err = errProtocol("a message's fields run past its end")
	} else if errors.Is(err, os.ErrDeadlineExceeded) {
		err = errors.New("read timed out")
	} else if !isNetErr(err) {
		err = errProtocol(err.Error())
	}
	c.fail(&ConnError{Op: "reading from the server", Err: err})
	return c.broken
}

func isNetErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, net.ErrClosed)
}

// violation breaks the connection because the server sent something the
// protocol does not allow here.
func (c *core) violation(what string) error {
	c.fail(&ConnError{Op: "reading results", Err: errProtocol(what)})
	return c.broken
}

// fail marks the connection broken for good, closes it, and fails every
// command still waiting for replies.
func (c *core) fail(err error) {
	if c.broken != nil {
		return
	}
	c.broken = err
	_ = c.netConn.Close()
	c.q.failAll(err, resultDone)
}

// close sends Terminate (best effort) and closes the socket.
func (c *core) close() error {
	if c.broken == nil {
		c.fe.Send(&pgproto3.Terminate{})
		_ = c.netConn.SetWriteDeadline(time.Now().Add(time.Second))
		_ = c.fe.Flush()
		c.broken = errConnClosed
	}
	c.reader.stop()
	c.reader = nil
	return c.netConn.Close()
}

var errConnClosed = errors.New("pgpipe: connection closed")

// badConnError wraps a write failure that sent nothing: errors.Is finds
// driver.ErrBadConn and the cause.
type badConnError struct{ err error }

func (e *badConnError) Error() string { return e.err.Error() }
func (e *badConnError) Unwrap() []error {
	return []error{e.err, errBadConn}
}

// log writes one of the driver's own log lines.
func (c *core) log(level slog.Level, msg string, args ...any) {
	c.logger.Log(context.Background(), level, "pgpipe: "+msg, args...)
}
