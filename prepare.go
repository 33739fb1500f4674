package pgpipe

import (
	"log/slog"
	"strings"

	"github.com/pgpipe/pgpipe/internal/cache"
	"github.com/pgpipe/pgpipe/internal/codec"
	"github.com/pgpipe/pgpipe/internal/sqltext"
)

// stmtState is what the core knows of the server's prepared statements
// and of the queries it runs: the automatic cache, the generation explicit
// statements are checked against, whether a pooler sits in between, and
// the result columns of queries run unnamed. The core holds it as its prep
// field. Its methods touch nothing else (what they need of the transaction
// or the session comes as an argument); what needs I/O is the core's
// (queueCloses, lostStatement, poolerLost, prepare).
type stmtState struct {
	stmts *cache.Manager[*stmtDesc]
	// shapes are the result formats of queries run unnamed, chosen from
	// an earlier execution's RowDescription on this connection, so later
	// unnamed executions ask for binary results; by shapeKey.
	shapes map[string]shape
	// lastFormats are the formats of the shape learned last: a shape of
	// the same formats shares them (they are never written), so a
	// stream of new query texts of one shape allocates none.
	lastFormats []int16
	// keyBuf holds the shape key of a query with comments while it is
	// looked up (lookupShape), so that looking up allocates nothing.
	keyBuf []byte
	// stmtGen counts the times the server dropped all statements (DISCARD
	// ALL, DEALLOCATE): explicitly prepared statements from an older
	// generation run unnamed.
	stmtGen uint64
	// pooled is set when the backend behind this connection is not the one
	// that answered the startup (a pooler sits between): named statements
	// are then only trusted where the server session is known.
	pooled bool
}

// stmtDesc is what the driver knows of a named statement's result: the
// columns in the formats it asks for, and those formats for Bind.
type stmtDesc struct {
	cols    []column
	formats []int16
	// tzText records that timestamptz columns were asked for in text
	// because the session TimeZone could not be loaded when the formats
	// were chosen.
	tzText bool
	// params are the statement's parameter types, from its Describe
	// statement: Bind sends the arguments whose types allow it in binary
	// (see codec.AppendBinaryParam). Nil when unknown.
	params []uint32
}

// newStmtDesc chooses result formats for a statement's columns: binary
// where that is faster for the type (see codec.ResultFormat). cols are as the
// server described them for the first, text-format execution; tzText:
// the session TimeZone cannot be loaded (the core's loc is nil), so
// timestamptz stays text.
func newStmtDesc(cols []column, tzText bool) *stmtDesc {
	d := &stmtDesc{tzText: tzText}
	if len(cols) == 0 {
		return d
	}
	d.cols = make([]column, len(cols))
	d.formats = make([]int16, len(cols))
	binary := false
	for i, col := range cols {
		f := resultFormat(col.oid, tzText)
		col.format = f
		col.dec = codec.DecoderFor(col.oid, f)
		col.fast = codec.FastKindFor(col.oid, f)
		d.cols[i] = col
		d.formats[i] = f
		binary = binary || f != 0
	}
	if !binary {
		d.formats = nil // all text: Bind says so with no codes
	}
	return d
}

// plan decides how to run one execution of sql on this connection. pinned
// reports a transaction block or an open pipeline, where a statement that
// fails cannot be re-run.
func (c *stmtState) plan(sql string, force cache.Force, pinned bool) (cache.Plan, *cache.Entry[*stmtDesc]) {
	if c.pooled && pinned {
		// Behind a pooler a statement prepared outside this transaction may
		// live on another server session, and a failed Bind cannot be
		// retried inside a transaction, nor in a pipeline, whose later
		// commands were sent already (and where each sync point may move
		// the session): run unnamed.
		force = cache.Never
	}
	return c.stmts.Lookup(sql, force)
}

