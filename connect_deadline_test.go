package pgpipe

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// pastDeadline is a context whose deadline has passed but whose timer has
// not fired yet: Done is still open and Err nil. The net package's dial
// meets it when the socket's deadline (set from the context's) fires a
// moment before the context reports being done.
type pastDeadline struct{ context.Context }

func (pastDeadline) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }

// TestDialTimeoutAtTheContextDeadlineIsDeadlineExceeded: a dial that
// fails with the socket's "i/o timeout" once the context's deadline has
// passed is the context's deadline, as errors.Is tells, however the timers
// raced (a storm of short timeouts against a server with password
// authentication met this).
func TestDialTimeoutAtTheContextDeadlineIsDeadlineExceeded(t *testing.T) {
	cfg := mustParse(t, "host=127.0.0.1 port=1 sslmode=disable", fakeEnv(nil))
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.ErrDeadlineExceeded}
	}
	cn, err := NewConnectorConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cn.Connect(pastDeadline{context.Background()})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want errors.Is(err, context.DeadlineExceeded)", err)
	}
	if want := "i/o timeout"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v; want the network's own words (%q) kept", err, want)
	}
}
