package pgpipe

// The owner of a shared server connection (see mux.go): how callers hand
// it requests and give up on them, and how it writes them and reads their
// replies.

import (
	"database/sql/driver"
	"errors"
	"runtime"
	"slices"
	"time"

	"github.com/pgpipe/pgpipe/internal/cache"
)

// handedOver reports whether m's owner stopped for a pin; m.mu is held.
func (m *mconn) handedOver() bool {
	select {
	case <-m.handed:
		return true
	default:
		return false
	}
}

// poke wakes m's owner.
func (m *mconn) poke() {
	m.mu.Lock()
	m.pokeLocked()
	m.mu.Unlock()
}

// pokeLocked wakes m's owner, out of a read if it waits in one; m.mu is
// held.
func (m *mconn) pokeLocked() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
	if m.reading && !m.interrupted {
		m.interrupted = true
		_ = m.core.netConn.SetReadDeadline(time.Now())
	}
}

// submit hands r to m's owner. It reports false when m no longer takes
// requests (the caller routes again).
func (m *mconn) submit(r *mreq) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mode != muxShared || m.doomed {
		return false
	}
	m.pending = append(m.pending, r)
	m.pokeLocked()
	return true
}

// abandon is called when r's caller stops waiting (its context ended). A
// request not yet written is dropped: nothing ran. A written one keeps
// its place and its result is dropped when it arrives; the owner sends a
// CancelRequest for it once it is the one the server runs (one cancel at
// a time per connection).
func (m *mconn) abandon(r *mreq) abandonment {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := slices.Index(m.pending, r); i >= 0 {
		m.pending = slices.Delete(m.pending, i, i+1)
		return abandonUnsent
	}
	i := slices.Index(m.sent, r)
	if i < 0 {
		return abandonEnded // its done is (or will be) signalled
	}
	if !r.queued {
		m.sent = slices.Delete(m.sent, i, i+1) // the owner's claim fails
		return abandonUnsent
	}
	r.abandoned = true
	m.pokeLocked() // the owner cancels it once it is the one the server runs
	return abandonSent
}

// abandonment is what abandon found.
type abandonment uint8

const (
	abandonUnsent abandonment = iota // dropped before it was written: nothing ran
	abandonSent                      // written: it may run; its result is dropped
	abandonEnded                     // it ended before the caller gave up
)

// run is the owner's goroutine: it writes pending requests and reads
// replies until the connection is reserved and empty, or lost.
func (m *mconn) run() {
	c := m.core
	c.interrupted = m.interruptedBySubmitter
	for {
		// Let the callers that are ready hand over their statements
		// first: they go out in one write, and their replies come back
		// in as few reads.
		runtime.Gosched()
		batch, stop := m.next()
		if stop {
			return
		}
		if err := m.write(batch); err != nil {
			m.lost(err)
			return
		}
		if err := m.read(); err != nil {
			m.lost(err)
			return
		}
	}
}

// next waits until the owner has something to do and returns the pending
// requests it may write now; stop when the owner must stop (the
// connection is reserved and holds no request, or is gone).
func (m *mconn) next() (batch []*mreq, stop bool) {
	for {
		m.mu.Lock()
		m.maybeCancelLocked()
		switch {
		case m.mode == muxGone:
			m.mu.Unlock()
			m.lost(errPoolClosed)
			return nil, true
		case m.doomed && len(m.pending) == 0 && len(m.sent) == 0:
			m.mu.Unlock()
			m.lost(errCancelUnsure)
			return nil, true
		case m.mode == muxReserved && len(m.pending) == 0 && len(m.sent) == 0 && m.cancelling == nil:
			close(m.handed)
			m.mu.Unlock()
			return nil, true
		case len(m.pending) > 0:
			batch = append(batch, m.pending...)
			clear(m.pending)
			m.pending = m.pending[:0]
			if m.cancelSent && !m.cancelDone {
				for _, r := range batch {
					r.exposed = true
				}
			}
			m.sent = append(m.sent, batch...)
			m.mu.Unlock()
			return batch, false
		case len(m.sent) > 0:
			m.mu.Unlock()
			return nil, false
		}
		m.mu.Unlock()
		<-m.wake
	}
}

