package latencyproxy

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// Linux's timerfd flags and clock (linux/timerfd.h, linux/time.h).
const (
	clockMonotonic = 1
	tfdNonblock    = syscall.O_NONBLOCK
	tfdCloexec     = syscall.O_CLOEXEC
)

// itimerspec is struct itimerspec.
type itimerspec struct {
	interval syscall.Timespec
	value    syscall.Timespec
}

// waiter waits until a time with the kernel's timer precision: it arms a
// non-blocking timerfd and waits for it to become readable through the
// network poller, which parks the goroutine, holding no thread, until the
// timer fires. It never reads the timerfd: arming it again resets its
// count, and each expiry is a new edge for the poller. Without a timerfd
// it falls back to time.Sleep.
type waiter struct {
	f    *os.File        // nil: no timerfd, sleep instead
	rc   syscall.RawConn // f's
	step func(fd uintptr) bool
	spec itimerspec

	// One wait's state, for step.
	d     time.Duration
	armed bool
	ok    bool
}

func newWaiter() *waiter {
	w := &waiter{}
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return w
	}
	w.f = os.NewFile(fd, "timerfd")
	rc, err := w.f.SyscallConn()
	if err != nil {
		w.f.Close()
		w.f = nil
		return w
	}
	w.rc, w.step = rc, w.arm
	return w
}

// wait returns once due has passed (never before: time.Now and the
// timerfd read the same monotonic clock).
func (w *waiter) wait(due time.Time) {
	for {
		d := time.Until(due)
		if d <= 0 {
			return
		}
		w.d, w.armed, w.ok = d, false, false
		if w.f == nil || w.rc.Read(w.step) != nil || !w.ok {
			time.Sleep(time.Until(due))
		}
	}
}

// arm is the RawConn.Read callback. Called first, once the poller has
// forgotten any earlier readiness, it sets the timer to fire once, d from
// now, and asks to wait; called again, the timer has fired.
func (w *waiter) arm(fd uintptr) bool {
	if w.armed {
		return true
	}
	w.armed = true
	w.spec.value = syscall.NsecToTimespec(w.d.Nanoseconds())
	_, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0,
		uintptr(unsafe.Pointer(&w.spec)), 0, 0, 0)
	w.ok = errno == 0
	return !w.ok
}

func (w *waiter) close() {
	if w.f != nil {
		w.f.Close()
	}
}
