package pgpipe

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/pgpipe/pgpipe/internal/cache"
)

// reqKind is what a queued command is, and so which replies it expects.
type reqKind uint8

const (
	// reqExec: [Parse] Bind [Describe portal] Execute. Replies:
	// [ParseComplete] BindComplete [RowDescription|NoData]
	// DataRow* CommandComplete|EmptyQueryResponse|PortalSuspended.
	reqExec reqKind = iota
	// reqPrepare: Parse + Describe statement (an explicit Prepare).
	// Replies: ParseComplete ParameterDescription RowDescription|NoData.
	reqPrepare
	// reqClose: Close statement. Reply: CloseComplete.
	reqClose
	// reqSync: Sync. Reply: ReadyForQuery.
	reqSync
	// reqSimple: a simple Query, its own sync point. Replies: per statement
	// [RowDescription DataRow*] CommandComplete|EmptyQueryResponse, or an
	// ErrorResponse that ends it; then ReadyForQuery.
	reqSimple
	// The data of a COPY FROM STDIN is no request: it is sent after the
	// COPY's own request got CopyInResponse (copy_ext.go), and has no
	// reply of its own.
)

// stage is how far a request's replies have come.
type stage uint8

const (
	stParse     stage = iota // waiting for ParseComplete
	stBind                   // waiting for BindComplete
	stDescribe               // waiting for RowDescription or NoData
	stParamDesc              // waiting for ParameterDescription
	stRows                   // reading DataRows until the command completes
)

// request is one command in the queue.
type request struct {
	kind      reqKind
	stage     stage
	described bool // a Describe portal was sent
	// describesStmt: a Describe statement follows the request's Parse
	// (an automatic preparation): ParameterDescription and RowDescription
	// or NoData come before BindComplete.
	describesStmt bool
	res           *result
	// entry is the named statement this request prepares or binds; nil
	// for unnamed statements.
	entry    *cache.Entry[*stmtDesc]
	prepares bool // the request's Parse creates entry
	explicit bool // the request binds an explicitly prepared statement
	// shaped: an unnamed execution whose result formats came from the
	// columns an earlier execution of the same text reported (prepare.go).
	shaped bool
	// quiet drops the "no transaction in progress" warning of the
	// pipeline's own ROLLBACK.
	quiet bool
	// closeName is the statement a reqClose closes: queued again when
	// an earlier error makes the server skip the Close.
	closeName string
}

// event is what advance saw.
type event uint8

const (
	evNone      event = iota // a message was consumed; nothing for the caller
	evRow                    // a DataRow for the sink; its values are in c.rowValues
	evDescribed              // the head result learned its columns (or that it has none)
	evResult                 // a result (or one result set of a simple query) ended
	evSync                   // a ReadyForQuery ended a sync point
	evCopyIn                 // the server waits for COPY data (CopyInResponse)
	evCopyOut                // the server starts sending COPY data (CopyOutResponse)
	evCopyData               // a CopyData for the COPY's reader; its data is in c.copy.data
)

// resState is where a result stands.
type resState uint8

const (
	resPending   resState = iota // nothing heard yet
	resDescribed                 // columns known; rows may follow
	resDone                      // completed, failed or skipped
)

