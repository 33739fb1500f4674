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
// non-blocking timerfd and reads it through *os.File, which parks the
// goroutine on the network poller until the timer fires, holding no
// thread. Without a timerfd it falls back to time.Sleep.
type waiter struct {
	fd   int
	f    *os.File // nil: no timerfd, sleep instead
	spec itimerspec
	buf  [8]byte
}

func newWaiter() *waiter {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return &waiter{fd: -1}
	}
	return &waiter{fd: int(fd), f: os.NewFile(fd, "timerfd")}
}

// wait returns once due has passed (never before: time.Now and the
// timerfd read the same monotonic clock).
func (w *waiter) wait(due time.Time) {
	for {
		d := time.Until(due)
		if d <= 0 {
			return
		}
		if w.f == nil || !w.arm(d) {
			time.Sleep(d)
			continue
		}
		if _, err := w.f.Read(w.buf[:]); err != nil {
			time.Sleep(time.Until(due))
		}
	}
}

// arm sets the timer to fire once, d from now.
func (w *waiter) arm(d time.Duration) bool {
	w.spec.value = syscall.NsecToTimespec(d.Nanoseconds())
	_, _, errno := syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, uintptr(w.fd), 0,
		uintptr(unsafe.Pointer(&w.spec)), 0, 0, 0)
	return errno == 0
}

func (w *waiter) close() {
	if w.f != nil {
		w.f.Close()
	}
}
