package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// errStopped is returned by lifecycle methods called after Stop.
var errStopped = errors.New("pgcluster: cluster is stopped")

// Stop stops every PgBouncer started from the cluster and the server, waits
// until their processes have exited, removes [Cluster.BaseDir] and ends the
// watchdog. Calling it again does nothing and returns nil.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	var errs []error
	for b := range c.bouncers {
		errs = append(errs, b.stop())
	}
	clear(c.bouncers)
	errs = append(errs, c.stopServer())
	if err := os.RemoveAll(c.BaseDir); err != nil {
		errs = append(errs, fmt.Errorf("pgcluster: %w", err))
	}
	if c.wd != nil {
		errs = append(errs, c.wd.cancel())
	}
	c.logf("pgcluster: stopped cluster on port %d", c.Port)
	return errors.Join(errs...)
}

// stopServer stops the server if it runs: fast shutdown, then immediate,
// then SIGKILL. It returns once the postmaster process is gone.
func (c *Cluster) stopServer() error {
	pid, err := readPIDFile(filepath.Join(c.Dir, "postmaster.pid"))
	if err != nil {
		return nil // never started, or already stopped
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.pgCtl(ctx, "stop", "-m", "fast", "-w", "-t", "30"); err != nil {
		c.logf("pgcluster: fast shutdown failed, trying immediate: %v", err)
		if err := c.pgCtl(ctx, "stop", "-m", "immediate", "-w", "-t", "10"); err != nil {
			c.logf("pgcluster: immediate shutdown failed: %v", err)
		}
	}
	if waitGone(pid, 10*time.Second) == nil {
		return nil
	}
	c.logf("pgcluster: killing postmaster %d", pid)
	syscall.Kill(pid, syscall.SIGKILL)
	return waitGone(pid, 5*time.Second)
}

// Restart restarts the server with pg_ctl restart in the given shutdown
// mode: "fast" (also used when mode is empty), "immediate" (a crash: the
// server runs recovery when it comes back) or "smart" (waits for every
// client to disconnect first, a PgBouncer's idle server connections
// included, and fails after a minute). Port, files and data stay, except that after
// an immediate restart the last commits may be gone: the cluster runs with
// synchronous_commit=off (run CHECKPOINT first to keep them). Connections
// open before the restart are broken; a running PgBouncer reconnects by
// itself.
func (c *Cluster) Restart(ctx context.Context, mode string) error {
	switch mode {
	case "":
		mode = "fast"
	case "fast", "immediate", "smart":
	default:
		return fmt.Errorf("pgcluster: restart mode %q: want fast, immediate or smart", mode)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errStopped
	}
	err := c.pgCtl(ctx, "restart", "-m", mode, "-w", "-t", "60", "-l", c.LogFile)
	if err != nil {
		return fmt.Errorf("%w\nserver log:\n%s", err, c.Log())
	}
	return nil
}

// Reload makes the server reread its configuration files (pg_ctl reload).
// It returns once the signal is sent, not once the server has reloaded.
func (c *Cluster) Reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return errStopped
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.pgCtl(ctx, "reload")
}

// Exec runs sql as [SuperUser] in [Database], with psql over the Unix
// socket. The statements run one by one, outside any transaction unless sql
// opens one, and the first error stops the script; the returned error
// carries psql's messages.
func (c *Cluster) Exec(ctx context.Context, sql string) error {
	_, err := c.psql(ctx, c.SocketDSN(SuperUser), sql)
	return err
}

// DSN returns a keyword/value connection string for user over TCP to
// 127.0.0.1 and [Database]. The password is left out when empty. Each extra
// is one "key=value" pair (quoted as libpq wants it if needed) and replaces
// a pair of ours with the same key, so "dbname=postgres" picks another
// database.
func (c *Cluster) DSN(user, password string, extra ...string) string {
	return tcpDSN(c.Port, user, password, extra)
}

// SocketDSN returns a keyword/value connection string for user over the
// Unix socket in [Cluster.SocketDir], to [Database]. Every role is trusted
// over the socket. Extras work as in [Cluster.DSN].
func (c *Cluster) SocketDSN(user string, extra ...string) string {
	return conninfo([]setting{
		{"host", c.SocketDir},
		{"port", strconv.Itoa(c.Port)},
		{"user", user},
		{"dbname", Database},
	}, extra)
}

// Log returns the last few kilobytes of the server log, for failure
// messages. It returns "" when there is no log (yet, or any more).
func (c *Cluster) Log() string {
	return tailFile(c.LogFile, 8192)
}

// tcpDSN is the connection string of DSN and Bouncer.DSN.
func tcpDSN(port int, user, password string, extra []string) string {
	base := []setting{
		{"host", "127.0.0.1"},
		{"port", strconv.Itoa(port)},
		{"user", user},
	}
	if password != "" {
		base = append(base, setting{"password", password})
	}
	return conninfo(append(base, setting{"dbname", Database}), extra)
}
