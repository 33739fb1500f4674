package pgpipe

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// chunkConn is a socket that has data waiting and hands it out as the
// kernel does, as much as fits, and err with the last bytes.
type chunkConn struct {
	net.Conn
	data  []byte
	err   error
	reads int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	c.reads++
	n := copy(p, c.data)
	c.data = c.data[n:]
	if len(c.data) == 0 {
		return n, c.err
	}
	return n, nil
}

// dataRows is a stream of n DataRow messages of one 100-byte value each.
func dataRows(n int) []byte {
	var b []byte
	for range n {
		b = append(b, 'D', 0, 0, 0, 110, 0, 1, 0, 0, 0, 100)
		b = append(b, bytes.Repeat([]byte{'x'}, 100)...)
	}
	return b
}

func TestReaderReadsTheSocketInLargeChunksForSmallReads(t *testing.T) {
	stream := dataRows(1000) // 111,000 bytes
	conn := &chunkConn{data: stream}
	r := &stashReader{conn: conn}
	var got []byte
	p := make([]byte, 8<<10) // what pgproto3 asks for
	for len(got) < len(stream) {
		n, err := r.Read(p)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		got = append(got, p[:n]...)
	}
	if !bytes.Equal(got, stream) {
		t.Fatal("the bytes read differ from those sent")
	}
	if want := (len(stream) + readAhead - 1) / readAhead; conn.reads > want {
		t.Fatalf("%d socket reads for %d bytes, want %d", conn.reads, len(stream), want)
	}
}

func TestReaderHandsOutTheBytesBeforeTheErrorThatCameWithThem(t *testing.T) {
	stream := dataRows(3)
	r := &stashReader{conn: &chunkConn{data: stream, err: io.EOF}}
	var got []byte
	p := make([]byte, 100)
	for {
		n, err := r.Read(p)
		got = append(got, p[:n]...)
		if err != nil {
			if !errors.Is(err, io.EOF) || !bytes.Equal(got, stream) {
				t.Fatalf("%d of %d bytes, then %v; want all of them, then EOF", len(got), len(stream), err)
			}
			break
		}
		if len(got) < len(stream) && r.buffered() != len(stream)-len(got) {
			t.Fatalf("after %d bytes, %d stashed; want %d (an idle check must see them)", len(got), r.buffered(), len(stream)-len(got))
		}
	}
	if !r.eof {
		t.Fatal("the server's hang-up was not recorded")
	}
}
