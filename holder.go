package pgpipe

// holder is what holds a connection between two database/sql calls. The
// database/sql face (conn.go) and the extensions take and give it back
// through connState's methods only, so every entry point (begin, BeginTx,
// ResetSession, Raw's pipeline and COPY) checks the same thing:
//
//	         Query with rows left                     Rows.Close / end
//	idle ───────────────────────────▶ rows ───────────────────────────▶ idle
//	     ───── RunPipeline (Raw) ────▶ pipeline ── callback returned ──▶ idle
//	     ───── CopyToStream (Raw) ───▶ copyOut ─── CopyStream.Close ───▶ idle
//	     ── Exec of lib/pq's COPY ──▶ copyStmt ── final Exec / Close ──▶ idle
//	                                            ResetSession: CopyFail ─▶ idle
//
// A broken connection is the core's (core.broken), sticky, and overrides
// everything: IsValid and ResetSession report it, begin refuses with
// driver.ErrBadConn. CopyFrom and CopyFromRows hold the connection for
// their call only, as a plain Exec does.
type holder uint8

const (
	holdNone     holder = iota // idle: a command may start
	holdRows                   // a query's rows are open
	holdPipeline               // a Pipeline callback runs
	holdCopyOut                // a CopyStream is open
	holdCopyStmt               // a lib/pq-style COPY statement, between its Execs
)

// connState is who holds the connection, with what it needs to say so.
type connState struct {
	holder holder
	query  string    // the statement that holds it, for BusyError
	rows   *rows     // with holdRows
	copy   *copyStmt // with holdCopyStmt
}

// busy returns the BusyError for a command that finds the connection
// held, or nil when it is idle.
func (s *connState) busy(query string) error {
	switch s.holder {
	case holdRows:
		return &BusyError{Op: "rows of an earlier query", Query: s.query}
	case holdPipeline:
		return &BusyError{Op: "pipeline", Query: s.query}
	case holdCopyOut, holdCopyStmt:
		return &BusyError{Op: "COPY", Query: s.query}
	}
	return nil
}

// hold records that h holds the idle connection for query.
func (s *connState) hold(h holder, query string) {
	if s.holder != holdNone {
		panic("pgpipe bug: connection held twice")
	}
	s.holder, s.query = h, query
}

// holdRows records open rows.
func (s *connState) holdRows(r *rows) {
	s.hold(holdRows, r.res.sql)
	s.rows = r
}

// holdCopyStmt records a lib/pq-style COPY between its Execs.
func (s *connState) holdCopyStmt(cs *copyStmt) {
	s.hold(holdCopyStmt, cs.sql)
	s.copy = cs
}

// release gives the connection back when h holds it.
func (s *connState) release(h holder) {
	if s.holder == h {
		*s = connState{}
	}
}

// releaseRows gives the connection back when r holds it.
func (s *connState) releaseRows(r *rows) {
	if s.holder == holdRows && s.rows == r {
		*s = connState{}
	}
}

// releaseCopyStmt gives the connection back when cs holds it, and
// reports whether it did.
func (s *connState) releaseCopyStmt(cs *copyStmt) bool {
	if s.holder == holdCopyStmt && s.copy == cs {
		*s = connState{}
		return true
	}
	return false
}
