package pgpipe

import (
	"context"
	"database/sql/driver"
)

// stmt is a statement prepared with db.Prepare or conn.PrepareContext: a
// named statement on the server until Close, which closes it there (the
// Close message goes out in front of the connection's next command).
//
// When preparation is off on the connection (prepare_threshold=none, or
// after a pooler was seen losing statements), or after the server lost the
// statement (DISCARD ALL, a pooler), it runs as an unnamed statement: one
// flight per execution, the same results.
type stmt struct {
	c *conn
	serverStmt
	closed bool
}

// NumInput returns the number of parameters, or -1 when the statement was
// not prepared on the server (database/sql then does not check the count).
func (s *stmt) NumInput() int { return s.params }

// Close closes the statement. The server statement is closed with the
// protocol's Close message in front of the connection's next command.
func (s *stmt) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.c.mux != nil {
		return nil // never prepared explicitly
	}
	if s.c.core.broken == nil {
		s.c.core.prep.closeStmt(&s.serverStmt)
	}
	return nil
}

// ExecContext runs the statement.
func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	c := s.c
	if c.mux != nil {
		return c.ExecContext(ctx, s.sql, args)
	}
	if err := c.begin(ctx, s.sql); err != nil {
		return nil, err
	}
	defer c.endOp()
	res := &c.execRes
	res.reset(s.sql)
	span := c.core.startTrace(ctx, TraceQuery{SQL: s.sql, Args: len(args)})
	err := c.core.exec(res, args, execOpts{stmt: &s.serverStmt})
	span.end(res, res.rowsAffected, err)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(res.rowsAffected), nil
}

// QueryContext runs the statement and returns its rows.
func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	c := s.c
	if c.mux != nil {
		return c.QueryContext(ctx, s.sql, args)
	}
	if err := c.begin(ctx, s.sql); err != nil {
		return nil, err
	}
	r := &c.rows
	r.reset(c, s.sql)
	r.span = c.core.startTrace(ctx, TraceQuery{SQL: s.sql, Args: len(args)})
	if err := c.core.startQuery(&r.res, args, execOpts{stmt: &s.serverStmt}); err != nil {
		c.endOp()
		r.span.end(&r.res, 0, err)
		return nil, err
	}
	c.state.holdRows(r)
	if r.res.state == resDone {
		r.finish() // a statement that returned no rows
	}
	return r, nil
}

// Exec is ExecContext without a context; database/sql does not call it.
func (s *stmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), namedValues(args))
}

// Query is QueryContext without a context; database/sql does not call it.
func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), namedValues(args))
}

func namedValues(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return nv
}

// CheckNamedValue checks arguments as the connection does.
func (s *stmt) CheckNamedValue(nv *driver.NamedValue) error { return s.c.CheckNamedValue(nv) }
