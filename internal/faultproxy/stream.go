package faultproxy

import (
	"bufio"
	"encoding/binary"
	"net"
	"time"
)

// mode is how a stream frames what comes next.
type mode uint8

const (
	modeStartup mode = iota // startup packets: length, code, no type byte
	modeTyped               // type byte, then length
	modeOpaque              // bytes only: TLS, or framing lost
)

// stream is one direction of a connection. Only its pump goroutine uses
// it; what others read (counters) lives in pconn, under the proxy's lock.
type stream struct {
	pc  *pconn
	dir Direction
	src *bufio.Reader
	in  *source // under src
	dst net.Conn
	buf []byte

	// out holds bytes framed but not yet written to dst: the pump writes
	// once per batch of messages read together, not once per message, and
	// always before it could block reading or a fault acts. outNames are
	// the messages whose first byte is in out, counted as forwarded once
	// it is written.
	out      []byte
	outNames []string

	pos     int64          // bytes consumed from src so far
	seq     int            // messages framed so far
	nameSeq map[string]int // messages framed so far, by name
	cur     string         // the message being forwarded; "" in opaque mode
	counted bool           // cur's first byte is in out or was written
	// patch is written over the next bytes forwarded: a byte trigger's
	// CorruptLength, or one on a message without a length field.
	patch []byte
}

// maxOut is how much output a stream batches before writing it anyway.
const maxOut = 64 << 10

// run pumps one direction until either side closes or the connection is
// cut, then cuts it (a proxied PostgreSQL connection has no half-close).
func (pc *pconn) run(dir Direction) {
	defer pc.cut()
	pc.p.mu.Lock()
	server := pc.server
	pc.p.mu.Unlock()
	s := &stream{pc: pc, dir: dir, buf: make([]byte, 32<<10), nameSeq: map[string]int{}}
	m := modeTyped
	s.in, s.dst = &source{conn: server}, pc.client
	if dir == ClientToServer {
		s.in, s.dst, m = &source{conn: pc.client}, server, modeStartup
	}
	s.src = bufio.NewReaderSize(s.in, 32<<10)
	for {
		var err error
		switch m {
		case modeStartup:
			m, err = s.startupPacket()
		case modeTyped:
			m, err = s.typedMessage()
		default:
			err = s.opaque()
		}
		if err != nil {
			if err != errCut {
				_ = s.flush() // what came before the sender hung up
			}
			return
		}
	}
}

// peek is src.Peek, writing the pending output first when it may block.
func (s *stream) peek(n int) ([]byte, error) {
	if s.src.Buffered() < n {
		if err := s.flush(); err != nil {
			return nil, err
		}
	}
	return s.src.Peek(n)
}

// read is src.Read, writing the pending output first when it may block.
func (s *stream) read(p []byte) (int, error) {
	if s.src.Buffered() == 0 {
		if err := s.flush(); err != nil {
			return 0, err
		}
	}
	return s.src.Read(p)
}

// opaque forwards whatever bytes come.
func (s *stream) opaque() error {
	s.cur = ""
	n, err := s.read(s.buf)
	if n > 0 {
		if werr := s.emit(s.buf[:n]); werr != nil {
			return werr
		}
	}
	return err
}

// startupPacket frames one packet of the startup phase (client side).
func (s *stream) startupPacket() (mode, error) {
	hdr, err := s.peek(8)
	if err != nil {
		return modeOpaque, nil // a short packet: forward what came, then end
	}
	length := int64(int32(binary.BigEndian.Uint32(hdr)))
	if length < 8 {
		return modeOpaque, nil
	}
	name := startupName(binary.BigEndian.Uint32(hdr[4:]))
	if name == "SSLRequest" || name == "GSSEncRequest" {
		s.pc.setExpecting(name) // before the server can see it
	}
	hdr = append([]byte(nil), hdr...)
	if err := s.message(name, 0, length, hdr, 0); err != nil {
		return 0, err
	}
	if err := s.copyBody(length - 8); err != nil {
		return 0, err
	}
	switch name {
	case "SSLRequest", "GSSEncRequest":
		// The client speaks again only once it has the answer; until
		// then, watch for it hanging up.
		if _, err := s.peek(1); err != nil {
			return 0, err
		}
		select {
		case a := <-s.pc.answer:
			if a == 'S' || a == 'G' {
				return modeOpaque, nil
			}
			return modeStartup, nil
		case <-s.pc.done:
			return 0, errCut
		}
	case "StartupMessage":
		return modeTyped, nil
	}
	return modeStartup, nil
}

