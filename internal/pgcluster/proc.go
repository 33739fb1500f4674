package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runAs is the OS identity that owns the cluster's files and runs its
// processes. PostgreSQL and PgBouncer refuse to run as root, so a root caller
// hands both to the "postgres" OS user; anyone else runs them as themselves.
type runAs struct {
	cred     *syscall.Credential // nil: the current user
	uid, gid int                 // for chown; meaningful only when cred != nil
}

// currentRunAs returns the identity to run the servers as.
func currentRunAs() (runAs, error) {
	if os.Geteuid() != 0 {
		return runAs{}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return runAs{}, fmt.Errorf("pgcluster: running as root needs an OS user named postgres "+
			"(`apt-get install postgresql` creates it): %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return runAs{}, fmt.Errorf("pgcluster: OS user postgres: %w", err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	groups, _ := u.GroupIds()
	for _, g := range groups {
		if n, err := strconv.Atoi(g); err == nil {
			cred.Groups = append(cred.Groups, uint32(n))
		}
	}
	return runAs{cred: cred, uid: uid, gid: gid}, nil
}

// chown gives path to the run-as user; a no-op when running as ourselves.
func (r runAs) chown(path string) error {
	if r.cred == nil {
		return nil
	}
	if err := os.Lchown(path, r.uid, r.gid); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// chownTree gives root and everything under it to the run-as user.
func (r runAs) chownTree(root string) error {
	if r.cred == nil {
		return nil
	}
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		return r.chown(path)
	})
}

// writeFile writes a file owned by the run-as user.
func (r runAs) writeFile(path string, data []byte, perm os.FileMode) error {
	if err := os.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return r.chown(path)
}

// mkdir makes a directory owned by the run-as user.
func (r runAs) mkdir(path string, perm os.FileMode) error {
	if err := os.Mkdir(path, perm); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return r.chown(path)
}

// command prepares a program to run as the run-as user, in dir (which is also
// its HOME), with the caller's PG* variables removed so that nothing in the
// caller's environment (PGHOST, PGSSLMODE, ...) changes what it does.
func (r runAs) command(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = childEnv(dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// childEnv is the environment of every process we start.
func childEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "HOME=") ||
			strings.HasPrefix(kv, "LC_ALL=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "LC_ALL=C", "PGAPPNAME=pgcluster")
}

// run runs cmd and returns its combined output; an error carries that output.
func run(cmd *exec.Cmd) (string, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	if err != nil {
		if text == "" {
			return "", fmt.Errorf("pgcluster: %s: %w", filepath.Base(cmd.Path), err)
		}
		return text, fmt.Errorf("pgcluster: %s: %w: %s", filepath.Base(cmd.Path), err, text)
	}
	return text, nil
}

// hasIPv6Loopback reports whether this host can listen on ::1.
func hasIPv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// pickPort picks the port for a server; a variable so that tests can hand
// out a taken one.
var pickPort = freePort

// freePort returns a TCP port that is free right now on 127.0.0.1 and, with
// v6, on ::1 too. Someone may take it before we use it; callers retry.
func freePort(v6 bool) (int, error) {
	var lastErr error
	for range 20 {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("pgcluster: pick a port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if v6 {
			l6, err := net.Listen("tcp6", net.JoinHostPort("::1", strconv.Itoa(port)))
			if err != nil {
				l.Close()
				lastErr = err
				continue
			}
			l6.Close()
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("pgcluster: pick a port free on 127.0.0.1 and ::1: %w", lastErr)
}

// processGone reports whether pid no longer runs. A zombie counts as gone:
// a server whose parent exited is reaped by PID 1, and some container PID 1s
// never reap.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// waitGone waits until pid has exited or timeout has passed.
func waitGone(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("pgcluster: process %d still running after %v", pid, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// readPIDFile returns the PID on the first line of a pid file (PostgreSQL's
// postmaster.pid or our bouncer.pid).
func readPIDFile(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}

// fileSize returns the size of a file, 0 if it does not exist.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readFrom returns a file's contents from offset off on ("" on error).
func readFrom(path string, off int64) string {
	b, err := os.ReadFile(path)
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

// tailFile returns about the last n bytes of a file, starting at a line.
func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-n, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil {
		return ""
	}
	if off > 0 {
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	return string(buf)
}
