package pgpipe

import (
	"context"
	"database/sql/driver"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/pgpipe/pgpipe/internal/cache"
)

// Multiplexing (multiplex=N): the database/sql connections of one
// Connector share at most N server connections.
//
// A statement that leaves nothing behind in the session (sqltext.Shareable)
// is a request: its caller appends it to the pending list of the shared
// server connection with the fewest requests (mconn.submit) and waits for
// its result. Each shared connection has a goroutine of its own, its owner
// (mconn.run), the only one that touches its core: it writes every pending
// request (Parse, Bind, Execute and a Sync each, so an error affects only
// its own statement), and reads the replies, which the core matches to
// their results in order; a request is done at its ReadyForQuery. A
// caller that submits while the owner waits in a read interrupts the read
// (a read deadline in the past), so a statement goes out without waiting
// for the replies to the ones ahead of it. There are N owners and no
// goroutine that all traffic passes through.
//
// A database/sql connection that needs a session (a transaction, Raw, a
// statement that is not shareable) takes a server connection out of the
// shared set (pin) and keeps it until the session ends (unpin): at once
// after a transaction without session statements, otherwise when
// database/sql takes the connection back (IsValid), after DISCARD ALL.
//
// States of an mconn (mode): shared (its owner runs), reserved (a pin
// waits for it: nothing new is routed to it, and its owner hands it over
// once it has no request left), pinned (one database/sql connection uses
// its core directly; no owner), gone (broken or closed).

// muxPool holds the server connections of a Connector with multiplex on.
type muxPool struct {
	cfg  *Config
	size int

	mu      sync.Mutex
	conns   []*mconn // open server connections, shared or pinned
	opening int      // connections being opened, counted against size
	// pinOpening counts the connections being opened for a session.
	pinOpening int
	closed     bool
	// changed is closed, and replaced, whenever a waiter may find what it
	// waits for: a connection freed, drained, lost, or the pool closed.
	changed chan struct{}
}

type muxMode uint8

const (
	muxShared muxMode = iota
	muxReserved
	muxPinned
	muxGone
)

// mconn is one server connection of a muxPool.
type mconn struct {
	p    *muxPool
	core *core

	mu      sync.Mutex
	mode    muxMode
	pending []*mreq // submitted, not yet written
	sent    []*mreq // written, in wire order, until their ReadyForQuery
	// reading is set while the owner waits in a read; interrupted once a
	// submitter set the read deadline to wake it.
	reading, interrupted bool
	// cancelling is an abandoned request the owner sends a CancelRequest
	// for once it is the first one written (the one the server runs);
	// cancelSent and cancelDone follow that CancelRequest. The
	// connection is not handed to a session before it was answered.
	cancelling             *mreq
	cancelSent, cancelDone bool
	// wake tells the owner that something changed (cap 1).
	wake chan struct{}
	// handed is closed when a reserved connection's owner stopped.
	handed chan struct{}
	// unread counts the bytes written since the owner last read a
	// reply (owner only).
	unread int
	// encMu is held by the owner while it reads a request's arguments
	// (queueOne, learn).
	encMu sync.Mutex
	// doomed: a CancelRequest may or may not have reached the server (its
	// connection failed after writing it): it may still land on any later
	// statement, so the connection takes no new requests and is closed
	// once it has answered those it holds.
	doomed bool
}

// mreq is one statement of a caller on a shared connection.
type mreq struct {
	ctx      context.Context
	res      result
	args     []driver.NamedValue
	force    cache.Force
	describe bool
	// done receives once the request ended: written and answered up to
	// its ReadyForQuery, or failed (err).
	done chan struct{}
	err  error
	// abandoned: the caller's context ended after the request was
	// written; its result is dropped when it arrives.
	abandoned bool
	retried   bool
	// queued: the owner took the request's arguments into its send
	// buffer (claim); from then on it counts as written.
	queued bool
	// exposed: a CancelRequest for another request was under way while
	// this one was on the server, and may have hit it (see synced).
	exposed bool
	// env is the session the rows are decoded for, as it was at the
	// request's end (the owner's core changes it on a ParameterStatus).
	env decodeEnv
}

func newMuxPool(cfg *Config, size int) *muxPool {
	return &muxPool{cfg: cfg, size: size, changed: make(chan struct{})}
}

// notify wakes every waiter of the pool; p.mu is held.
func (p *muxPool) notify() {
	close(p.changed)
	p.changed = make(chan struct{})
}

var errPoolClosed = errors.New("pgpipe: the connector was closed")

// errCancelUnsure closes a shared connection whose CancelRequest may
// still arrive.
var errCancelUnsure = errors.New("pgpipe: a cancel request's outcome is unknown: connection closed")

