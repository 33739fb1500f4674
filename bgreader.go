package pgpipe

import (
	"errors"
	"net"
	"os"
	"time"
)

// bgReader is a connection's background reader. While the connection's
// goroutine writes a large flush (a pipeline's commands, a COPY's data),
// the server may answer the first commands before it read the last ones,
// and stops reading when its output buffer is full: a client that only
// wrote would then wait forever. So during such a flush the reader reads
// whatever the server sends into memory, and hands it over when the write
// is done; the connection's goroutine then reads it before the socket.
//
// States: parked (the goroutine waits on start; it never touches the
// socket), reading (from a start until the read deadline that
// flushReading sets after its write returned; the result goes to done),
// stopped (start closed by stop, the goroutine returned). The goroutine is
// started by the first flushReading of the connection, owned by the core,
// and stopped by core.close. Its buffers are reused from flush to flush.
type bgReader struct {
	conn  net.Conn
	start chan struct{}
	done  chan readResult
	buf   []byte
	data  []byte // what the current read collected; handed over through done
}

// maxKeptRead bounds the collecting buffer the reader keeps between
// flushes: one large burst of replies does not hold memory for the
// connection's life.
const maxKeptRead = 1 << 20

// readResult is what the reader collected during one flush, and the read
// error that ended it (a deadline in the normal case).
type readResult struct {
	data []byte
	err  error
}

func newBgReader(conn net.Conn) *bgReader {
	r := &bgReader{conn: conn, start: make(chan struct{}), done: make(chan readResult, 1), buf: make([]byte, 32<<10)}
	go r.run()
	return r
}

// run is the reader's goroutine.
func (r *bgReader) run() {
	for range r.start {
		data := r.data[:0]
		for {
			n, err := r.conn.Read(r.buf)
			data = append(data, r.buf[:n]...)
			if err != nil {
				r.data = nil
				if cap(data) <= maxKeptRead {
					r.data = data // reused at the next flush
				}
				r.done <- readResult{data, err}
				break
			}
		}
	}
}

// stop ends the goroutine; the reader must be parked. A nil reader was
// never started.
func (r *bgReader) stop() {
	if r != nil {
		close(r.start)
	}
}

// flushReading writes everything queued while the background reader
// collects what the server sends meanwhile into the stash, so a pipeline
// can never deadlock. The collected bytes are copied into the stash before
// flushReading returns: the reader's buffer is its own again at the next
// flush. Concurrent Read and Write are allowed on net.Conn and tls.Conn.
func (c *core) flushReading() error {
	if c.broken != nil {
		return c.broken
	}
	if c.reader == nil {
		c.reader = newBgReader(c.netConn)
	}
	c.reader.start <- struct{}{}
	werr := c.flush()
	_ = c.netConn.SetReadDeadline(time.Now())
	rr := <-c.reader.done
	c.watch.clearReadDeadline()
	c.rd.stash = append(c.rd.stash, rr.data...)
	if werr != nil {
		return werr
	}
	if rr.err != nil && !errors.Is(rr.err, os.ErrDeadlineExceeded) {
		// The socket failed while reading; the stashed bytes (perhaps the
		// server's FATAL error) are still processed before the error.
		c.rd.err = rr.err
	}
	return nil
}
