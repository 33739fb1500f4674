package pgpipe

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/pgpipe/pgpipe/internal/cache"
	"github.com/pgpipe/pgpipe/internal/codec"
	"github.com/pgpipe/pgpipe/internal/sqltext"
)

// execOpts says how to queue one execution.
type execOpts struct {
	force    cache.Force
	describe bool        // the caller wants the result's columns (a query)
	stmt     *serverStmt // an explicitly prepared statement, or nil
	// quiet drops the server's "no transaction in progress" warning (a
	// pipeline's own ROLLBACK after a transaction fence).
	quiet bool
	// parsed: the unnamed statement already holds the query, parsed by
	// learnParams in this flight; an unnamed execution binds it.
	parsed bool
}

// queueExec writes the messages of one execution of res.sql into the send
// buffer, in front of them any Close the cache asked for and a pending
// BEGIN, and queues the requests that expect their replies. Arguments are
// encoded first, so a bad value fails before anything is queued. It does
// not flush.
func (c *core) queueExec(res *result, args []driver.NamedValue, o execOpts) error {
	// The parameter types of the statement this execution will most
	// likely bind, when known (described or learned): arguments of a
	// fitting Go type go in binary. Looked up without counting an
	// execution.
	explicit := o.stmt != nil && o.stmt.usable(c)
	oids, known := c.prep.paramTypes(res.sql, o.stmt)
	if err := checkArgCount(len(args), oids, known); err != nil {
		return err
	}
	if err := c.out.encodeArgs(args, oids); err != nil {
		return err
	}

	// Decided before queueBegin sends a deferred BEGIN (which clears
	// the deferred state): the transaction's first statement counts as
	// inside it.
	req := request{kind: reqExec, res: res, stage: stBind, quiet: o.quiet}
	if eff := sqltext.Classify(res.sql, false).Effect; eff != sqltext.EffectNone {
		// A statement that drops statements is never prepared itself, and
		// the cache forgets what it drops before anything after it is
		// queued.
		c.prep.applyEffect(eff)
		o.force = cache.Never
	}
	name, desc := c.planExec(&req, res.sql, explicit, o)
	res.named = name != ""
	c.queueCloses()
	c.queueBegin()
	if (name == "" && !o.parsed) || req.prepares {
		c.sendExecParse(&req, name, res.sql, oids)
	}
	c.sendExecBind(&req, name, desc, o)
	c.q.push(req)
	return nil
}

// planExec decides which statement an execution binds: the explicitly
// prepared one, a named one of the cache (used, or prepared now), or the
// unnamed statement ("").
func (c *core) planExec(req *request, sql string, explicit bool, o execOpts) (name string, desc *stmtDesc) {
	if explicit {
		req.explicit = true
		return o.stmt.name, o.stmt.desc
	}
	if o.stmt != nil {
		return "", nil // an explicit statement that cannot be bound: unnamed
	}
	switch plan, e := c.prep.plan(sql, o.force, c.txn.inBlock() || c.pipe.active()); plan {
	case cache.UseNamed:
		req.entry = e
		return e.Name, e.Data
	case cache.PrepareNamed:
		req.entry, req.prepares = e, true
		return e.Name, nil
	}
	return "", nil
}

// sendExecParse writes the Parse of an execution, and the Describe of the
// statement when it prepares one. A statement parsed here must give binary
// arguments the types they were encoded for (those of the same text's
// named statement); text arguments leave the types to the server.
func (c *core) sendExecParse(req *request, name, sql string, oids []uint32) {
	var parseOIDs []uint32
	if len(c.out.argFormats) > 0 {
		parseOIDs = oids
	}
	c.out.parse(name, sql, parseOIDs)
	c.out.queued(len(name) + len(sql) + 4*len(parseOIDs))
	req.stage = stParse
	if req.prepares {
		// Describe the statement, not the portal: the reply tells the
		// parameter types as well as the columns.
		c.out.describe('S', name)
		c.out.queued(len(name))
		req.describesStmt = true
	}
}

// sendExecBind writes Bind (asking for binary results where the columns
// are known), a Describe of the portal when the columns are not, and
// Execute. The arguments are those encodeArgs encoded.
func (c *core) sendExecBind(req *request, name string, desc *stmtDesc, o execOpts) {
	res := req.res
	var results []int16
	if desc != nil && desc.tzText == (c.env.loc == nil) {
		results = desc.formats
		res.cols = desc.cols
	} else if !req.describesStmt {
		req.described = o.describe || req.entry != nil
		if name == "" && o.stmt == nil && o.describe {
			results, req.shaped = c.prep.shapeFormats(res.sql, c.env.loc == nil)
		}
	}
	c.out.bindArgs(name, results)
	if req.described {
		c.out.describe('P', "")
	}
	c.out.execute()
}

