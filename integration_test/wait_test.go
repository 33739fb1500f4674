package integration_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"
)

// The tests' verdicts do not depend on how fast the machine is: a test
// waits for the event it is about (a fault fired, the server runs the
// statement, the pool settled), and the only clock is hangGuard, a bound
// so wide that only a hang trips it.

// hangGuard bounds every wait for an event.
const hangGuard = 2 * time.Minute

// pollInterval is how often a condition that has no event of its own (a
// row of pg_stat_activity) is looked at again. It is not a
// synchronisation: a slower machine takes more polls, not another verdict.
const pollInterval = 20 * time.Millisecond

// waitUntil polls cond until it holds, failing t when it still does not
// after hangGuard. cond returns whether it holds and, for the failure
// message, what it saw.
func waitUntil(t testing.TB, what string, cond func() (ok bool, saw string, err error)) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for {
		ok, saw, err := cond()
		if err != nil {
			t.Fatalf("waiting until %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %v until %s: %s", hangGuard, what, saw)
		}
		time.Sleep(pollInterval)
	}
}

// eventContext is a context whose deadline is an event: it ends, with
// context.DeadlineExceeded, a fixed time after a channel is closed, and
// at the latest after hangGuard. Ended tells when it ended.
type eventContext struct {
	context.Context // context.Background: no values, no deadline
	done            chan struct{}
	once            sync.Once
	mu              sync.Mutex
	ended           time.Time
}

// contextAfter returns a context that ends after once event is closed.
// stop ends it now and releases its goroutine; call it when done.
func contextAfter(event <-chan struct{}, after time.Duration) (ctx *eventContext, stop func()) {
	c := &eventContext{Context: context.Background(), done: make(chan struct{})}
	quit, finished := make(chan struct{}), make(chan struct{})
	// Owned by contextAfter's caller through stop, which waits for it.
	go func() {
		defer close(finished)
		guard := time.NewTimer(hangGuard)
		defer guard.Stop()
		select {
		case <-event:
		case <-guard.C:
			c.end()
			return
		case <-quit:
			return
		}
		timer := time.NewTimer(after)
		defer timer.Stop()
		select {
		case <-timer.C:
			c.end()
		case <-quit:
		}
	}()
	return c, func() { close(quit); <-finished; c.end() }
}

func (c *eventContext) end() {
	c.once.Do(func() {
		c.mu.Lock()
		c.ended = time.Now()
		c.mu.Unlock()
		close(c.done)
	})
}

// Ended returns when c ended, or the zero time.
func (c *eventContext) Ended() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended
}

func (c *eventContext) Done() <-chan struct{} { return c.done }

func (c *eventContext) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// backendSleeps returns a channel closed once backend pid is seen
// sleeping in pg_sleep, polling pg_stat_activity through admin; it is
// closed too when stop is, or after hangGuard (the test then fails on
// what the sleep returns).
func backendSleeps(admin *sql.DB, pid int, stop <-chan struct{}) <-chan struct{} {
	sleeping := make(chan struct{})
	// Owned by the caller, who closes stop.
	go func() {
		defer close(sleeping)
		deadline := time.Now().Add(hangGuard)
		for time.Now().Before(deadline) {
			var n int
			err := admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND wait_event = 'PgSleep'", pid).Scan(&n)
			if err != nil || n > 0 {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(pollInterval):
			}
		}
	}()
	return sleeping
}

// cancelWhenSleeping returns a context that ends, with
// context.DeadlineExceeded, as soon as backend pid is seen in pg_sleep:
// the cancel it causes always meets a running statement, however slow
// the machine.
func cancelWhenSleeping(t testing.TB, admin *sql.DB, pid int) context.Context {
	t.Helper()
	stopPoll := make(chan struct{})
	ctx, stop := contextAfter(backendSleeps(admin, pid, stopPoll), 0)
	t.Cleanup(func() { close(stopPoll); stop() })
	return ctx
}
