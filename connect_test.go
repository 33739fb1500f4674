package pgpipe

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Under sslmode=prefer a dial that failed reached no server, so nothing
// refused TLS: as libpq, the driver does not dial again without TLS
// (which doubled the wait and the message).
func TestPreferDoesNotRedialAfterAFailedDial(t *testing.T) {
	for _, mode := range []string{"prefer", "allow", "disable", "require"} {
		cfg, err := ParseDSN("host=db.invalid port=5432 user=u sslmode=" + mode)
		if err != nil {
			t.Fatal(err)
		}
		dials := 0
		refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials++
			return nil, refused
		}
		cn, err := NewConnectorConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cn.Connect(context.Background())
		if dials != 1 {
			t.Errorf("sslmode=%s: %d dials, want 1 (%v)", mode, dials, err)
		}
		if err == nil || strings.Contains(err.Error(), "without TLS") || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("sslmode=%s: %v; want the dial's error once", mode, err)
		}
	}
}

// A dial that fails because the context's deadline passed is reported as
// the context's error (database/sql and callers branch on it), under
// every sslmode, now that sslmode=prefer does not dial a second time.
func TestDialPastTheDeadlineWrapsTheContextsError(t *testing.T) {
	for _, mode := range []string{"prefer", "disable"} {
		cfg, err := ParseDSN("host=db.invalid port=5432 user=u sslmode=" + mode)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			<-ctx.Done()
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
		}
		cn, err := NewConnectorConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		_, err = cn.Connect(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("sslmode=%s: %v; want an error wrapping context.DeadlineExceeded", mode, err)
		}
	}
}