// maybeCancelLocked sends the CancelRequest for the abandoned request
// once it is the first one written, and ends the cancelling state once
// both it and its request ended; m.mu is held. The CancelRequest reaches
// whatever the backend runs when it arrives: when the abandoned statement
// ended just before, that is the next one written. Every request on the
// server meanwhile is marked exposed, and re-run if the cancel hit it.
func (m *mconn) maybeCancelLocked() {
	if m.cancelling == nil && len(m.sent) > 0 && m.sent[0].abandoned {
		m.cancelling, m.cancelSent, m.cancelDone = m.sent[0], false, false
	}
	r := m.cancelling
	if r == nil {
		return
	}
	ended := !slices.Contains(m.sent, r)
	switch {
	case ended && (!m.cancelSent || m.cancelDone):
		m.cancelling = nil
		if len(m.sent) > 0 && m.sent[0].abandoned {
			m.maybeCancelLocked()
		}
	case !ended && !m.cancelSent && m.sent[0] == r:
		m.cancelSent = true
		for _, x := range m.sent[1:] {
			x.exposed = true
		}
		go func() {
			sent, err := m.core.key.sendCancel(cancelGrace(m.p.cfg), func() bool {
				m.mu.Lock()
				defer m.mu.Unlock()
				return slices.Contains(m.sent, r)
			})
			m.mu.Lock()
			if sent && err != nil {
				m.doomed = true // cancelDone stays false: all later ones are exposed
			} else {
				m.cancelDone = true
			}
			m.pokeLocked()
			m.mu.Unlock()
		}()
	}
}

// write queues the batch's statements, each with its Sync, and flushes.
// A request whose arguments cannot be encoded, or whose caller gave up
// before it was written, ends without being sent.
func (m *mconn) write(batch []*mreq) error {
	c := m.core
	if len(batch) > 0 && c.inFlight() == c.q.unsent && time.Since(c.lastUsed) >= idleCheckAfter {
		// One look at the socket of a connection that sat idle: a server
		// that ended the session meanwhile has said so by now, and the
		// statements, never written, run on another connection.
		if err := c.checkIdle(); err != nil {
			m.unsend(batch)
			return err // lost ends them with driver.ErrBadConn
		}
	}
	for _, r := range batch {
		if err := m.queueOne(r); err != nil {
			return err
		}
	}
	if !c.hasUnsent() {
		return nil
	}
	m.unread += c.out.buffered()
	if c.out.buffered() > 32<<10 || m.unread > 64<<10 {
		// A large write, or many written since the owner last read:
		// the server may be blocked sending replies nobody reads, and
		// stop reading. The background reader drains them meanwhile.
		return c.flushReading()
	}
	return c.flush()
}

// unsend puts the requests of a batch nothing of which was written back
// in front of the pending ones; those their callers gave up on meanwhile
// are left alone.
func (m *mconn) unsend(batch []*mreq) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var back []*mreq
	for _, r := range batch {
		if i := slices.Index(m.sent, r); i >= 0 {
			m.sent = slices.Delete(m.sent, i, i+1)
			back = append(back, r)
		}
	}
	m.pending = append(back, m.pending...)
}

// queueOne queues r's execution and its Sync, unless its caller gave up
// first. Its arguments are read only here, under encMu: a caller that
// gives up afterwards waits for encMu before it returns, so it may reuse
// them at once.
func (m *mconn) queueOne(r *mreq) error {
	c := m.core
	m.encMu.Lock()
	defer m.encMu.Unlock()
	if !m.claim(r) {
		return nil // given up before: r is its caller's again, untouched
	}
	if err := r.ctx.Err(); err != nil {
		m.finish(r, err)
		return nil
	}
	if anyTypeDependent(r.args) {
		if _, known := c.prep.paramTypes(r.res.sql, nil); !known {
			return m.learn(r)
		}
	}
	if err := c.queueExec(&r.res, r.args, execOpts{force: r.force, describe: r.describe}); err != nil {
		m.finish(r, err)
		return nil
	}
	c.queueSync()
	return nil
}

// claim marks r queued unless its caller gave up on it before; abandon
// then treats it as written.
func (m *mconn) claim(r *mreq) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !slices.Contains(m.sent, r) || r.abandoned {
		return false
	}
	r.queued = true
	return true
}

// read reads replies until the first request written has ended, or a
// submitter interrupts the wait.
func (m *mconn) read() error {
	for {
		m.mu.Lock()
		if m.mode == muxGone {
			m.mu.Unlock()
			return errPoolClosed // the pool was closed: lost ends the rest
		}
		m.maybeCancelLocked()
		if len(m.sent) == 0 || len(m.pending) > 0 {
			m.mu.Unlock()
			return nil
		}
		m.reading = true
		m.mu.Unlock()
		ended, err := m.readOneInterruptible()
		if err != nil || ended {
			return err
		}
	}
}