// confirmDescribed stores the columns a named statement's first described
// execution reported, so later executions skip Describe and ask for binary
// (tzText: see newStmtDesc).
func (c *stmtState) confirmDescribed(r *request, tzText bool) {
	e := r.entry
	if e == nil && !r.explicit {
		c.learnShape(r, tzText)
		return
	}
	if e == nil || e.Data != nil || c.stmts.Disabled() {
		return
	}
	e.Data = newStmtDesc(r.res.cols, tzText)
	e.Data.params = r.res.paramOIDs
}

// resultFormat is the format to ask for a column of type oid in: binary
// where that is faster for the type (see codec.ResultFormat), but text for
// timestamptz when the session TimeZone cannot be loaded (tzText).
func resultFormat(oid uint32, tzText bool) int16 {
	if oid == codec.OIDTimestamptz && tzText {
		return codec.FormatText
	}
	return codec.ResultFormat(oid)
}

// shape is what the driver remembers of the result of a query run
// unnamed: the formats to ask for, nil for all text, chosen as
// newStmtDesc chooses them (tzText too).
type shape struct {
	formats []int16
	tzText  bool
}

// maxShapes bounds the shapes a connection remembers; past it they are
// forgotten and learned again.
const maxShapes = 256

// shapeKey is what a query's shape is remembered by: its text without
// comments, so that a trace id or a caller's name written into every
// execution's text (sqlcommenter and the like) does not hide the shape
// learned from the executions before. The server still gets the text as
// given, comments and all.
func shapeKey(sql string) string {
	key, _ := sqltext.WithoutComments(sql)
	return key
}

// maxKeyBuf bounds the buffer a connection keeps for shape keys: a longer
// text with comments costs an allocation per lookup instead.
const maxKeyBuf = 4 << 10

// lookupShape returns the shape remembered for sql (by shapeKey).
func (c *stmtState) lookupShape(sql string) (shape, bool) {
	if d, ok := c.shapes[sql]; ok {
		// Keys have no comments (a comment is replaced by a space, which
		// cannot start another), so sql is its own key.
		return d, true
	}
	key, stripped := sqltext.AppendWithoutComments(c.keyBuf[:0], sql)
	if !stripped {
		return shape{}, false
	}
	if cap(key) <= maxKeyBuf {
		c.keyBuf = key
	}
	d, ok := c.shapes[string(key)] // the compiler makes no string of key here
	return d, ok
}

// shapeFormats returns the result formats for an unnamed execution of sql:
// binary for the columns whose types are faster in binary, as an earlier
// execution's RowDescription on this connection described them; nil (all
// text) for a query not seen yet. The execution still describes its
// portal, and every value is decoded in the format its RowDescription
// says: a shape that no longer fits (the table changed) costs nothing but
// that execution's binary results, or, when the column count changed, a
// Bind error that is retried in text where nothing ran (shapeFailed).
func (c *stmtState) shapeFormats(sql string, noLoc bool) ([]int16, bool) {
	d, ok := c.lookupShape(sql)
	if !ok || d.formats == nil || d.tzText != noLoc {
		return nil, false
	}
	return d.formats, true
}

// learnShape remembers the result formats for the columns an unnamed
// execution reported, unless the shape already remembered asks for those.
func (c *stmtState) learnShape(r *request, tzText bool) {
	cols := r.res.cols
	d, known := c.lookupShape(r.res.sql)
	if known && d.tzText == tzText && formatsFit(d.formats, cols, tzText) {
		return
	}
	sql := shapeKey(r.res.sql)
	var formats []int16
	if !formatsFit(nil, cols, tzText) { // some column is faster in binary
		formats = c.lastFormats
		if !formatsFit(formats, cols, tzText) {
			formats = make([]int16, len(cols))
			for i := range cols {
				formats[i] = resultFormat(cols[i].oid, tzText)
			}
			c.lastFormats = formats
		}
	}
	if !known && len(c.shapes) >= maxShapes || c.shapes == nil {
		c.shapes = make(map[string]shape)
	}
	c.shapes[sql] = shape{formats: formats, tzText: tzText}
}

