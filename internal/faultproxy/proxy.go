package faultproxy

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// Proxy forwards TCP connections from a loopback listener to a target
// address, injecting the faults of its rules.
type Proxy struct {
	ln      net.Listener
	target  string
	closing chan struct{} // closed by Close
	wg      sync.WaitGroup
	once    sync.Once
	lnErr   error

	// mu guards the fields below, the counters of every pconn and the
	// state of every Fault. No I/O and no blocking channel operation
	// happens while it is held.
	mu     sync.Mutex
	closed bool
	conns  []*pconn // in accept order: conns[i] is connection i+1
	faults []*Fault // in the order added
}

// dialTimeout bounds the proxy's connection to the target.
const dialTimeout = 10 * time.Second

// Start listens on 127.0.0.1 at a free port and forwards every connection
// to target ("host:port"). The caller must call Close.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, closing: make(chan struct{})}
	// The accept goroutine is owned by p and ends when Close closes the
	// listener.
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the listening address, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Host returns the listening host, "127.0.0.1".
func (p *Proxy) Host() string { return p.ln.Addr().(*net.TCPAddr).IP.String() }

// Port returns the listening port.
func (p *Proxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

// Add arms a rule and returns its Fault. It fails only for an invalid rule.
func (p *Proxy) Add(r Rule) (*Fault, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	f := &Fault{
		p: p, rule: r,
		fired: make(chan struct{}), release: make(chan struct{}),
		hits: map[int]int{}, done: map[int]bool{},
	}
	p.mu.Lock()
	p.faults = append(p.faults, f)
	p.mu.Unlock()
	return f, nil
}

// Conns returns how many connections the proxy has accepted.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Cut closes connection n (1-based, in accept order) now, both sides. It
// does nothing for a connection that is already closed or does not exist.
func (p *Proxy) Cut(n int) {
	if pc := p.conn(n); pc != nil {
		pc.cut()
	}
}

// Open reports whether connection n is still open.
func (p *Proxy) Open(n int) bool {
	pc := p.conn(n)
	if pc == nil {
		return false
	}
	select {
	case <-pc.done:
		return false
	default:
		return true
	}
}

// Closed returns a channel closed when connection n has ended (either side
// closed it, or it was cut). For a connection not accepted yet it returns
// nil, which never becomes ready.
func (p *Proxy) Closed(n int) <-chan struct{} {
	if pc := p.conn(n); pc != nil {
		return pc.done
	}
	return nil
}

func (p *Proxy) conn(n int) *pconn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < 1 || n > len(p.conns) {
		return nil
	}
	return p.conns[n-1]
}

// Seen returns how many messages named name reached the proxy in
// direction d on connection conn (0: all connections), forwarded or not.
func (p *Proxy) Seen(conn int, d Direction, name string) int {
	return p.sum(conn, func(pc *pconn) int { return pc.seen[d.index()][name] })
}

// Forwarded returns how many messages named name had at least their first
// byte forwarded in direction d on connection conn (0: all connections).
func (p *Proxy) Forwarded(conn int, d Direction, name string) int {
	return p.sum(conn, func(pc *pconn) int { return pc.fwd[d.index()][name] })
}

// Bytes returns how many bytes were forwarded in direction d on connection
// conn (0: all connections).
func (p *Proxy) Bytes(conn int, d Direction) int64 {
	var n int64
	p.sum(conn, func(pc *pconn) int { n += pc.bytes[d.index()]; return 0 })
	return n
}

func (p *Proxy) sum(conn int, f func(*pconn) int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i, pc := range p.conns {
		if conn == 0 || conn == i+1 {
			n += f(pc)
		}
	}
	return n
}

// Close stops listening, closes every connection, lets every stalled
// stream go, and waits for the proxy's goroutines to end. It returns the
// listener's close error; calling it again returns the same.
func (p *Proxy) Close() error {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		conns := append([]*pconn(nil), p.conns...)
		p.mu.Unlock()
		close(p.closing)
		p.lnErr = p.ln.Close()
		for _, pc := range conns {
			pc.cut()
		}
		p.wg.Wait()
	})
	return p.lnErr
}

// accept runs on the goroutine Start started, until Close closes the
// listener.
func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		pc := p.track(client)
		if pc == nil {
			client.Close()
			return
		}
		// serve is owned by p: it ends when the connection is cut or
		// closed, which Close forces.
		p.wg.Add(1)
		go p.serve(pc)
	}
}

// track registers a new client connection; nil once Close has begun.
func (p *Proxy) track(client net.Conn) *pconn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	pc := newPconn(p, len(p.conns)+1, client)
	p.conns = append(p.conns, pc)
	return pc
}

// serve dials the target and runs both directions of pc until it ends.
func (p *Proxy) serve(pc *pconn) {
	defer p.wg.Done()
	defer pc.cut()
	server, err := p.dial(pc)
	if err != nil {
		return
	}
	if !pc.attach(server) {
		server.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(1)
	// The server-to-client pump is owned by serve, which waits for it;
	// it ends when either side closes or the connection is cut.
	go func() {
		defer wg.Done()
		pc.run(ServerToClient)
	}()
	pc.run(ClientToServer)
	wg.Wait()
}

// dial connects to the target, giving up when the proxy closes or pc is
// cut meanwhile.
func (p *Proxy) dial(pc *pconn) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	var wg sync.WaitGroup
	wg.Add(1)
	// Owned by dial, which waits for it: it ends once the dial is over
	// (cancel) or ended early.
	go func() {
		defer wg.Done()
		select {
		case <-p.closing:
		case <-pc.done:
		case <-ctx.Done():
		}
		cancel()
	}()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", p.target)
	cancel()
	wg.Wait()
	return conn, err
}

var errCut = errors.New("faultproxy: connection cut")

// pconn is one proxied connection.
type pconn struct {
	p      *Proxy
	n      int
	client net.Conn
	done   chan struct{} // closed by cut
	once   sync.Once
	// answer carries the server's one-byte answer to an SSLRequest or
	// GSSEncRequest from the server-to-client pump, which frames it, to
	// the client-to-server pump, which must know it to frame what follows.
	answer chan byte

	// Guarded by p.mu.
	server    net.Conn
	expecting string   // "SSLRequest" or "GSSEncRequest" awaiting its answer
	auth      authKind // names the client's next 'p' message
	seen, fwd [2]map[string]int
	bytes     [2]int64
}

func newPconn(p *Proxy, n int, client net.Conn) *pconn {
	pc := &pconn{p: p, n: n, client: client, done: make(chan struct{}), answer: make(chan byte, 1)}
	for i := range pc.seen {
		pc.seen[i] = map[string]int{}
		pc.fwd[i] = map[string]int{}
	}
	return pc
}

// attach records the server side; false if the connection was cut while
// dialling.
func (pc *pconn) attach(server net.Conn) bool {
	pc.p.mu.Lock()
	defer pc.p.mu.Unlock()
	select {
	case <-pc.done:
		return false
	default:
	}
	pc.server = server
	return true
}

// cut closes both sides; the pumps' reads and writes then fail.
func (pc *pconn) cut() {
	pc.once.Do(func() {
		pc.p.mu.Lock()
		server := pc.server
		close(pc.done)
		pc.p.mu.Unlock()
		pc.client.Close()
		if server != nil {
			server.Close()
		}
	})
}
