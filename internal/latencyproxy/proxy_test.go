package latencyproxy

import (
	"io"
	"net"
	"testing"
	"time"
)

func TestProxyDelaysEachDirectionAndKeepsOrder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c) // echo
		c.Close()
	}()
	p, err := Start(ln.Addr().String(), 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	msg := []byte("hello, delayed world")
	for i := range 3 {
		if _, err := c.Write(msg[i*7 : min(len(msg), i*7+7)]); err != nil {
			t.Fatal(err)
		}
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != string(msg) {
		t.Fatalf("got %q", got)
	}
	// A round trip crosses the proxy twice: at least 40ms. (A lower bound
	// only: the machine may be slow, never faster than the delay.)
	if rtt := time.Since(start); rtt < 40*time.Millisecond {
		t.Fatalf("round trip took %v, less than twice the delay", rtt)
	}
}