// typedMessage frames one message with a type byte.
func (s *stream) typedMessage() (mode, error) {
	first, err := s.peek(1)
	if err != nil {
		return modeOpaque, nil
	}
	if s.dir == ServerToClient {
		if req := s.pc.takeExpecting(first[0]); req != "" {
			return s.answer(req, first[0])
		}
	}
	hdr, err := s.peek(5)
	if err != nil {
		return modeOpaque, nil
	}
	length := int64(int32(binary.BigEndian.Uint32(hdr[1:])))
	if hdr[0] == 'R' && length >= 8 && s.dir == ServerToClient {
		if hdr, err = s.peek(9); err != nil {
			return modeOpaque, nil
		}
	}
	name := s.pc.name(s.dir, hdr)
	hdr = append([]byte(nil), hdr[:5]...)
	if err := s.message(name, hdr[0], length, hdr, 1); err != nil {
		return 0, err
	}
	if length < 4 {
		return modeOpaque, nil // no way to find the next message
	}
	if err := s.copyBody(length - 4); err != nil {
		return 0, err
	}
	return modeTyped, nil
}

// answer frames the server's one-byte answer to req and tells the client
// side, which frames the rest of its stream by it.
func (s *stream) answer(req string, b byte) (mode, error) {
	name := "SSLResponse"
	if req == "GSSEncRequest" {
		name = "GSSEncResponse"
	}
	if err := s.act(s.frame(name, b, 0), nil, 0); err != nil {
		return 0, err
	}
	s.pc.answer <- b // capacity 1, one answer per request: never blocks
	if _, err := s.src.Discard(1); err != nil {
		return 0, err
	}
	if err := s.emit([]byte{b}); err != nil {
		return 0, err
	}
	if b == 'S' || b == 'G' {
		return modeOpaque, nil
	}
	return modeTyped, nil
}

// message applies the message rules to a framed message whose header
// (hdr, a private copy; its length field at lenAt) is still unread in
// src, then forwards the header.
func (s *stream) message(name string, typ byte, length int64, hdr []byte, lenAt int) error {
	if err := s.act(s.frame(name, typ, length), hdr, lenAt); err != nil {
		return err
	}
	if _, err := s.src.Discard(len(hdr)); err != nil {
		return err
	}
	return s.emit(hdr)
}

// act announces and applies the faults that fired at the current point,
// once everything before it is written. CorruptLength writes over hdr's
// length field at lenAt, or, without hdr (a byte trigger, a message
// without a length), over the next 4 bytes forwarded.
func (s *stream) act(faults []*Fault, hdr []byte, lenAt int) error {
	if len(faults) == 0 {
		return nil
	}
	if err := s.flush(); err != nil {
		return err
	}
	s.pc.p.announce(faults)
	for _, f := range faults {
		switch f.rule.Action {
		case Cut:
			s.pc.cut()
			return errCut
		case Stall:
			if err := s.stall(f); err != nil {
				return err
			}
		case CorruptLength:
			if hdr != nil {
				binary.BigEndian.PutUint32(hdr[lenAt:], f.rule.Length)
			} else {
				s.patch = binary.BigEndian.AppendUint32(nil, f.rule.Length)
			}
		}
	}
	return nil
}

// frame records a new message and returns the faults it fires.
func (s *stream) frame(name string, typ byte, length int64) []*Fault {
	s.seq++
	s.nameSeq[name]++
	s.cur, s.counted = name, false
	m := Msg{
		Conn: s.pc.n, Dir: s.dir, Name: name, Type: typ, Length: length,
		Offset: s.pos, Seq: s.seq, NameSeq: s.nameSeq[name],
	}
	return s.pc.p.messageFaults(s.pc, m)
}

