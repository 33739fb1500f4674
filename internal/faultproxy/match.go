package faultproxy

// The methods below are the pumps' view of the shared state; each takes
// the proxy's lock briefly and does no I/O.

// setExpecting records that the client sent req (an SSLRequest or a
// GSSEncRequest), so that the server's next byte is its one-byte answer.
func (pc *pconn) setExpecting(req string) {
	pc.p.mu.Lock()
	defer pc.p.mu.Unlock()
	pc.expecting = req
}

// takeExpecting returns the request that b, the first byte of the
// server's next message, answers; "" when none is pending. A pending
// request answered by anything but 'S', 'N' or 'G' (an ErrorResponse)
// releases the client side, which then frames startup packets again.
func (pc *pconn) takeExpecting(b byte) string {
	pc.p.mu.Lock()
	defer pc.p.mu.Unlock()
	req := pc.expecting
	pc.expecting = ""
	if req == "" {
		return ""
	}
	if b == 'S' || b == 'N' || b == 'G' {
		return req
	}
	select {
	case pc.answer <- 0:
	default:
	}
	return ""
}

// name names a typed message from its header and tracks the
// authentication exchange that names the client's 'p' messages.
func (pc *pconn) name(dir Direction, hdr []byte) string {
	pc.p.mu.Lock()
	defer pc.p.mu.Unlock()
	if dir == ServerToClient {
		name, kind, ok := backendName(hdr)
		if ok {
			pc.auth = kind
		}
		return name
	}
	name := frontendName(hdr[0], pc.auth)
	if name == "SASLInitialResponse" {
		pc.auth = authSASL
	}
	return name
}

// messageFaults counts m and returns the message rules it fires, in the
// order they were added. They are marked fired; announce tells waiters.
func (p *Proxy) messageFaults(pc *pconn, m Msg) []*Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc.seen[m.Dir.index()][m.Name]++
	var fired []*Fault
	for _, f := range p.faults {
		t := f.rule.At
		if t.offset >= 0 || !f.armedFor(m.Conn, m.Dir) || !t.matches(m) {
			continue
		}
		f.hits[m.Conn]++
		if f.hits[m.Conn] >= t.n {
			f.fire(m.Conn)
			fired = append(fired, f)
		}
	}
	return fired
}

// nextByteTrigger returns how many of the n bytes at pos can be forwarded
// before the next byte trigger of connection conn in direction dir, and
// that trigger's offset (-1 when none falls within the n bytes).
func (p *Proxy) nextByteTrigger(conn int, dir Direction, pos int64, n int) (int, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	best := int64(-1)
	for _, f := range p.faults {
		off := f.rule.At.offset
		if off < 0 || !f.armedFor(conn, dir) {
			continue
		}
		if eff := max(off, pos); eff < pos+int64(n) && (best < 0 || eff < best) {
			best = eff
		}
	}
	if best < 0 {
		return n, -1
	}
	return int(best - pos), best
}

// fireByteTriggers fires the byte rules of connection conn in direction
// dir due at offset at (the stream's position) and returns them; announce
// tells waiters.
func (p *Proxy) fireByteTriggers(conn int, dir Direction, at int64) []*Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	var fired []*Fault
	for _, f := range p.faults {
		if off := f.rule.At.offset; off >= 0 && off <= at && f.armedFor(conn, dir) {
			f.fire(conn)
			fired = append(fired, f)
		}
	}
	return fired
}

// announce closes the Fired channels of faults that fired for the first
// time; the pump calls it once everything before the trigger point is
// written.
func (p *Proxy) announce(faults []*Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range faults {
		if !f.announced {
			f.announced = true
			close(f.fired)
		}
	}
}

// count records n bytes written, carrying the first bytes of the
// messages named in names.
func (p *Proxy) count(pc *pconn, dir Direction, n int64, names []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc.bytes[dir.index()] += n
	for _, name := range names {
		pc.fwd[dir.index()][name]++
	}
}
