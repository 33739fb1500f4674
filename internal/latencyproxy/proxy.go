// Package latencyproxy is a TCP proxy that delays every byte by a fixed
// time in each direction, so that a loopback server behaves like one across
// a network: a round trip costs twice the delay. The demo and the
// benchmarks use it to show what pipelining saves.
package latencyproxy

import (
	"io"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections from a loopback listener to a target address.
type Proxy struct {
	ln     net.Listener
	target string
	delay  time.Duration

	// mu guards conns; no I/O happens while it is held.
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start listens on 127.0.0.1 (a free port) and forwards to target, adding
// delay to each direction.
func Start(target string, delay time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, delay: delay, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Port is the proxy's port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Close stops the proxy and closes every forwarded connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// accept runs on the goroutine Start started, until Close.
func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		if !p.track(client) || !p.track(server) {
			server.Close()
			client.Close()
			return
		}
		p.wg.Add(2)
		go p.pump(server, client)
		go p.pump(client, server)
	}
}

// Each direction of a connection has a reader and a writer goroutine. The
// reader reads into a buffer taken from a small pool of its own and
// stamps it with the time it is due; the writer waits until then, writes
// it together with any chunks behind it that are already due, and gives
// the buffers back. Buffers are reused, so forwarding allocates nothing.
//
// The wait is the part that needs care: Go's timers wake up only on whole
// milliseconds of the network poller (a 600µs sleep takes about 1.1ms),
// which would double a sub-millisecond delay. On Linux the writer waits
// on a timerfd of its own instead, armed to the nanosecond and read
// through the network poller, so the goroutine parks like on a socket and
// wakes up when the kernel's timer fires (see wait_linux.go).

const (
	// bufSize is the size of a pooled read buffer: a read returns at most
	// that much, one chunk.
	bufSize = 16 << 10
	// maxBufs bounds the buffers, so the chunks in flight, of a direction;
	// the reader waits for one to come back beyond it. A pipeline's many
	// small writes each make a chunk: with 32 the proxy forwarded only 32
	// of them per delay and slowed RunPipeline sevenfold. Buffers are
	// allocated as needed, so a quiet connection keeps a few.
	maxBufs = 1024
)

// chunk is what one read returned, due for writing delay later.
type chunk struct {
	buf []byte // a pooled buffer of bufSize bytes
	n   int
	due time.Time
}

// pipe is one direction of a forwarded connection.
type pipe struct {
	full chan chunk  // read, in order, waiting for their due time
	free chan []byte // buffers given back by the writer
	made int         // buffers allocated so far; the reader's only

	batch []chunk  // the writer's chunks written together
	iov   [][]byte // backing array of vec
	vec   net.Buffers
}

func newPipe() *pipe {
	return &pipe{
		full:  make(chan chunk, maxBufs),
		free:  make(chan []byte, maxBufs),
		batch: make([]chunk, 0, maxBufs),
		iov:   make([][]byte, 0, maxBufs),
	}
}

// get returns a buffer to read into: a free one, a new one while fewer
// than maxBufs exist, else the next one the writer gives back.
func (pp *pipe) get() []byte {
	select {
	case b := <-pp.free:
		return b
	default:
	}
	if pp.made < maxBufs {
		pp.made++
		return make([]byte, bufSize)
	}
	return <-pp.free
}

// pump copies src to dst, each read delivered delay after it was read. It
// owns a reader goroutine, writes on its own, and ends when src closes.
func (p *Proxy) pump(dst, src net.Conn) {
	defer p.wg.Done()
	pp := newPipe()
	go p.read(src, pp)
	w := newWaiter()
	defer w.close()
	if err := pp.write(dst, w); err != nil {
		for c := range pp.full { // drain so the reader can finish
			pp.free <- c.buf
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	} else {
		io.Copy(io.Discard, src)
	}
}

// read stamps what src sends with its due time, until src closes.
func (p *Proxy) read(src net.Conn, pp *pipe) {
	defer close(pp.full)
	for {
		buf := pp.get()
		n, err := src.Read(buf)
		if n > 0 {
			pp.full <- chunk{buf: buf, n: n, due: time.Now().Add(p.delay)}
		} else {
			pp.free <- buf
		}
		if err != nil {
			return
		}
	}
}

// write writes every chunk to dst once it is due, in order, until the
// reader is done (nil) or a write fails.
func (pp *pipe) write(dst net.Conn, w *waiter) error {
	var next chunk
	have := false
	for {
		if !have {
			c, ok := <-pp.full
			if !ok {
				return nil
			}
			next = c
		}
		w.wait(next.due)
		pp.batch = append(pp.batch[:0], next)
		var more bool
		next, have, more = pp.gather(time.Now())
		if err := pp.flush(dst); err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
}

// gather appends to the batch the chunks already read and due by now. It
// returns the first one not due yet, if any, and whether the reader may
// send more.
func (pp *pipe) gather(now time.Time) (next chunk, have, more bool) {
	for len(pp.batch) < cap(pp.batch) {
		select {
		case c, ok := <-pp.full:
			if !ok {
				return chunk{}, false, false
			}
			if c.due.After(now) {
				return c, true, true
			}
			pp.batch = append(pp.batch, c)
		default:
			return chunk{}, false, true
		}
	}
	return chunk{}, false, true
}

// flush writes the batch in one system call and gives its buffers back.
func (pp *pipe) flush(dst net.Conn) error {
	var err error
	if len(pp.batch) == 1 {
		c := pp.batch[0]
		_, err = dst.Write(c.buf[:c.n])
	} else {
		pp.iov = pp.iov[:0]
		for _, c := range pp.batch {
			pp.iov = append(pp.iov, c.buf[:c.n])
		}
		pp.vec = pp.iov
		_, err = pp.vec.WriteTo(dst)
	}
	for i, c := range pp.batch {
		pp.free <- c.buf
		pp.batch[i] = chunk{}
	}
	return err
}
