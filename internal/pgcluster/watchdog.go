package pgcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// watchdogScript runs in a small sh process beside each cluster. It blocks
// reading its stdin, the read end of a pipe whose only write end lives in our
// process. If our process dies, however it dies, the kernel closes the write
// end, read returns EOF, and the script stops every PgBouncer (by the
// bouncer.pid files under the base directory) and the server, and removes the
// base directory. Stop writes "cancel" instead, and the script exits without
// touching anything.
//
// Arguments: $1 base directory, $2 pg_ctl, $3 data directory.
const watchdogScript = `read -r line
[ "$line" = cancel ] && exit 0
for f in "$1"/*/bouncer.pid; do
	[ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null
done
"$2" stop -D "$3" -m immediate -w -t 20 >/dev/null 2>&1
rm -rf "$1"
`

// watchdog is the handle on a running watchdog process.
type watchdog struct {
	cmd  *exec.Cmd
	wfd  int           // write end of the pipe; a raw fd so no finalizer closes it
	done chan struct{} // closed once cmd.Wait has returned
}

// startWatchdog starts the watchdog for a cluster whose files live in base.
// It runs as the run-as user in its own process group, so a Ctrl-C aimed at
// the test binary does not kill it before it has cleaned up.
func startWatchdog(r runAs, base, pgCtl, dataDir string) (*watchdog, error) {
	rfd, wfd, err := cloexecPipe()
	if err != nil {
		return nil, fmt.Errorf("pgcluster: watchdog pipe: %w", err)
	}
	stdin := os.NewFile(uintptr(rfd), "watchdog-stdin")
	defer stdin.Close() // the child holds its own copy

	// context.Background: the watchdog must outlive the context given to Start.
	cmd := r.command(context.Background(), "/", "/bin/sh", "-c", watchdogScript,
		"pgcluster-watchdog", base, pgCtl, dataDir)
	cmd.Stdin = stdin
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		syscall.Close(wfd)
		return nil, fmt.Errorf("pgcluster: start watchdog: %w", err)
	}
	w := &watchdog{cmd: cmd, wfd: wfd, done: make(chan struct{})}
	// This goroutine only reaps the watchdog; it ends when the watchdog exits,
	// which Stop causes through cancel.
	go func() {
		cmd.Wait()
		close(w.done)
	}()
	return w, nil
}

// cancel tells the watchdog to exit without cleaning up and waits for it.
func (w *watchdog) cancel() error {
	_, werr := syscall.Write(w.wfd, []byte("cancel\n"))
	syscall.Close(w.wfd)
	select {
	case <-w.done:
		if werr != nil {
			return fmt.Errorf("pgcluster: cancel watchdog: %w", werr)
		}
		return nil
	case <-time.After(5 * time.Second):
		syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
		<-w.done
		return fmt.Errorf("pgcluster: watchdog %d did not exit; killed it", w.cmd.Process.Pid)
	}
}

// cloexecPipe makes a pipe whose ends are not inherited by any child we
// start (the watchdog gets the read end as its stdin explicitly). If the
// write end leaked into a long-lived child, the watchdog would never see EOF.
func cloexecPipe() (rfd, wfd int, err error) {
	var p [2]int
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := syscall.Pipe(p[:]); err != nil {
		return 0, 0, err
	}
	syscall.CloseOnExec(p[0])
	syscall.CloseOnExec(p[1])
	return p[0], p[1], nil
}
