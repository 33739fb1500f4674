package pgpipe

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
)

// pipeMode is pipeline mode: whether a pipeline is open, and the Sync the
// cancel goroutine (cancel.go) writes to end one whose context ended. The
// server, after the cancelled command's error, skips all messages but
// Sync and holds its output until one comes; commands still in the send
// buffer must then never be sent. The connection's goroutine matches the
// injected Sync in its queue (accountInjectedSync) on its next read.
//
// States: closed; open (enter; pipeline flushes write under writeMu); cut
// (inject wrote the Sync: flushes drop what is buffered); accounted (the
// queue expects the Sync's ReadyForQuery); back to closed by leave and
// reset (closePipeline).
type pipeMode struct {
	conn net.Conn // the socket the injected Sync is written to
	// open is set while a pipeline is open; the cancel goroutine reads it
	// to know it must end the pipeline with a Sync.
	open atomic.Bool
	// writeMu serialises a pipeline's socket writes with the injected
	// Sync; it guards no fields, and no read happens while it is held.
	writeMu  sync.Mutex
	injected atomic.Bool
	// accounted is set once the connection's goroutine matched the
	// injected Sync in its queue; only that goroutine uses it.
	accounted bool
}

// syncMessage is an encoded Sync, written by inject without pgproto3.
var syncMessage = []byte{'S', 0, 0, 0, 4}

// enter opens pipeline mode.
func (p *pipeMode) enter() { p.open.Store(true) }

// active reports an open pipeline.
func (p *pipeMode) active() bool { return p.open.Load() }

// cut reports that the cancel goroutine ended the pipeline with a Sync of
// its own: nothing more is sent.
func (p *pipeMode) cut() bool { return p.injected.Load() }

// unmatched reports an injected Sync the queue does not expect yet.
func (p *pipeMode) unmatched() bool { return p.injected.Load() && !p.accounted }

// inject ends a pipeline whose context ended: it writes a Sync after
// everything already sent, so the server answers everything and returns
// to normal. It runs on the cancel goroutine (or on the pipeline's,
// whichever sees the end first) and touches only the socket, under
// writeMu, which every pipeline flush holds while writing: the Sync never
// lands inside another message.
//
// still, when not nil, is asked under writeMu whether the pipeline that
// asked for the Sync still runs (the cancel goroutine may get writeMu only
// after it ended).
func (p *pipeMode) inject(still func() bool) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if p.injected.Load() || !p.open.Load() || still != nil && !still() {
		return
	}
	_, _ = p.conn.Write(syncMessage) // a failure shows up to the reader
	p.injected.Store(true)
}

// leave closes pipeline mode: from now on no Sync is injected. late
// reports a Sync injected that the queue never matched.
func (p *pipeMode) leave() (late bool) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	p.open.Store(false)
	return p.injected.Load() && !p.accounted
}

// reset forgets the injected Sync once its ReadyForQuery was read.
func (p *pipeMode) reset() {
	p.injected.Store(false)
	p.accounted = false
}

// accountInjectedSync, on the connection's own goroutine, matches the
// injected Sync in the queue: the commands never sent are dropped with the
// context's error, and the Sync's ReadyForQuery is expected after the rest.
func (c *core) accountInjectedSync() {
	c.pipe.accounted = true
	err := c.watch.err()
	if err == nil {
		err = context.Canceled
	}
	c.pipe.writeMu.Lock()
	c.out.drop()
	c.pipe.writeMu.Unlock()
	if c.q.unsentHolds(&c.beginRes) {
		// A deferred BEGIN that never left: the transaction's next command
		// must still begin the block.
		c.txn.restart()
	}
	c.q.truncate(c.q.len()-c.q.unsent, err, resultDone)
	c.q.push(request{kind: reqSync})
	c.q.unsent = 0
}

// closePipeline ends pipeline mode after the pipeline drained. From now on
// the cancel goroutine injects no Sync; if it injected one after the last
// ReadyForQuery was read, that Sync's ReadyForQuery is read here, so it
// cannot be taken for the answer to a later command.
func (c *core) closePipeline() error {
	late := c.pipe.leave()
	defer c.pipe.reset()
	if !late || c.broken != nil {
		return nil
	}
	c.pipe.accounted = true
	c.q.push(request{kind: reqSync})
	c.q.unsent = 0
	return c.awaitSync()
}

// endPipeline ends a pipeline whose context ended (see pipeMode.inject).
func (c *core) endPipeline() {
	c.pipe.inject(nil)
	if !c.pipe.accounted {
		c.accountInjectedSync()
	}
}
