//go:build unix

package bench

import "syscall"

// CPUTime returns the CPU time (user and system, all threads) this
// process has used so far, in nanoseconds.
func CPUTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