// result is where a command's replies land: its columns, its rows (when
// nobody reads them from the wire, they are buffered), its command tag and
// its error.
type result struct {
	sql   string
	state resState
	err   error
	cols  []column
	// colBuf is reused for cols across the queries of a reused result.
	colBuf []column

	rowsAffected int64
	tag          [40]byte // the CommandComplete tag, truncated
	tagLen       uint8

	// buf holds rows read while another result was being consumed.
	buf rowBuffer
	// discard drops rows instead of buffering them (a closed Rows).
	discard bool
	// delivered is set once a row reached the caller: then a failure
	// cannot be retried transparently.
	delivered bool
	// rowReady is set when Query read the first row ahead: its values,
	// in the core's rowValues, wait for Next.
	rowReady bool
	// setDone marks, for a simple query, that the current result set
	// ended; another may follow before ReadyForQuery.
	setDone bool
	// copyIn/copyOut are set when the command started a COPY;
	// copyWanted when the caller feeds or reads its data (copy_ext.go),
	// copyBinary when the server expects binary COPY data.
	copyIn, copyOut, copyWanted, copyBinary bool
	// params is the number of parameters of an explicitly prepared
	// statement; paramOIDs their types, from a Describe statement.
	params    int
	paramOIDs []uint32
	// retry marks a failure where the server lost a named statement before
	// running anything (prepare.go).
	retry bool
	// owner is told when the result ends (a pipeline's handle); nil for
	// the results of database/sql calls.
	owner resultOwner
	// named is set when the statement ran as a named prepared statement.
	named bool
	// synced is set once the ReadyForQuery of the result's sync segment
	// arrived: its outcome is final, a commit at the sync point included.
	synced bool
	// late is set when an error at the sync point (a commit that failed)
	// replaced a success the result had already reported.
	late bool
}

// reset readies a reused result for a new command.
func (r *result) reset(sql string) {
	buf := r.colBuf
	rb := r.buf
	rb.reset()
	*r = result{sql: sql, colBuf: buf[:0], buf: rb, owner: r.owner}
}

// commandTag returns the CommandComplete tag, e.g. "INSERT 0 1".
func (r *result) commandTag() string { return string(r.tag[:r.tagLen]) }

// queue is a FIFO of requests, a ring buffer reused for the connection's
// life.
type queue struct {
	buf  []request
	head int
	n    int
	// unsent counts the requests at the back whose messages are still in
	// the send buffer; a successful flush zeroes it.
	unsent int
}