// copyBody forwards the next n bytes as they come.
func (s *stream) copyBody(n int64) error {
	for n > 0 {
		k, err := s.read(s.buf[:min(n, int64(len(s.buf)))])
		if k > 0 {
			if werr := s.emit(s.buf[:k]); werr != nil {
				return werr
			}
			n -= int64(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// emit forwards b, applying byte triggers on the way.
func (s *stream) emit(b []byte) error {
	for len(b) > 0 {
		k, at := s.pc.p.nextByteTrigger(s.pc.n, s.dir, s.pos, len(b))
		if err := s.write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
		if at < 0 {
			continue
		}
		if err := s.act(s.pc.p.fireByteTriggers(s.pc.n, s.dir, at), nil, 0); err != nil {
			return err
		}
	}
	return nil
}

// write queues b (with any pending patch over it) for dst, writing the
// queue once it is large.
func (s *stream) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	start := len(s.out)
	s.out = append(s.out, b...)
	if len(s.patch) > 0 {
		n := copy(s.out[start:], s.patch)
		s.patch = s.patch[n:]
	}
	s.pos += int64(len(b))
	if s.cur != "" && !s.counted {
		s.counted = true
		s.outNames = append(s.outNames, s.cur)
	}
	if len(s.out) >= maxOut {
		return s.flush()
	}
	return nil
}

// flush writes the queued output. It is counted first, so that the
// counters never lag behind what the receiver has read.
func (s *stream) flush() error {
	if len(s.out) == 0 {
		return nil
	}
	s.pc.p.count(s.pc, s.dir, int64(len(s.out)), s.outNames)
	_, err := s.dst.Write(s.out)
	s.out, s.outNames = s.out[:0], s.outNames[:0]
	return err
}

// maxHeld bounds what a stalled stream reads ahead from its sender; beyond
// it the sender is blocked, as by a network that stopped delivering.
const maxHeld = 1 << 20

// source is what a stream's bufio.Reader reads: bytes read ahead during a
// stall come first, then the socket.
type source struct {
	conn net.Conn
	held []byte
}

func (r *source) Read(p []byte) (int, error) {
	if len(r.held) > 0 {
		n := copy(p, r.held)
		r.held = r.held[n:]
		if len(r.held) == 0 {
			r.held = nil
		}
		return n, nil
	}
	return r.conn.Read(p)
}

// stall waits until f is released or the connection ends. Meanwhile it
// reads ahead what the sender sends (up to maxHeld), without forwarding
// it, so that a sender hanging up during the stall ends the connection
// as it would without the proxy.
func (s *stream) stall(f *Fault) error {
	watch := s.watchSender()
	for {
		select {
		case <-f.release:
			s.stopWatching(watch)
			return nil
		case <-s.pc.done:
			s.stopWatching(watch)
			return errCut
		case <-s.pc.p.closing:
			s.pc.cut()
			s.stopWatching(watch)
			return errCut
		case err := <-watch:
			watch = nil
			if err != nil {
				s.pc.cut()
				return errCut
			}
		}
	}
}

// watchSender starts a goroutine that reads ahead from the sender into
// s.in.held until maxHeld is reached (then it reports nil) or a read
// fails (it reports the error). The goroutine is owned by stall, which
// waits for its report or interrupts it with stopWatching.
func (s *stream) watchSender() chan error {
	if len(s.in.held) >= maxHeld {
		return nil
	}
	watch := make(chan error, 1)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := s.in.conn.Read(buf[:min(len(buf), maxHeld-len(s.in.held))])
			s.in.held = append(s.in.held, buf[:n]...)
			if err != nil {
				watch <- err
				return
			}
			if len(s.in.held) >= maxHeld {
				watch <- nil
				return
			}
		}
	}()
	return watch
}

// stopWatching interrupts a watchSender goroutine and waits for it, so
// that s.in is the pump's alone again.
func (s *stream) stopWatching(watch chan error) {
	if watch == nil {
		return
	}
	_ = s.in.conn.SetReadDeadline(time.Now())
	<-watch
	_ = s.in.conn.SetReadDeadline(time.Time{})
}
