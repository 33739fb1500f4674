package pgpipe

import (
	"database/sql/driver"
	"slices"
	"time"
)

// The owner's lookup of a statement's parameter types before its first
// write on a shared connection (mux.go, learn.go).

// learn asks the server for the parameter types of r's statement when its
// arguments' encoding depends on them (learn.go), then queues r. It runs
// alone on the connection: the requests written before it are read
// first. r is claimed and encMu held (queueOne). encMu is let go while the
// owner waits for the server, so a caller giving up meanwhile does not
// wait for statements to end; r's arguments are not read then, and a
// request given up meanwhile is dropped, nothing of it written.
func (m *mconn) learn(r *mreq) error {
	c := m.core
	m.encMu.Unlock()
	parsed, lerr, err := m.learnTypes(r)
	m.encMu.Lock()
	switch {
	case err != nil:
		return err
	case lerr != nil && m.again(r, lerr):
		return nil
	case lerr != nil:
		m.finish(r, lerr)
		return nil
	case m.givenUp(r):
		m.finish(r, nil) // its caller was told it may have run
		if parsed {
			return c.endUnit()
		}
		return nil
	}
	// When parsed, the unnamed statement holds the query and the unit
	// stays open for the execution that binds it.
	if err := c.queueExec(&r.res, r.args, execOpts{force: r.force, describe: r.describe, parsed: parsed}); err != nil {
		m.finish(r, err)
		if parsed {
			return c.endUnit()
		}
		return nil
	}
	c.queueSync()
	return nil
}

// typeDependentArgs stands for the arguments of a request whose types
// the owner learns without holding encMu: learnParams only asks whether
// one of them depends on its parameter's type.
var typeDependentArgs = []driver.NamedValue{{Ordinal: 1, Value: time.Duration(0)}}

// learnTypes flushes, reads the replies to the requests written before r,
// and learns the parameter types of r's statement (learnParams). lerr is
// the server's refusal of the statement; err the connection's failure.
func (m *mconn) learnTypes(r *mreq) (parsed bool, lerr, err error) {
	c := m.core
	if c.hasUnsent() {
		if err := c.flush(); err != nil {
			return false, nil, err
		}
	}
	for {
		more, err := m.written(r)
		if err != nil {
			return false, nil, err
		}
		if !more {
			break
		}
		if _, err := m.readOneInterruptible(); err != nil {
			return false, nil, err
		}
	}
	parsed, lerr = c.learnParams(r.res.sql, typeDependentArgs, nil)
	if c.broken != nil {
		return false, nil, c.broken
	}
	return parsed, lerr, nil
}

// again puts r, whose types lookup failed with err, back in front of the
// pending requests when a CancelRequest for another request may have
// caused it (see synced); it reports whether it did.
func (m *mconn) again(r *mreq, err error) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.abandoned || !r.exposed || !interrupted(err) {
		return false
	}
	m.requeueLocked(r)
	return true
}

// givenUp reports whether r's caller gave up on it after it was claimed.
func (m *mconn) givenUp(r *mreq) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return r.abandoned
}

// written reports whether requests written before r are still awaited;
// the first of them gets its CancelRequest when its caller gave up. The
// owner then reads, interruptibly: a closed pool ends the wait
// (errPoolClosed, as in read).
func (m *mconn) written(r *mreq) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mode == muxGone {
		return false, errPoolClosed // lost ends the rest
	}
	if slices.Index(m.sent, r) <= 0 {
		return false, nil
	}
	m.maybeCancelLocked()
	m.reading = true
	return true, nil
}
