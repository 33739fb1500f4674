package pgpipe

import (
	"encoding/binary"
	"testing"
)

// TestFrameGuardStopsAtTheLyingHeader feeds a stream in chunks of every
// size: the guard lets through every byte before the first header that
// claims more than its type ever has, and nothing after that header (of
// which the bytes in earlier chunks went through: they are not enough for
// a message); a long type may claim more.
func TestFrameGuardStopsAtTheLyingHeader(t *testing.T) {
	msg := func(typ byte, body int, claim int) []byte {
		b := []byte{typ}
		b = binary.BigEndian.AppendUint32(b, uint32(claim))
		return append(b, make([]byte, body)...)
	}
	var stream []byte
	stream = append(stream, msg('D', 40_000, 40_004)...) // a long DataRow
	stream = append(stream, msg('C', 10, 14)...)
	stream = append(stream, msg('Z', 1, 5)...)
	lie := len(stream)
	stream = append(stream, msg('C', 3, 1<<30)...) // a CommandComplete of a gigabyte
	for size := 1; size <= 64; size++ {
		var g frameGuard
		passed := 0
		for off := 0; off < len(stream) && g.err == nil; off += size {
			chunk := stream[off:min(off+size, len(stream))]
			passed += g.scan(chunk)
		}
		if g.err == nil || passed < lie || passed >= lie+5 {
			t.Fatalf("chunks of %d bytes: %d bytes let through, error %v; want %d to %d and an error", size, passed, g.err, lie, lie+4)
		}
	}
	var g frameGuard
	if n := g.scan(stream[:lie]); n != lie || g.err != nil {
		t.Fatalf("an honest stream: %d of %d bytes let through, error %v", n, lie, g.err)
	}
}
