//go:build unix

package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
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

// IOSyscalls returns how many read and write system calls (read, write,
// recvfrom, sendto, ...) this process has made so far, from
// /proc/self/io (Linux), or 0 when that cannot be read.
func IOSyscalls() int64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	var n int64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := bytes.Cut(sc.Bytes(), []byte(": "))
		if string(k) == "syscr" || string(k) == "syscw" {
			c, _ := strconv.ParseInt(string(v), 10, 64)
			n += c
		}
	}
	return n
}
