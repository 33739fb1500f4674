package latencyproxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

// frameSize is a test message: its sequence number on its connection and
// when it was sent, in nanoseconds since the run's start.
const frameSize = 16

// load is a run of many connections each sending small messages through
// the proxy, one write each, a little apart, to a sink that checks their
// order and records how long each took.
type load struct {
	delay time.Duration
	conns int
	msgs  int           // per connection
	gap   time.Duration // between two writes of a connection
}

// run returns the one-way time of every message, client write to sink
// read. Each connection's messages must arrive all, in order, then EOF.
func (l load) run(tb testing.TB) []time.Duration {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	start := time.Now()
	results := make(chan sinkResult, l.conns)
	go func() {
		for range l.conns {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { results <- sink(c, start, l.msgs) }()
		}
	}()
	p, err := Start(ln.Addr().String(), l.delay)
	if err != nil {
		tb.Fatal(err)
	}
	defer p.Close()
	addr := p.Addr()
	var wg sync.WaitGroup
	sendErrs := make(chan error, l.conns)
	for range l.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sendErrs <- l.send(addr, start)
		}()
	}
	wg.Wait()
	close(sendErrs)
	for err := range sendErrs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	var all []time.Duration
	for range l.conns {
		r := <-results
		if r.err != nil {
			tb.Fatal(r.err)
		}
		all = append(all, r.delays...)
	}
	return all
}

// send writes l.msgs frames on a new connection through the proxy at
// addr, then closes it.
func (l load) send(addr string, start time.Time) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	var f [frameSize]byte
	for i := range l.msgs {
		binary.BigEndian.PutUint64(f[:8], uint64(i))
		binary.BigEndian.PutUint64(f[8:], uint64(time.Since(start)))
		if _, err := c.Write(f[:]); err != nil {
			return err
		}
		time.Sleep(l.gap)
	}
	return nil
}

type sinkResult struct {
	delays []time.Duration
	err    error
}

// sink reads frames from c until EOF and checks there are want of them,
// numbered in order.
func sink(c net.Conn, start time.Time, want int) sinkResult {
	defer c.Close()
	var r sinkResult
	var f [frameSize]byte
	for {
		if _, err := io.ReadFull(c, f[:]); err != nil {
			if errors.Is(err, io.EOF) && len(r.delays) == want {
				return r
			}
			r.err = fmt.Errorf("after %d of %d frames: %w", len(r.delays), want, err)
			return r
		}
		got := time.Since(start)
		if seq := binary.BigEndian.Uint64(f[:8]); seq != uint64(len(r.delays)) {
			r.err = fmt.Errorf("frame %d arrived as number %d", seq, len(r.delays))
			return r
		}
		r.delays = append(r.delays, got-time.Duration(binary.BigEndian.Uint64(f[8:])))
	}
}

// TestProxyDelaysManySmallWritesInOrder sends many small writes on many
// connections at once: every one arrives, in order on its connection,
// and none sooner than the delay. (How close to the delay they arrive
// depends on the machine; it is logged, and BenchmarkProxyAddedDelay
// reports it for round trips.)
func TestProxyDelaysManySmallWritesInOrder(t *testing.T) {
	l := load{delay: 600 * time.Microsecond, conns: 16, msgs: 200, gap: 100 * time.Microsecond}
	delays := l.run(t)
	if len(delays) != l.conns*l.msgs {
		t.Fatalf("%d frames arrived, want %d", len(delays), l.conns*l.msgs)
	}
	if m := slices.Min(delays); m < l.delay {
		t.Fatalf("a frame arrived after %v, sooner than the delay %v", m, l.delay)
	}
	slices.Sort(delays)
	t.Logf("one-way time for a delay of %v: median %v, p90 %v, p99 %v, max %v", l.delay,
		delays[len(delays)/2], delays[len(delays)*9/10], delays[len(delays)*99/100], delays[len(delays)-1])
}

// BenchmarkProxyAddedDelay reports how much a round trip through the
// proxy costs beyond twice the delay: conns connections each send 16
// bytes to an echo server and wait for them, over and over, as a
// database/sql pool of conns connections does with point queries (each
// message a chunk of its own, 2·conns chunks per round trip). The
// direct entries are the same without the proxy: what the loopback and
// this process's own goroutines cost, which is in the figure too.
func BenchmarkProxyAddedDelay(b *testing.B) {
	const delay = 600 * time.Microsecond
	for _, conns := range []int{1, 8, 16} {
		for _, direct := range []bool{true, false} {
			name := fmt.Sprintf("conns=%d/delay=%v", conns, delay)
			if direct {
				name = fmt.Sprintf("conns=%d/direct", conns)
			}
			b.Run(name, func(b *testing.B) {
				d := delay
				if direct {
					d = 0
				}
				pingPong(b, conns, d, direct)
			})
		}
	}
}

// pingPong runs b.N round trips of 16 bytes on each of conns
// connections, through a proxy adding delay each way unless direct, and
// reports the round trips' quantiles less twice the delay (ns/op is the
// mean round trip).
func pingPong(b *testing.B, conns int, delay time.Duration, direct bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	addr := ln.Addr().String()
	if !direct {
		p, err := Start(addr, delay)
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		addr = p.Addr()
	}
	rtts := make([][]time.Duration, conns)
	errs := make(chan error, conns)
	b.ResetTimer()
	for i := range conns {
		go func() {
			var err error
			rtts[i], err = roundTrips(addr, b.N)
			errs <- err
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	all := slices.Concat(rtts...)
	slices.Sort(all)
	late := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]-2*delay) / 1e3 }
	b.ReportMetric(late(0.5), "late-p50-µs")
	b.ReportMetric(late(0.9), "late-p90-µs")
	b.ReportMetric(late(0.99), "late-p99-µs")
}

// roundTrips times n round trips of 16 bytes on a new connection to addr.
func roundTrips(addr string, n int) ([]time.Duration, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var msg [16]byte
	rtts := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if _, err := c.Write(msg[:]); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, msg[:]); err != nil {
			return nil, err
		}
		rtts = append(rtts, time.Since(start))
	}
	return rtts, nil
}
