package pgpipe

// This file learns the parameter types of a query before its first
// execution on a connection when the encoding of its arguments depends on
// them (codec.AppendTypedParam): a []byte means raw bytes to bytea but JSON text
// to jsonb, a time.Duration an interval to interval but a number to
// bigint.

import (
	"database/sql/driver"

	"github.com/pgpipe/pgpipe/internal/codec"
)

// paramTypes returns the parameter types known for an execution of sql
// (explicitly prepared as st, when st is not nil): from the Describe of
// its prepared statement, or learned earlier on this connection. known is
// false when neither holds them.
func (c *stmtState) paramTypes(sql string, st *serverStmt) (oids []uint32, known bool) {
	if st != nil && st.desc != nil {
		return st.desc.params, true
	}
	if st == nil {
		if e := c.stmts.Peek(sql); e != nil && e.Data != nil {
			return e.Data.params, true
		}
	}
	if d, ok := c.stmts.Learned(sql); ok {
		return d.params, true
	}
	return nil, false
}

// learnParams makes sure the parameter types of sql are known before its
// arguments are encoded, when one of them needs them (codec.TypeDependent) and
// they are not known yet. It writes a Parse of the unnamed statement, a
// Describe of it and a Flush (not a Sync: the unit of work stays open, so
// a transaction's snapshot and a pooler's server session stay the same),
// with a deferred BEGIN in front, and reads the ParameterDescription. The
// types are kept with the statement cache (once per connection and query
// text). parsed reports that the unnamed statement now holds sql, so the
// execution that follows in the same unit of work binds it without
// parsing again.
//
// When the server refuses the statement, it is ended with a Sync and the
// server's error returned, as the execution would have failed.
func (c *core) learnParams(sql string, args []driver.NamedValue, st *serverStmt) (parsed bool, err error) {
	if !anyTypeDependent(args) {
		return false, nil
	}
	if _, known := c.prep.paramTypes(sql, st); known {
		return false, nil
	}
	// The block is open on the server from the BEGIN on: the execution
	// in this flight is inside it (txState's opening; plan, usable).
	hadBegin := c.txn.deferred()
	c.queueBegin()
	res := &c.internalRes
	c.queueDescribeStmt(res, "", sql)
	c.out.queueFlush()
	if err := c.flush(); err != nil {
		return false, err
	}
	for res.state != resDone {
		if _, err := c.advance(nil); err != nil {
			return false, err
		}
	}
	if res.err != nil {
		if err := c.endUnit(); err != nil {
			return false, err
		}
		if hadBegin && c.beginRes.err != nil {
			return false, c.beginRes.err
		}
		return false, res.err
	}
	c.prep.stmts.Learn(sql, &stmtDesc{params: res.paramOIDs})
	if err := c.watch.err(); err != nil {
		// The context ended while the server was idle between messages,
		// where a cancel request does nothing: run nothing.
		if serr := c.endUnit(); serr != nil {
			return false, serr
		}
		return false, err
	}
	return true, nil
}

// endUnit ends the open unit of work with a Sync and waits for its
// ReadyForQuery.
func (c *core) endUnit() error {
	c.queueSync()
	if err := c.flush(); err != nil {
		return err
	}
	return c.awaitSync()
}

// anyTypeDependent reports whether an argument's encoding depends on its
// parameter's type.
func anyTypeDependent(args []driver.NamedValue) bool {
	for i := range args {
		if codec.TypeDependent(args[i].Value) {
			return true
		}
	}
	return false
}