// readOneInterruptible reads one event; a submitter's interrupt is not
// an error.
func (m *mconn) readOneInterruptible() (ended bool, err error) {
	err = m.readOne()
	m.mu.Lock()
	m.reading = false
	intr := m.interrupted
	m.interrupted = false
	m.mu.Unlock()
	if intr {
		_ = m.core.netConn.SetReadDeadline(time.Time{})
	}
	if errors.Is(err, errInterrupted) {
		return false, nil
	}
	return err == nil, err
}

// readOne reads one message; at a ReadyForQuery the first request
// written has ended.
func (m *mconn) readOne() error {
	ev, err := m.core.advance(nil)
	if err != nil {
		return err
	}
	m.unread = 0
	if ev == evSync {
		m.synced()
	}
	return nil
}

// errInterrupted is what the core's read returns when a submitter woke the
// owner: pgproto3 keeps the part of a message read so far.
var errInterrupted = errors.New("pgpipe: internal: read interrupted")

// interruptedBySubmitter reports, for the core's read failing with a
// deadline, whether a submitter set that deadline to wake the owner
// (readOneInterruptible clears the mark).
func (m *mconn) interruptedBySubmitter() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.interrupted
}

// synced ends the first request written: its ReadyForQuery arrived. A
// request the server lost its statement for, before running anything, is
// written again unnamed.
func (m *mconn) synced() {
	m.core.lastUsed = time.Now()
	m.mu.Lock()
	r := m.sent[0]
	if r.res.state != resDone {
		// The ReadyForQuery of a Sync the core wrote in front of r (a
		// fence before pending Closes), not r's own.
		m.mu.Unlock()
		return
	}
	if res := &r.res; res.err != nil && !r.abandoned && (res.retry && !r.retried || r.exposed && interrupted(res.err)) {
		// Written again, in front of what waits (requeueLocked).
		if res.retry {
			m.core.prep.stmts.Recovered()
		}
		sql := res.sql
		res.reset(sql)
		res.discard = !r.describe
		r.retried, r.force = true, cache.Never
		m.requeueLocked(r)
		m.mu.Unlock()
		return
	}
	m.sent[0] = nil
	m.sent = m.sent[1:]
	m.mu.Unlock()
	if r.res.err != nil {
		r.res.err = explainLost(&r.res)
	}
	r.env = m.core.env
	m.finish(r, nil)
}

// requeueLocked moves r, written but to be written again, from the
// written requests to the front of the pending ones, in one step: a
// caller giving up meanwhile finds it pending. m.mu is held.
func (m *mconn) requeueLocked(r *mreq) {
	m.sent = slices.DeleteFunc(m.sent, func(x *mreq) bool { return x == r })
	r.queued, r.exposed = false, false
	m.pending = append([]*mreq{r}, m.pending...)
}

// interrupted reports the error of a statement that was cancelled
// (57014): by a CancelRequest, or by statement_timeout. With its own Sync
// the statement was its own transaction and rolled back: running it again
// runs it once (what it did outside its transaction, such as nextval,
// happens again).
func interrupted(err error) bool {
	var pgErr *Error
	return errors.As(err, &pgErr) && pgErr.Code == "57014"
}

// finish ends r; err is a failure of the request itself rather than of
// its statement.
func (m *mconn) finish(r *mreq, err error) {
	m.mu.Lock()
	m.sent = slices.DeleteFunc(m.sent, func(x *mreq) bool { return x == r })
	abandoned := r.abandoned
	m.mu.Unlock()
	if abandoned {
		return
	}
	r.err = err
	r.done <- struct{}{}
}

// lost ends every request of a connection that broke: those not written
// may run elsewhere (driver.ErrBadConn), the others fail with the error.
func (m *mconn) lost(err error) {
	m.mu.Lock()
	pending, sent := m.pending, m.sent
	m.pending, m.sent = nil, nil
	if m.handed != nil {
		select {
		case <-m.handed:
		default:
			close(m.handed) // a pin waiting in takeOver finds muxGone
		}
	}
	m.mode = muxGone
	m.mu.Unlock()
	if err == errPoolClosed && len(sent) > 0 {
		// The server still runs statements nobody will read: cancelled,
		// the one it runs ends now, rather than holding its snapshot and
		// locks for the rest of its course after the socket closed.
		go m.core.key.sendCancel(cancelGrace(m.p.cfg), func() bool { return true })
	}
	for _, r := range pending {
		m.finish(r, driver.ErrBadConn)
	}
	for _, r := range sent {
		m.finish(r, err)
	}
	p := m.p
	p.mu.Lock()
	p.conns = slices.DeleteFunc(p.conns, func(x *mconn) bool { return x == m })
	p.notify()
	p.mu.Unlock()
	m.core.close()
}