// hasUnsent reports whether commands or bytes are queued and not yet
// written.
func (c *core) hasUnsent() bool { return c.q.unsent > 0 || c.out.unflushed > 0 }

// inFlight is the number of commands whose replies are still expected.
func (c *core) inFlight() int { return c.q.len() }

// maxArgs is the most arguments one statement can take: Bind and Parse
// count them in 16 bits, and PostgreSQL allows no more (PQ_QUERY_PARAM_MAX_LIMIT).
const maxArgs = 65535

// checkArgCount refuses, before anything is written, a number of
// arguments no Bind can carry, and one that differs from the statement's
// parameter count where the driver knows it (known: the types come from a
// Describe of the statement, so they are the whole list; see paramTypes).
// Otherwise the server says it, as a protocol violation (08P01).
func checkArgCount(n int, params []uint32, known bool) error {
	if n > maxArgs {
		return fmt.Errorf("pgpipe: %d arguments, but a statement takes at most %d (the protocol's limit); nothing was sent", n, maxArgs)
	}
	if known && n != len(params) {
		return fmt.Errorf("pgpipe: the statement has %d parameters, but %d arguments were given; nothing was sent", len(params), n)
	}
	return nil
}

// queueSync writes a Sync: the end of a unit of work, after which the
// server sends ReadyForQuery.
func (c *core) queueSync() {
	c.out.sync()
	c.q.push(request{kind: reqSync})
}

// queueBegin writes a BEGIN that BeginTx deferred, in the same flight as
// the transaction's first command. The extended protocol runs everything
// up to the next Sync in order, and an error skips the rest, so a failed
// BEGIN can never let that command run outside the transaction.
func (c *core) queueBegin() {
	begin := c.txn.takeBegin()
	if begin == "" {
		return
	}
	c.beginRes.reset(begin)
	c.beginRes.discard = true
	c.out.parse("", begin, nil)
	c.out.bindNoArgs()
	c.out.execute()
	c.out.queued(len(begin) + 30)
	c.q.push(request{kind: reqExec, res: &c.beginRes, stage: stParse})
}

// encodeArg encodes one argument for a parameter of type oid (0: not
// known): a value whose meaning depends on the type as that type wants it
// (codec.AppendTypedParam), one whose Go type matches the type in binary, any
// other as codec.AppendArg does.
func encodeArg(buf []byte, v any, oid uint32) (out []byte, format int16, null bool, err error) {
	if out, format, ok, err := codec.AppendTypedParam(buf, v, oid); ok {
		return out, format, false, err
	}
	if oid != 0 {
		if out, ok := codec.AppendBinaryParam(buf, v, oid); ok {
			return out, codec.FormatBinary, false, nil
		}
	}
	return codec.AppendArg(buf, v)
}

// spanValue returns the value s locates in buf: nil for NULL, and never nil
// otherwise. An empty value sliced from a still-nil buf is nil too, and
// pgproto3 writes a nil value as NULL: an empty string or []byte{} would
// become NULL.
func spanValue(buf []byte, s span) []byte {
	if s.end < 0 {
		return nil
	}
	if s.start == s.end {
		return emptyValue
	}
	return buf[s.start:s.end:s.end]
}

// emptyValue is a non-NULL value of no bytes; its capacity of zero keeps
// anyone from appending into it.
var emptyValue = make([]byte, 0)

// span locates one encoded argument in argBuf; end -1 is NULL.
type span struct{ start, end int }

// ArgError reports an argument the driver cannot send. Nothing was sent.
type ArgError struct {
	Position int // 1-based, as in $1
	Err      error
}

func (e *ArgError) Error() string {
	return "pgpipe: argument $" + itoa(e.Position) + ": " + strings.TrimPrefix(e.Err.Error(), "pgpipe: ")
}

// Unwrap returns the encoding error.
func (e *ArgError) Unwrap() error { return e.Err }

// startQuery runs a query up to its first row, or to its end when it has
// none; Rows reads the rest. A statement the server lost before
// running anything is retried once, transparently (prepare.go).
func (c *core) startQuery(res *result, args []driver.NamedValue, o execOpts) error {
	o.describe = true
	return c.runRetrying(res, args, o, c.awaitFirstRow)
}

// exec runs one statement to its ReadyForQuery.
func (c *core) exec(res *result, args []driver.NamedValue, o execOpts) error {
	res.discard = true
	return c.runRetrying(res, args, o, func(*result) error { return c.awaitSync() })
}