// formatsFit reports whether formats (nil: all text) are those chosen for
// cols.
func formatsFit(formats []int16, cols []column, tzText bool) bool {
	if formats != nil && len(formats) != len(cols) {
		return false
	}
	for i := range cols {
		f := codec.FormatText
		if formats != nil {
			f = formats[i]
		}
		if f != resultFormat(cols[i].oid, tzText) {
			return false
		}
	}
	return true
}

// shapeFailed forgets the shape of a shaped execution that the server
// refused at Bind (08P01: the result formats no longer match the column
// count), and marks it for a retry in text, which runRetrying makes only
// where nothing ran.
func (c *stmtState) shapeFailed(r *request, e *Error) {
	if r.stage == stBind && e.Code == "08P01" {
		delete(c.shapes, shapeKey(resultSQL(r)))
		r.res.retry = true
	}
}

// lostStatement keeps the statement cache true after an error in a command
// that used a named statement, and marks the result retryable when the
// server lost the statement before running anything.
func (c *core) lostStatement(r *request, e *Error) {
	if e.Code == "42804" && r.res != nil { // datatype_mismatch
		// Learned parameter types may be stale (a column changed type):
		// the next execution learns them again.
		c.prep.stmts.Forget(r.res.sql)
	}
	if r.shaped {
		c.prep.shapeFailed(r, e)
	}
	if r.entry == nil && !r.explicit {
		return
	}
	switch {
	case r.prepares && r.stage == stParse:
		// The Parse itself failed: no statement by that name exists.
		c.prep.stmts.Drop(r.entry, false)
		if e.Code == "42P05" { // duplicate_prepared_statement
			c.poolerLost(r, e)
		}
	case e.Code == "26000" && r.stage == stBind: // invalid_sql_statement_name
		if r.entry != nil {
			c.prep.stmts.Drop(r.entry, false)
		}
		c.poolerLost(r, e)
	case e.Code == "0A000" && strings.Contains(e.Message, "cached plan must not change result type"):
		if r.entry != nil {
			c.prep.stmts.Drop(r.entry, true)
		}
		r.res.retry = true
	}
}

// poolerLost handles a named statement the server does not have (or has
// twice). On a direct connection that means the user dropped it; behind a
// pooler, that the pooler moved the session: preparation stops for good on
// this connection and on the pool's later connections behind the pooler,
// logged once per Connector.
func (c *core) poolerLost(r *request, e *Error) {
	r.res.retry = true
	if !c.prep.pooled {
		return
	}
	e.pooler = true
	c.prep.stmts.Disable()
	if c.cfg.pool == nil || !c.cfg.pool.poolerLoses.Swap(true) {
		outcome := "the statement is re-run unnamed where nothing ran"
		if c.pipe.active() {
			outcome = "the pipeline's command failed"
		}
		c.log(slog.LevelWarn, "a connection pooler (PgBouncer in transaction mode?) lost a prepared statement; "+outcome+", and this pool's connections stop preparing statements behind that pooler (set prepare_threshold=none to skip the detection)",
			"sqlstate", e.Code)
	}
}

// applyEffect keeps the cache true for a statement that drops or
// invalidates server statements (see sqltext.Classify). It runs when the
// statement is queued, so every command queued after it, also in a
// pipeline that has not read its result yet, prepares afresh instead of
// binding a name the statement drops. The forgotten names are closed in
// front of the statement (closing a name the server no longer has is not
// an error), so none is left on the server when the statement is skipped.
func (c *stmtState) applyEffect(e sqltext.Effect) {
	switch e {
	case sqltext.DropsAll:
		c.stmts.Invalidate()
		c.stmtGen++ // explicitly prepared statements run unnamed from now on
	case sqltext.DropsSome:
		// DEALLOCATE of one name: the user's own statement (a name of
		// ours would be lost like one a pooler lost, and re-run where
		// nothing ran).
	case sqltext.Invalidates:
		c.stmts.Invalidate()
		// A schema or search_path change may change a query's columns:
		// the result formats remembered for unnamed executions too.
		c.shapes = nil
	}
}

