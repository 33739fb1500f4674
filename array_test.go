package pgpipe

import (
	"testing"

	"github.com/pgpipe/pgpipe/internal/codec"
)

// TestArrayWrapsTheCodecAndKeepsItsMessages checks Array through the root
// package: it scans and values as package codec does, and a message that
// names its type names pgpipe's, as before the codec moved out.
func TestArrayWrapsTheCodecAndKeepsItsMessages(t *testing.T) {
	var ids []int64
	if err := Array(&ids).Scan("{1,2}"); err != nil || len(ids) != 2 || ids[1] != 2 {
		t.Fatalf("Scan: %v, %v", ids, err)
	}
	if v, err := Array(ids).Value(); err != nil || len(v.([]int64)) != 2 {
		t.Fatalf("Value: %v, %v", v, err)
	}
	_, err := codec.CheckArg(Array([]struct{}{{}}))
	const want = "pgpipe: *pgpipe.arrayValue.Value returned unsupported type []struct {}"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}