// runRetrying queues, flushes and awaits one execution, and retries it once
// when the server lost the named statement and nothing ran: outside a
// transaction block, or where the block was only just begun in the same
// flight (then it is rolled back and begun again).
func (c *core) runRetrying(res *result, args []driver.NamedValue, o execOpts, await func(*result) error) error {
	for attempt := 0; ; attempt++ {
		hadBegin := c.txn.deferred()
		parsed, err := c.learnParams(res.sql, args, o.stmt)
		if err != nil {
			return err
		}
		o.parsed = parsed
		if err := c.queueExec(res, args, o); err != nil {
			if parsed {
				// learnParams left the unit of work open.
				if serr := c.endUnit(); serr != nil {
					return serr
				}
			}
			return err
		}
		c.queueSync()
		if err := c.flush(); err != nil {
			return err
		}
		if err := await(res); err != nil {
			return err
		}
		if res.err == nil {
			if hadBegin && c.beginRes.err != nil {
				return c.beginRes.err
			}
			return nil
		}
		if attempt > 0 || !res.retry || res.delivered || !c.txn.retryable(hadBegin) {
			return explainLost(res)
		}
		if err := c.restartTx(hadBegin); err != nil {
			return err
		}
		if st := o.stmt; st != nil && !st.lost {
			st.lost = true
			c.prep.stmts.CloseLater(st.name) // harmless if the server lost it
		}
		o.force = cache.Never
		c.prep.stmts.Recovered()
		sql := res.sql
		res.reset(sql)
		if o.describe {
			res.discard = false
		} else {
			res.discard = true
		}
	}
}

// restartTx undoes a BEGIN sent in the failed flight, so that the retry
// begins the transaction afresh.
func (c *core) restartTx(hadBegin bool) error {
	if !hadBegin || c.txn.serverIdle() {
		return nil
	}
	if err := c.simpleInternal("ROLLBACK"); err != nil {
		return err
	}
	c.txn.restart()
	return nil
}

// explainLost returns res's error, saying what happened when a pooler lost
// a statement inside a transaction, where no retry is possible.
func explainLost(res *result) error {
	var pgErr *Error
	if res.retry && errors.As(res.err, &pgErr) && pgErr.Code == "26000" {
		pgErr.pooler = true
	}
	return res.err
}

// awaitFirstRow reads until res's first row, which stays in c.rowValues
// (valid until the next receive) for Next, or to the sync point when the
// command ended without one. So an error the server reports before the
// first row (a failed INSERT without RETURNING, a cancelled pg_sleep, a
// division by zero) is the error of Query, as with lib/pq and pgx's
// stdlib, not of a later Next that the caller may never call; and a
// statement that returns no rows leaves the connection free at once.
func (c *core) awaitFirstRow(res *result) error {
	for res.state != resDone {
		ev, err := c.advance(res)
		if err != nil {
			return err
		}
		if ev == evRow {
			res.rowReady = true
			return nil
		}
	}
	return c.awaitSync()
}

// awaitSync reads until the next ReadyForQuery, buffering or dropping rows
// on the way as their results ask.
func (c *core) awaitSync() error {
	for {
		ev, err := c.advance(nil)
		if err != nil {
			return err
		}
		if ev == evSync {
			return nil
		}
	}
}

// simpleInternal runs a statement of the driver's own (ROLLBACK, probes)
// with the simple protocol and waits for it.
func (c *core) simpleInternal(sql string) error {
	res := &c.internalRes
	res.reset(sql)
	res.discard = true
	c.queueSimple(res)
	if err := c.flush(); err != nil {
		return err
	}
	for res.state != resDone {
		if _, err := c.advance(nil); err != nil {
			return err
		}
	}
	return res.err
}

// queueSimple writes a simple Query for res.sql, with any pending Close
// and BEGIN in front (fenced by a Sync, so the Query starts clean).
func (c *core) queueSimple(res *result) {
	c.prep.applyEffect(sqltext.Classify(res.sql, true).Effect)
	if len(c.prep.stmts.Closing()) > 0 || c.txn.deferred() {
		c.queueCloses()
		c.queueBegin()
		c.queueSync()
	}
	c.out.query(res.sql)
	c.q.push(request{kind: reqSimple, res: res})
}

// startSimple runs a simple-protocol query up to its first result set
// that has columns, or to its end when none has.
func (c *core) startSimple(res *result) error {
	c.queueSimple(res)
	if err := c.flush(); err != nil {
		return err
	}
	for {
		switch {
		case res.state == resDone:
			return res.err
		case res.state == resDescribed && !res.setDone && res.cols != nil:
			return nil
		}
		if _, err := c.advance(res); err != nil {
			return err
		}
	}
}

// execSimple runs a simple-protocol query to its ReadyForQuery; the rows
// affected are the last statement's.
func (c *core) execSimple(res *result) error {
	res.discard = true
	c.queueSimple(res)
	if err := c.flush(); err != nil {
		return err
	}
	// Its own ReadyForQuery, not the one of the Sync that fences a
	// deferred BEGIN or pending Closes in front of it (queueSimple).
	for !res.synced {
		if _, err := c.advance(nil); err != nil {
			return err
		}
	}
	return res.err
}
