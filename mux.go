package pgpipe

import (
	"context"
	"database/sql/driver"
	"errors"
	"slices"
	"sync"

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
//
// This file holds the pool (routing, pinning, closing); mux_owner.go the
// owner's side, mux_learn.go its parameter-type lookups, and mux_conn.go
// what a database/sql connection does with the pool.

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
