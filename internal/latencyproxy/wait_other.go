//go:build !linux

package latencyproxy

import "time"

// waiter waits with time.Sleep, so a delay may be late by the timer's
// granularity (about a millisecond).
type waiter struct{}

func newWaiter() *waiter { return &waiter{} }

// wait returns once due has passed.
func (w *waiter) wait(due time.Time) {
	for d := time.Until(due); d > 0; d = time.Until(due) {
		time.Sleep(d)
	}
}

func (w *waiter) close() {}
