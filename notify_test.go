package pgpipe

import (
	"strconv"
	"testing"
)

func TestNotifyRingDropsTheOldestPastItsCap(t *testing.T) {
	var r notifyRing
	extra := 1000
	for i := 0; i < MaxPendingNotifications+extra; i++ {
		r.push(Notification{Payload: strconv.Itoa(i)})
	}
	if r.n != MaxPendingNotifications || r.dropped != uint64(extra) {
		t.Fatalf("kept %d, dropped %d; want %d and %d", r.n, r.dropped, MaxPendingNotifications, extra)
	}
	for i := extra; i < MaxPendingNotifications+extra; i++ {
		if n := r.pop(); n.Payload != strconv.Itoa(i) {
			t.Fatalf("pop %d = %q, want %d: oldest first", i-extra, n.Payload, i)
		}
	}
	if r.n != 0 || r.buf != nil {
		t.Fatalf("a drained backlog keeps %d entries, buffer of %d", r.n, len(r.buf))
	}
}

func TestNotifyRingInterleavedPushAndPop(t *testing.T) {
	var r notifyRing
	next, want := 0, 0
	for round := 0; round < 50; round++ {
		for i := 0; i < round%7+1; i++ {
			r.push(Notification{Payload: strconv.Itoa(next)})
			next++
		}
		for i := 0; i < round%5 && r.n > 0; i++ {
			if n := r.pop(); n.Payload != strconv.Itoa(want) {
				t.Fatalf("got %q, want %d", n.Payload, want)
			}
			want++
		}
	}
	for r.n > 0 {
		if n := r.pop(); n.Payload != strconv.Itoa(want) {
			t.Fatalf("got %q, want %d", n.Payload, want)
		}
		want++
	}
	if want != next || r.dropped != 0 {
		t.Fatalf("popped %d of %d, dropped %d", want, next, r.dropped)
	}
}

// BenchmarkNotificationBacklogPastItsCap is the cost of one notification
// arriving when the backlog is full: constant, not proportional to it.
func BenchmarkNotificationBacklogPastItsCap(b *testing.B) {
	var r notifyRing
	for i := 0; i < MaxPendingNotifications; i++ {
		r.push(Notification{})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.push(Notification{})
	}
}
