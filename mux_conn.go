package pgpipe

import (
	"context"
	"database/sql/driver"
	"fmt"

	"github.com/pgpipe/pgpipe/internal/sqltext"
)

// muxSession is what a database/sql connection of a multiplexing Connector
// holds (mux.go): the pool, and the server connection pinned for its
// session while it has one. Without a pinned connection, conn.core is nil
// and shareable statements go to the shared connections.
type muxSession struct {
	p *muxPool
	m *mconn // the pinned server connection, or nil
	// dirty: a statement that changes the session ran on the pinned
	// connection; it is reset (DISCARD ALL) before it is shared again.
	dirty bool
	req   *mreq // reused from statement to statement unless abandoned
}

// sharedPath reports whether query runs on a shared connection.
func (c *conn) sharedPath(query string) bool {
	return c.mux != nil && c.mux.m == nil && sqltext.Shareable(query)
}

// session pins a server connection for this connection's session, if it
// has none; dirty records that the session will be changed. Without
// multiplexing it does nothing.
func (c *conn) session(ctx context.Context, dirty bool) error {
	s := c.mux
	if s == nil {
		return nil
	}
	if s.m == nil {
		m, err := s.p.pin(ctx)
		if err != nil {
			return err
		}
		s.m, c.core = m, m.core
	}
	s.dirty = s.dirty || dirty
	return nil
}

// sessionFor pins a connection for a statement that is not shareable, and
// marks a pinned session changed when the statement may change it.
func (c *conn) sessionFor(ctx context.Context, query string) error {
	if c.mux == nil {
		return nil
	}
	return c.session(ctx, !sqltext.Shareable(query))
}

// pinned pins a connection for an extension reached through Raw, which
// may change anything; it reports false when none could be had.
func (c *conn) pinned() bool { return c.session(context.Background(), true) == nil }

// endSession gives the pinned connection back to the pool: at once when
// the session was not changed, after DISCARD ALL otherwise.
func (c *conn) endSession() {
	s := c.mux
	if s == nil || s.m == nil || c.state.holder != holdNone {
		return
	}
	m, dirty := s.m, s.dirty
	s.m, s.dirty, c.core = nil, false, nil
	s.p.unpin(m, dirty)
}

// request returns the connection's reusable request, reset for query.
func (s *muxSession) request(ctx context.Context, query string, args []driver.NamedValue, describe bool) *mreq {
	r := s.req
	if r == nil {
		r = &mreq{done: make(chan struct{}, 1)}
		s.req = r
	}
	r.ctx, r.args, r.force, r.describe = ctx, args, force(ctx), describe
	// Nothing of the previous statement's course carries over: a request
	// still marked queued would count as written before it was.
	r.err, r.abandoned, r.retried, r.queued, r.exposed = nil, false, false, false, false
	r.res.reset(query)
	r.res.discard = !describe
	return r
}

// runShared runs one statement on a shared connection and waits for its
// end. When ctx ends first, a statement not yet written is dropped (the
// error is ctx's); one already written may still run, and the error says
// so (*SharedCancelError).
func (c *conn) runShared(ctx context.Context, query string, args []driver.NamedValue, describe bool) (*mreq, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := c.mux.request(ctx, query, args, describe)
	var m *mconn
	for {
		var err error
		if m, err = c.mux.p.route(ctx); err != nil {
			return nil, err
		}
		if m.submit(r) {
			break
		}
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		switch m.abandon(r) {
		case abandonUnsent:
			return nil, ctx.Err()
		case abandonSent:
			// The owner may still write into the request's result: this
			// connection lets go of it.
			c.mux.req = nil
			// The owner may be encoding the arguments: once it is done,
			// they are the caller's again.
			m.encMu.Lock()
			m.encMu.Unlock() //nolint:staticcheck // a barrier, not a critical section
			return nil, &SharedCancelError{Query: query, Err: ctx.Err()}
		}
		<-r.done
	}
	if r.err != nil {
		return nil, r.err
	}
	r.args = nil
	return r, nil
}

// SharedCancelError is returned, with multiplex on, when a statement's
// context ended after the statement was written to a shared server
// connection. The statement may have run: it was queued behind other
// callers' statements, or a CancelRequest was sent for it too late. The
// result was dropped. errors.Is(err, context.Canceled) (or
// DeadlineExceeded) holds.
type SharedCancelError struct {
	Query string
	Err   error // the context's error
}

func (e *SharedCancelError) Error() string {
	return fmt.Sprintf("pgpipe: %v after the statement was sent on a shared connection; it may have run (%s)", e.Err, shortSQL(e.Query))
}

func (e *SharedCancelError) Unwrap() error { return e.Err }

// execShared is ExecContext on a shared connection.
func (c *conn) execShared(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if err := c.state.busy(query); err != nil {
		return nil, err
	}
	span := startTrace(c.mux.p.cfg.Tracer, ctx, TraceQuery{SQL: query, Args: len(args)})
	r, err := c.runShared(ctx, query, args, false)
	if err == nil {
		err = r.res.err
	}
	if err != nil {
		span.end(nil, 0, err)
		return nil, err
	}
	span.end(&r.res, r.res.rowsAffected, nil)
	return driver.RowsAffected(r.res.rowsAffected), nil
}

// queryShared is QueryContext on a shared connection: the rows were read
// in full by the connection's owner, and Next decodes them from memory.
func (c *conn) queryShared(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if err := c.state.busy(query); err != nil {
		return nil, err
	}
	span := startTrace(c.mux.p.cfg.Tracer, ctx, TraceQuery{SQL: query, Args: len(args)})
	req, err := c.runShared(ctx, query, args, true)
	if err == nil && req.res.err != nil && req.res.buf.empty() {
		err = req.res.err
	}
	if err != nil {
		span.end(nil, 0, err)
		return nil, err
	}
	span.end(&req.res, req.res.rowsAffected, req.res.err)
	r := &c.rows
	r.reset(c, query)
	// The result and its buffers move to the rows, and the rows' old ones
	// to the request for its next statement: no buffer has two owners.
	r.res, req.res = req.res, r.res
	r.shared = req.env
	r.env = &r.shared
	r.finished = true
	c.state.holdRows(r)
	return r, nil
}

// pingShared is Ping on a shared connection: an empty query.
func (c *conn) pingShared(ctx context.Context) error {
	r, err := c.runShared(ctx, "", nil, false)
	if err != nil {
		return err
	}
	return r.res.err
}

// txEnded ends the session a transaction pinned, unless a statement in it
// changed the session (then it lasts until database/sql takes the
// connection back).
func (c *conn) txEnded() {
	if c.mux != nil && !c.mux.dirty {
		c.endSession()
	}
}