// queueCloses writes a Close for every statement the cache gave up, in
// front of the next command: no round trip of their own.
func (c *core) queueCloses() {
	names := c.prep.stmts.Closing()
	for _, name := range names {
		c.out.closeStmt(name)
		c.q.push(request{kind: reqClose, closeName: name})
	}
	c.prep.stmts.ClearClosing()
}

// serverStmt is what the core knows of a statement prepared explicitly
// (db.Prepare): its server-side name, description and generation. The
// face's stmt holds one; the core reads and changes it only here and in
// queueExec and runRetrying.
type serverStmt struct {
	sql    string
	name   string // "" when the statement runs unnamed
	desc   *stmtDesc
	params int    // -1 when unknown
	gen    uint64 // the core's stmtGen when prepared
	lost   bool   // the server lost the statement: run unnamed from now on
}

// usable reports whether the named server statement can be bound.
func (s *serverStmt) usable(c *core) bool {
	if s.name == "" || s.lost || s.gen != c.prep.stmtGen {
		return false
	}
	// Behind a pooler, a statement prepared outside this transaction may
	// live on another server session, and inside a transaction a failed
	// Bind cannot be retried.
	return !(c.prep.pooled && c.txn.inBlock())
}

// closeStmt closes s on the server with the next command, when it still
// exists there.
func (c *stmtState) closeStmt(s *serverStmt) {
	if s.name != "" && !s.lost && s.gen == c.stmtGen {
		c.stmts.CloseLater(s.name)
	}
}

// prepare creates s on the server: Parse with a fresh name and Describe
// statement, one round trip, which reports errors in the SQL now and
// tells the parameter count and result columns.
func (c *core) prepare(s *serverStmt) error {
	name := c.prep.stmts.NewName()
	res, err := c.describeSynced(name, s.sql)
	if err != nil {
		return err
	}
	s.name, s.params, s.gen = name, res.params, c.prep.stmtGen
	s.desc = newStmtDesc(res.cols, c.env.loc == nil)
	s.desc.params = res.paramOIDs
	return nil
}

// describe asks the server for the parameter types and result columns of
// query without running it: Parse of the unnamed statement, Describe
// statement, Sync; one round trip. The columns are the caller's copy.
func (c *core) describe(query string) (params []uint32, cols []column, err error) {
	res, err := c.describeSynced("", query)
	if err != nil {
		return nil, nil, err
	}
	return res.paramOIDs, append([]column(nil), res.cols...), nil
}

// describeSynced parses sql under name (unnamed when empty), describes the
// statement and ends the unit of work with a Sync, in one round trip. The
// result (c.internalRes) holds the parameter types and columns until the
// driver's next statement of its own.
func (c *core) describeSynced(name, sql string) (*result, error) {
	res := &c.internalRes
	c.queueCloses()
	c.queueDescribeStmt(res, name, sql)
	c.queueSync()
	if err := c.flush(); err != nil {
		return nil, err
	}
	if err := c.awaitSync(); err != nil {
		return nil, err
	}
	if res.err != nil {
		return nil, res.err
	}
	return res, nil
}

// queueDescribeStmt writes a Parse of sql under name and a Describe of the
// statement, and queues the request whose result learns the statement's
// parameter types and columns. It does not flush.
func (c *core) queueDescribeStmt(res *result, name, sql string) {
	res.reset(sql)
	c.out.parse(name, sql, nil)
	c.out.describe('S', name)
	c.out.queued(len(name) + len(sql) + 10)
	c.q.push(request{kind: reqPrepare, res: res, stage: stParse})
}
