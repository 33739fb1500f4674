package integration_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

func TestWaitForNotificationThroughRaw(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	listener := openConn(t)
	ch := fmt.Sprintf("chan_%d", time.Now().UnixNano())
	if _, err := listener.ExecContext(ctx, "LISTEN "+ch); err != nil {
		t.Fatal(err)
	}
	sender := openDB(t)
	if _, err := sender.Exec("SELECT pg_notify($1, $2)", ch, "hello"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := pgpipe.WaitForNotification(wctx, listener)
	if err != nil || n.Channel != ch || n.Payload != "hello" || n.PID == 0 {
		t.Fatalf("%+v, %v", n, err)
	}
	short, cancel2 := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel2()
	if _, err := pgpipe.WaitForNotification(short, listener); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting with nothing sent: %v, want DeadlineExceeded", err)
	}
	stillWorks(t, listener)
}

func TestNotificationsDuringQueriesAreKept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	listener := openConn(t)
	ch := fmt.Sprintf("kept_%d", time.Now().UnixNano())
	listener.ExecContext(ctx, "LISTEN "+ch)
	sender := openDB(t)
	for i := 0; i < 3; i++ {
		sender.Exec("SELECT pg_notify($1, $2)", ch, fmt.Sprint(i))
		// Queries on the listening connection read the notifications
		// that arrived in between; they must be kept.
		stillWorks(t, listener)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		n, err := pgpipe.WaitForNotification(wctx, listener)
		if err != nil || n.Payload != fmt.Sprint(i) {
			t.Fatalf("notification %d: %+v, %v", i, n, err)
		}
	}
}

func TestListenerReconnectsAndListensAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	app := fmt.Sprintf("listener_%d", time.Now().UnixNano())
	cn, err := pgpipe.NewConnectorConfig(withSettings(t, serverConfig(t), "application_name="+app))
	if err != nil {
		t.Fatal(err)
	}
	var reconnects atomic.Int32
	l := pgpipe.NewListener(cn, pgpipe.ListenerOptions{OnReconnect: func(error) { reconnects.Add(1) }})
	defer l.Close()
	ch := "events_" + app
	if err := l.Listen(ctx, ch); err != nil {
		t.Fatal(err)
	}
	sender := openDB(t)
	// The LISTEN may still be on its way when Listen returned for a
	// connection being opened: send until one arrives.
	receive := func(payload string) {
		t.Helper()
		deadline := time.After(15 * time.Second)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			sender.Exec("SELECT pg_notify($1, $2)", ch, payload)
			select {
			case n, ok := <-l.Notifications():
				if !ok {
					t.Fatal("Notifications closed")
				}
				if n.Payload == payload {
					return
				}
			case <-tick.C:
			case <-deadline:
				t.Fatalf("no notification %q", payload)
			}
		}
	}
	receive("before")
	if _, err := sender.Exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app); err != nil {
		t.Fatal(err)
	}
	receive("after")
	if reconnects.Load() < 1 {
		t.Fatal("OnReconnect was not called")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-l.Notifications(); ok {
		// drain what was buffered
		for range l.Notifications() {
		}
	}
}