// wait releases p.mu until something changes or ctx ends, then takes it
// again.
func (p *muxPool) wait(ctx context.Context) error {
	ch := p.changed
	p.mu.Unlock()
	defer p.mu.Lock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// open connects one more server connection (p.mu held, released while
// connecting; p.opening counted it).
func (p *muxPool) open(ctx context.Context, mode muxMode) (*mconn, error) {
	p.opening++
	p.mu.Unlock()
	c, err := connect(ctx, p.cfg)
	p.mu.Lock()
	p.opening--
	if err != nil {
		p.notify()
		return nil, err
	}
	m := &mconn{p: p, core: c, mode: mode, wake: make(chan struct{}, 1)}
	if p.closed {
		c.close()
		return nil, errPoolClosed
	}
	p.conns = append(p.conns, m)
	if mode == muxShared {
		go m.run()
	}
	p.notify()
	return m, nil
}

// route returns the shared connection a new request goes to: one with no
// request in flight, else a new one while fewer than size are open, else
// the one with the fewest requests (a slow statement then delays as few
// others as possible). It waits while every connection is pinned.
func (p *muxPool) route(ctx context.Context) (*mconn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.closed {
			return nil, errPoolClosed
		}
		best, bestLoad, _ := p.leastLoaded()
		if best != nil && bestLoad == 0 {
			return best, nil
		}
		if len(p.conns)+p.opening < p.size {
			return p.open(ctx, muxShared)
		}
		if best != nil {
			return best, nil
		}
		if err := p.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// leastLoaded returns the shared connection with the fewest requests and
// their number (nil when none is shared), and how many connections serve
// sessions or are being opened for one; p.mu is held.
func (p *muxPool) leastLoaded() (best *mconn, bestLoad, sessions int) {
	sessions = p.pinOpening
	for _, m := range p.conns {
		load, ok := m.shareLoad()
		switch {
		case !ok:
			sessions++
		case best == nil || load < bestLoad:
			best, bestLoad = m, load
		}
	}
	return best, bestLoad, sessions
}

// shareLoad reports how many requests m holds, and whether it takes new
// ones (shared and not waiting to send a cancel).
func (m *mconn) shareLoad() (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending) + len(m.sent), m.mode == muxShared && !m.doomed
}

// pin takes a server connection out of the shared set for one session: an
// idle shared one, a new one, or the least busy shared one once its owner
// has written and read everything it holds.
func (p *muxPool) pin(ctx context.Context) (*mconn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if p.closed {
			return nil, errPoolClosed
		}
		best, bestLoad, sessions := p.leastLoaded()
		if p.size >= 2 && sessions >= p.size-1 {
			// One server connection always stays shared: a session whose
			// body runs statements outside it (db.QueryRow inside a
			// transaction) must not wait for itself.
			if err := p.wait(ctx); err != nil {
				return nil, err
			}
			continue
		}
		if (best == nil || bestLoad > 0) && len(p.conns)+p.opening < p.size {
			p.pinOpening++
			m, err := p.open(ctx, muxPinned)
			p.pinOpening--
			return m, err
		}
		if best != nil {
			if m, err := p.takeOver(ctx, best); m != nil || err != nil {
				return m, err
			}
			continue
		}
		if err := p.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// takeOver reserves m and waits (p.mu released) until its owner handed
// it over. It returns nil, nil when m was lost meanwhile.
func (p *muxPool) takeOver(ctx context.Context, m *mconn) (*mconn, error) {
	m.mu.Lock()
	if m.mode != muxShared { // lost since shareLoad
		m.mu.Unlock()
		return nil, nil
	}
	m.mode = muxReserved
	m.handed = make(chan struct{})
	handed := m.handed
	m.mu.Unlock()
	m.poke()
	p.mu.Unlock()
	var err error
	select {
	case <-handed:
	case <-ctx.Done():
		err = ctx.Err()
	}
	p.mu.Lock()
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.mode == muxGone:
		return nil, err
	case err != nil:
		// Given up: the connection goes back to sharing. Its owner may
		// have stopped already.
		select {
		case <-handed:
			m.mode = muxShared
			go m.run()
		default:
			m.mode = muxShared
		}
		m.pokeLocked()
		p.notify()
		return nil, err
	}
	m.mode = muxPinned
	return m, nil
}

// unpin ends a session on m. A connection that broke or was left inside a
// transaction block is closed; one whose session was changed is reset
// with DISCARD ALL first (off the caller's goroutine); then it is shared
// again.
func (p *muxPool) unpin(m *mconn, dirty bool) {
	c := m.core
	if c.broken != nil || !c.txn.serverIdle() || c.inFlight() != c.q.unsent {
		// Broken, left in a transaction block, or still waiting for a
		// reply: never shared.
		p.drop(m)
		return
	}
	if !dirty {
		p.share(m)
		return
	}
	go func() {
		res := &c.internalRes
		res.reset("DISCARD ALL")
		res.discard = true
		if err := c.execSimple(res); err != nil || res.err != nil || c.broken != nil {
			p.drop(m)
			return
		}
		p.share(m)
	}()
}

// share puts a pinned connection back in the shared set.
func (p *muxPool) share(m *mconn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		m.mode = muxGone
		p.conns = slices.DeleteFunc(p.conns, func(x *mconn) bool { return x == m })
		m.core.close()
		return
	}
	m.mu.Lock()
	m.mode = muxShared
	m.mu.Unlock()
	go m.run()
	p.notify()
}

// drop closes m and forgets it.
func (p *muxPool) drop(m *mconn) {
	p.mu.Lock()
	m.mu.Lock()
	m.mode = muxGone
	m.mu.Unlock()
	p.conns = slices.DeleteFunc(p.conns, func(x *mconn) bool { return x == m })
	p.notify()
	p.mu.Unlock()
	m.core.close()
}

// close closes the shared connections; pinned ones close when their
// session ends. A reserved one whose owner already handed it over, and
// that its pin has not taken yet, is closed here: nobody else would.
func (p *muxPool) close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	var orphans []*mconn
	for _, m := range p.conns {
		m.mu.Lock()
		switch {
		case m.mode == muxReserved && m.handedOver():
			m.mode = muxGone // takeOver finds it gone
			orphans = append(orphans, m)
		case m.mode != muxPinned:
			m.mode = muxGone
			m.pokeLocked()
		}
		m.mu.Unlock()
	}
	p.conns = slices.DeleteFunc(p.conns, func(m *mconn) bool { return slices.Contains(orphans, m) })
	p.notify()
	p.mu.Unlock()
	for _, m := range orphans {
		m.core.close()
	}
	return nil
}

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
