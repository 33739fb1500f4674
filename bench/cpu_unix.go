//go:build unix

package bench

import (
	"fmt"
	"os"
	"syscall"
)

// CPUTime returns the CPU time (user and system, all threads) this
// process has used so far, in nanoseconds.
func CPUTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// ProcessCPUTime returns the time process pid has run on a CPU so far, in
// nanoseconds, from /proc/<pid>/schedstat (Linux), or 0 when that cannot
// be read.
func ProcessCPUTime(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/schedstat", pid))
	if err != nil {
		return 0
	}
	var ns int64
	if _, err := fmt.Sscan(string(b), &ns); err != nil {
		return 0
	}
	return ns
}
