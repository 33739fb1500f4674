//go:build !unix

package bench

// CPUTime returns 0: process CPU time is measured on Unix systems only.
func CPUTime() int64 { return 0 }

// ProcessCPUTime returns 0: it reads /proc on Unix systems only.
func ProcessCPUTime(pid int) int64 { return 0 }

// IOSyscalls returns 0: it reads /proc on Unix systems only.
func IOSyscalls() int64 { return 0 }