func (q *queue) push(r request) {
	if q.n == len(q.buf) {
		grown := make([]request, max(8, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = r
	q.n++
	q.unsent++
}

func (q *queue) front() *request {
	if q.n == 0 {
		return nil
	}
	return &q.buf[q.head]
}

// back returns the request pushed last.
func (q *queue) back() *request {
	if q.n == 0 {
		return nil
	}
	return &q.buf[(q.head+q.n-1)%len(q.buf)]
}

func (q *queue) pop() {
	q.buf[q.head] = request{}
	q.head = (q.head + 1) % len(q.buf)
	q.n--
}

func (q *queue) len() int { return q.n }

// failAll ends every request with err (the connection broke).
func (q *queue) failAll(err error, done func(*result)) {
	for q.n > 0 {
		if r := q.front(); r.res != nil && r.res.state != resDone {
			r.res.err = err
			r.res.state = resDone
			if done != nil {
				done(r.res)
			}
		}
		q.pop()
	}
	q.unsent = 0
}

// unsentHolds reports whether one of the requests not yet sent lands in
// res.
func (q *queue) unsentHolds(res *result) bool {
	for i := q.n - q.unsent; i < q.n; i++ {
		if q.buf[(q.head+i)%len(q.buf)].res == res {
			return true
		}
	}
	return false
}

// truncate drops the requests after the first n (commands that were
// never sent), ending their results with err.
func (q *queue) truncate(n int, err error, done func(*result)) {
	for q.n > n {
		i := (q.head + q.n - 1) % len(q.buf)
		if r := &q.buf[i]; r.res != nil && r.res.state != resDone {
			r.res.err = err
			r.res.state = resDone
			if done != nil {
				done(r.res)
			}
		}
		q.buf[i] = request{}
		q.n--
	}
	q.unsent = min(q.unsent, q.n)
}

// advance reads one message and applies it to the request at the head of
// the queue. A DataRow for sink is left in c.rowValues (pgproto3's
// buffer) for the caller to decode before the next receive (evRow);
// DataRows of other results are buffered, or dropped when their result
// discards. The error is the connection's: a command's own failure lands
// in its result.
func (c *core) advance(sink *result) (event, error) {
	if c.broken != nil {
		return evNone, c.broken
	}
	if c.pipe.unmatched() {
		c.accountInjectedSync()
	}
	msg, err := c.receive()
	if err != nil {
		return evNone, err
	}
	r := c.q.front()
	if r == nil {
		return evNone, c.violation("unexpected " + msgName(msg) + " with no command waiting for it")
	}
	switch m := msg.(type) {
	case *pgproto3.DataRow:
		return c.onDataRow(r, m, sink)
	case *pgproto3.CommandComplete:
		return c.onCommandComplete(r, m)
	case *pgproto3.BindComplete:
		return c.expect(r, reqExec, stBind, msg, r.afterBind())
	case *pgproto3.ParseComplete:
		return c.onParseComplete(r, msg)
	case *pgproto3.RowDescription:
		return c.onRowDescription(r, m)
	case *pgproto3.NoData:
		return c.onNoData(r, msg)
	case *pgproto3.ParameterDescription:
		return c.onParameterDescription(r, m)
	case *pgproto3.CloseComplete:
		return c.onCloseComplete(r, msg)
	case *pgproto3.EmptyQueryResponse:
		return c.onEmptyQuery(r, msg)
	case *pgproto3.PortalSuspended:
		return c.onPortalSuspended(r, msg)
	case *pgproto3.ErrorResponse:
		return c.onError(r, m)
	case *pgproto3.ReadyForQuery:
		return c.onReadyForQuery(r, m)
	case *pgproto3.CopyInResponse:
		return c.copy.onIn(r, msg)
	case *pgproto3.CopyOutResponse:
		return c.copy.onOut(r, msg)
	case *pgproto3.CopyData, *pgproto3.CopyDone:
		return c.copy.onData(r, msg)
	default:
		return evNone, c.violation("unexpected " + msgName(msg))
	}
}

// expect checks that r is of kind k at stage st before applying a reply;
// next is the stage after it.
func (c *core) expect(r *request, k reqKind, st stage, msg pgproto3.BackendMessage, next stage) (event, error) {
	if r.kind != k || r.stage != st {
		return evNone, c.unexpected(r, msg)
	}
	r.stage = next
	if next == stRows && r.res != nil && r.res.state == resPending && r.res.cols != nil {
		// A named statement's columns were known before Bind: described.
		r.res.state = resDescribed
		return evDescribed, nil
	}
	return evNone, nil
}

// afterBind is the stage after BindComplete.
func (r *request) afterBind() stage {
	if r.described {
		return stDescribe
	}
	return stRows
}

func (c *core) unexpected(r *request, msg pgproto3.BackendMessage) error {
	return c.violation("unexpected " + msgName(msg) + " while waiting for " + r.waitingFor())
}

// waitingFor names the reply r expects next, for protocol errors.
func (r *request) waitingFor() string {
	switch r.kind {
	case reqSync:
		return "ReadyForQuery"
	case reqClose:
		return "CloseComplete"
	case reqSimple:
		return "the results of a simple query"
	}
	switch r.stage {
	case stParse:
		return "ParseComplete"
	case stBind:
		return "BindComplete"
	case stDescribe:
		return "RowDescription or NoData"
	case stParamDesc:
		return "ParameterDescription"
	}
	return "DataRow or CommandComplete"
}

func (c *core) onParseComplete(r *request, msg pgproto3.BackendMessage) (event, error) {
	if r.kind == reqPrepare {
		return c.expect(r, reqPrepare, stParse, msg, stParamDesc)
	}
	if r.prepares {
		r.entry.Ready = true // the statement exists now, whatever Bind says
	}
	if r.describesStmt {
		return c.expect(r, reqExec, stParse, msg, stParamDesc)
	}
	return c.expect(r, reqExec, stParse, msg, stBind)
}

func (c *core) onParameterDescription(r *request, m *pgproto3.ParameterDescription) (event, error) {
	if (r.kind != reqPrepare && !r.describesStmt) || r.stage != stParamDesc {
		return evNone, c.unexpected(r, m)
	}
	r.res.params = len(m.ParameterOIDs)
	r.res.paramOIDs = append([]uint32(nil), m.ParameterOIDs...) // kept by the statement's description
	r.stage = stDescribe
	return evNone, nil
}

func (c *core) onRowDescription(r *request, m *pgproto3.RowDescription) (event, error) {
	switch {
	case r.kind == reqSimple:
		if r.res.state == resDescribed && !r.res.setDone {
			return evNone, c.unexpected(r, m)
		}
		r.res.setDone = false
	case (r.kind == reqExec || r.kind == reqPrepare) && r.stage == stDescribe:
	default:
		return evNone, c.unexpected(r, m)
	}
	r.res.cols = c.describeColumns(r.res.colBuf[:0], m.Fields)
	r.res.colBuf = r.res.cols
	return c.described(r)
}

func (c *core) onNoData(r *request, msg pgproto3.BackendMessage) (event, error) {
	if (r.kind != reqExec && r.kind != reqPrepare) || r.stage != stDescribe {
		return evNone, c.unexpected(r, msg)
	}
	r.res.cols = nil
	return c.described(r)
}

// described finishes a Describe: an explicit Prepare is complete; an
// execution moves on to its rows.
func (c *core) described(r *request) (event, error) {
	if r.kind == reqPrepare {
		r.res.state = resDone
		c.q.pop()
		return evResult, nil
	}
	if r.kind == reqExec {
		c.prep.confirmDescribed(r, c.env.loc == nil)
		if r.describesStmt {
			// The statement's description came before Bind: the result is
			// described once BindComplete arrives (see expect).
			r.stage = stBind
			return evNone, nil
		}
		r.stage = stRows
	}
	r.res.state = resDescribed
	return evDescribed, nil
}

func (c *core) onDataRow(r *request, m *pgproto3.DataRow, sink *result) (event, error) {
	res := r.res
	switch {
	case r.kind == reqExec && r.stage == stRows:
	case r.kind == reqSimple && res.state == resDescribed && !res.setDone:
	default:
		return evNone, c.unexpected(r, m)
	}
	if res.cols != nil && len(m.Values) != len(res.cols) {
		return evNone, c.violation("DataRow has " + itoa(len(m.Values)) + " values for " + itoa(len(res.cols)) + " columns")
	}
	switch {
	case res == sink:
		c.rowValues = m.Values
		return evRow, nil
	case res.discard:
	default:
		res.buf.add(m.Values)
	}
	return evNone, nil
}

func (c *core) onCommandComplete(r *request, m *pgproto3.CommandComplete) (event, error) {
	if (r.kind != reqExec || r.stage != stRows) && r.kind != reqSimple {
		return evNone, c.unexpected(r, m)
	}
	res := r.res
	res.tagLen = uint8(copy(res.tag[:], m.CommandTag))
	res.rowsAffected = rowsAffected(m.CommandTag)
	if r.kind == reqSimple {
		res.setDone = true
		if res.state == resPending {
			res.state = resDescribed
		}
		return evResult, nil
	}
	return c.complete(r)
}

// complete ends the head request's result successfully and pops it. The
// result stays the segment's last until ReadyForQuery: an error the server
// reports at Sync (a deferred constraint, a failed implicit COMMIT) is
// that result's.
func (c *core) complete(r *request) (event, error) {
	res := r.res // r is the queue's slot: pop clears it
	res.state = resDone
	if endsBlock(res.tag[:res.tagLen]) {
		// A transaction block ended inside the segment: those outcomes
		// are final now.
		c.seg.settle()
		res.synced = true
	} else {
		c.seg.add(res)
	}
	c.q.pop()
	resultDone(res)
	return evResult, nil
}

// endsBlock reports a command tag that ends a transaction block (COMMIT,
// END, ROLLBACK, ABORT, PREPARE TRANSACTION).
func endsBlock(tag []byte) bool {
	return string(tag) == "COMMIT" || string(tag) == "ROLLBACK" || string(tag) == "PREPARE TRANSACTION"
}

// resultOwner is told when a result ends, or gets a later error (a
// commit that failed at its sync point), so that an extension can report
// errors nobody looked at.
type resultOwner interface{ resultEnded(res *result) }

// resultDone tells res's owner, if any, that res ended.
func resultDone(res *result) {
	if res.owner != nil {
		res.owner.resultEnded(res)
	}
}

func (c *core) onEmptyQuery(r *request, msg pgproto3.BackendMessage) (event, error) {
	if r.kind == reqSimple {
		r.res.setDone = true
		return evResult, nil
	}
	if r.kind != reqExec || r.stage != stRows {
		return evNone, c.unexpected(r, msg)
	}
	return c.complete(r)
}

// onPortalSuspended ends an Execute with a row limit. The driver never sets
// one, so this only completes the result.
func (c *core) onPortalSuspended(r *request, msg pgproto3.BackendMessage) (event, error) {
	if r.kind != reqExec || r.stage != stRows {
		return evNone, c.unexpected(r, msg)
	}
	return c.complete(r)
}

func (c *core) onCloseComplete(r *request, msg pgproto3.BackendMessage) (event, error) {
	if r.kind != reqClose {
		return evNone, c.unexpected(r, msg)
	}
	c.q.pop()
	return evNone, nil
}

// onError lands an ErrorResponse in the head command. In the extended
// protocol the server then skips every command up to the next Sync: those
// are ended here, each with an *AbortedError naming this one.
func (c *core) onError(r *request, m *pgproto3.ErrorResponse) (event, error) {
	if what := incomplete(m); what != "" {
		return evNone, c.violation("ErrorResponse without " + what)
	}
	pgErr := newError(m, resultSQL(r))
	if pgErr.fatal() {
		c.fail(&ConnError{Op: c.q.fatalOp(r), Err: pgErr})
		return evNone, pgErr
	}
	if r.kind == reqSync {
		c.seg.commitFailed(pgErr)
		return evNone, nil
	}
	err := c.watch.wrap(pgErr)
	c.seg.failed(err)
	if r.res != nil {
		r.res.err = err
		if r.kind == reqSimple {
			r.res.setDone = true
			return evResult, nil
		}
		r.res.state = resDone
		c.seg.add(r.res)
		resultDone(r.res)
	}
	c.lostStatement(r, pgErr)
	c.seg.aborting = &abortCause{query: resultSQL(r), err: err}
	c.q.pop() // clears *r
	c.skipToSync()
	return evResult, nil
}

// skipToSync ends the commands the server skips after an error.
func (c *core) skipToSync() {
	for {
		r := c.q.front()
		if r == nil || r.kind == reqSync || r.kind == reqSimple {
			return
		}
		if r.res != nil && r.res.state != resDone {
			r.res.err = &AbortedError{Query: c.seg.aborting.query, Cause: c.seg.aborting.err}
			r.res.state = resDone
			c.seg.add(r.res)
			resultDone(r.res)
		}
		if r.prepares {
			c.prep.stmts.Drop(r.entry, false)
		}
		if r.kind == reqClose {
			c.prep.stmts.CloseLater(r.closeName) // skipped: close it with the next command
		}
		c.q.pop()
	}
}

func (c *core) onReadyForQuery(r *request, m *pgproto3.ReadyForQuery) (event, error) {
	if r.kind != reqSync && r.kind != reqSimple {
		return evNone, c.unexpected(r, m)
	}
	if !validTxStatus(m.TxStatus) {
		return evNone, c.violation("ReadyForQuery with transaction status " + strconv.QuoteRune(rune(m.TxStatus)))
	}
	c.txn.ready(m.TxStatus, c.seg.err)
	if r.kind == reqSimple && r.res != nil {
		r.res.state = resDone
		r.res.synced = true
		resultDone(r.res)
	}
	c.seg.end()
	c.q.pop()
	return evSync, nil
}

// validTxStatus reports a ReadyForQuery status the protocol defines: idle,
// in a transaction block, in a failed one.
func validTxStatus(s byte) bool { return s == 'I' || s == 'T' || s == 'E' }

// incomplete names the fields an ErrorResponse must have and lacks
// (PostgreSQL protocol: severity, SQLSTATE and message are always
// present); "" when none is missing.
func incomplete(m *pgproto3.ErrorResponse) string {
	var missing []string
	if m.Severity == "" && m.SeverityUnlocalized == "" {
		missing = append(missing, "severity")
	}
	if m.Code == "" {
		missing = append(missing, "SQLSTATE")
	}
	if m.Message == "" {
		missing = append(missing, "message")
	}
	return strings.Join(missing, ", ")
}

// fatalOp says, for the ConnError of a FATAL error that landed on r, what
// the caller was running: r's statement, or, when r is a message of the
// driver's own sent in front of the caller's (a Close the statement cache
// asked for, the Sync fencing it), the first statement queued after it. A
// session the server ended while it sat idle (idle_in_transaction_session_timeout,
// pg_terminate_backend) reports its FATAL to the next command sent, which
// is then the one named.
func (q *queue) fatalOp(r *request) string {
	if sql := resultSQL(r); sql != "" {
		return "running " + shortSQL(sql)
	}
	for i := range q.n {
		if sql := resultSQL(&q.buf[(q.head+i)%len(q.buf)]); sql != "" {
			return "running " + shortSQL(sql)
		}
	}
	if r.kind == reqSimple {
		return "running an empty query (as Ping does)"
	}
	return "waiting for the server"
}

// resultSQL is the statement text a request ran.
func resultSQL(r *request) string {
	if r.res != nil {
		return r.res.sql
	}
	return ""
}

// rowsAffected parses the count at the end of a command tag ("INSERT 0 5",
// "UPDATE 3", "SELECT 10", "COPY 7"); 0 when the tag has none.
func rowsAffected(tag []byte) int64 {
	i := bytes.LastIndexByte(tag, ' ')
	if i < 0 {
		return 0
	}
	n, err := strconv.ParseInt(string(tag[i+1:]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// msgName names a backend message for errors.
func msgName(msg pgproto3.BackendMessage) string {
	switch msg.(type) {
	case *pgproto3.DataRow:
		return "DataRow"
	case *pgproto3.CommandComplete:
		return "CommandComplete"
	case *pgproto3.BindComplete:
		return "BindComplete"
	case *pgproto3.ParseComplete:
		return "ParseComplete"
	case *pgproto3.RowDescription:
		return "RowDescription"
	case *pgproto3.NoData:
		return "NoData"
	case *pgproto3.ParameterDescription:
		return "ParameterDescription"
	case *pgproto3.CloseComplete:
		return "CloseComplete"
	case *pgproto3.EmptyQueryResponse:
		return "EmptyQueryResponse"
	case *pgproto3.PortalSuspended:
		return "PortalSuspended"
	case *pgproto3.ErrorResponse:
		return "ErrorResponse"
	case *pgproto3.ReadyForQuery:
		return "ReadyForQuery"
	case *pgproto3.CopyInResponse:
		return "CopyInResponse"
	case *pgproto3.CopyOutResponse:
		return "CopyOutResponse"
	case *pgproto3.CopyData:
		return "CopyData"
	case *pgproto3.CopyDone:
		return "CopyDone"
	case *pgproto3.AuthenticationOk:
		return "AuthenticationOk"
	case *pgproto3.BackendKeyData:
		return "BackendKeyData"
	}
	return "a message of an unknown kind"
}
