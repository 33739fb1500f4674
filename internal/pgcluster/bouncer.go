package pgcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// BouncerOptions configures [Cluster.StartPgBouncer].
type BouncerOptions struct {
	// PoolMode is transaction (the default), session or statement.
	PoolMode string
	// DefaultPoolSize is the number of server connections per user and
	// database pair; 20 when zero.
	DefaultPoolSize int
	// MaxClientConn is the number of client connections PgBouncer accepts;
	// 500 when zero.
	MaxClientConn int
	// Settings are extra [pgbouncer] section settings; they override ours.
	// They must leave listen_addr, listen_port and logging to stderr alone:
	// StartPgBouncer learns that PgBouncer is up from its log.
	Settings map[string]string
}

// Bouncer is a running PgBouncer in front of a [Cluster]. It listens on
// 127.0.0.1:Port and sends every database to the cluster over TCP, without
// TLS. Clients authenticate with auth_type trust: any password is accepted,
// but the user must be one of the cluster's roles with a password
// ([SuperUser], [MD5User], [ScramUser], [CleartextUser]; [SSLUser] is known
// but the server rejects it without TLS, and [CertUser] is not known).
// PgBouncer logs in to the server with the password from its auth_file, so
// the server-side method (md5, scram-sha-256, password) is exercised between
// PgBouncer and the server. [SuperUser] may use the admin console (database
// "pgbouncer").
type Bouncer struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	// Dir holds pgbouncer.ini, the auth_file, the log and the pid file;
	// Stop removes it.
	Dir string
	// LogFile is PgBouncer's log (its stderr).
	LogFile string

	c        *Cluster
	cmd      *exec.Cmd
	exited   chan struct{} // closed once cmd.Wait has returned
	stopOnce sync.Once
	stopErr  error
}

// StartPgBouncer starts a PgBouncer in front of the cluster and returns
// once it accepts connections. It wraps [ErrNoPgBouncer] when pgbouncer is
// not installed. Stop it with [Bouncer.Stop], or let [Cluster.Stop] (or the
// watchdog) do it.
func (c *Cluster) StartPgBouncer(ctx context.Context, opt BouncerOptions) (*Bouncer, error) {
	began := time.Now()
	bin, err := findPgBouncer()
	if err != nil {
		return nil, err
	}
	settings, err := bouncerSettings(opt)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, errStopped
	}
	c.bouncerSeq++
	b := &Bouncer{c: c, Dir: filepath.Join(c.BaseDir, "bouncer"+strconv.Itoa(c.bouncerSeq))}
	b.LogFile = filepath.Join(b.Dir, "pgbouncer.log")
	if err := b.start(ctx, bin, settings); err != nil {
		if tail := b.Log(); tail != "" {
			err = fmt.Errorf("%w\npgbouncer log:\n%s", err, tail)
		}
		b.stop()
		return nil, err
	}
	c.bouncers[b] = true
	c.logf("pgcluster: started PgBouncer (%s) on port %d in %v", settings[0].value, b.Port,
		time.Since(began).Round(time.Millisecond))
	return b, nil
}

// bouncerSettings returns the [pgbouncer] settings common to every
// attempt; the first is pool_mode.
func bouncerSettings(opt BouncerOptions) ([]setting, error) {
	switch opt.PoolMode {
	case "":
		opt.PoolMode = "transaction"
	case "transaction", "session", "statement":
	default:
		return nil, fmt.Errorf("pgcluster: pool mode %q: want transaction, session or statement", opt.PoolMode)
	}
	if opt.DefaultPoolSize == 0 {
		opt.DefaultPoolSize = 20
	}
	if opt.MaxClientConn == 0 {
		opt.MaxClientConn = 500
	}
	s := []setting{
		{"pool_mode", opt.PoolMode},
		{"default_pool_size", strconv.Itoa(opt.DefaultPoolSize)},
		{"max_client_conn", strconv.Itoa(opt.MaxClientConn)},
		{"listen_addr", "127.0.0.1"},
		{"unix_socket_dir", ""},
		{"auth_type", "trust"},
		{"admin_users", SuperUser},
		{"stats_users", SuperUser},
		{"ignore_startup_parameters", "extra_float_digits,options"},
		{"server_login_retry", "1"},
		{"server_tls_sslmode", "disable"},
	}
	for _, extra := range sortedSettings(opt.Settings) {
		s = setSetting(s, extra)
	}
	return s, nil
}

// setSetting replaces the setting with the same key, or appends.
func setSetting(s []setting, v setting) []setting {
	for i := range s {
		if s[i].key == v.key {
			s[i] = v
			return s
		}
	}
	return append(s, v)
}

// start writes the configuration and starts PgBouncer, picking another port
// when someone else took the first one in the meantime.
func (b *Bouncer) start(ctx context.Context, bin string, settings []setting) error {
	r := b.c.runAs
	if err := r.mkdir(b.Dir, 0o700); err != nil {
		return err
	}
	if err := r.writeFile(filepath.Join(b.Dir, "userlist.txt"), []byte(authFile()), 0o600); err != nil {
		return err
	}
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		if b.Port, err = pickPort(false); err != nil {
			return err
		}
		ini := b.ini(settings)
		if err := r.writeFile(filepath.Join(b.Dir, "pgbouncer.ini"), []byte(ini), 0o600); err != nil {
			return err
		}
		logStart := fileSize(b.LogFile)
		if err := b.launch(bin); err != nil {
			return err
		}
		if err = b.waitReady(ctx, logStart); err == nil {
			return nil
		}
		b.kill()
		if !strings.Contains(readFrom(b.LogFile, logStart), "Address already in use") {
			return err
		}
		b.c.logf("pgcluster: port %d was taken; trying another", b.Port)
	}
	return fmt.Errorf("pgcluster: no free port for pgbouncer after 5 attempts: %w", err)
}

// ini renders pgbouncer.ini.
func (b *Bouncer) ini(settings []setting) string {
	var sb strings.Builder
	sb.WriteString("; Written by pgcluster.\n[databases]\n")
	fmt.Fprintf(&sb, "* = host=127.0.0.1 port=%d\n\n[pgbouncer]\n", b.c.Port)
	fmt.Fprintf(&sb, "listen_port = %d\n", b.Port)
	fmt.Fprintf(&sb, "auth_file = %s\n", filepath.Join(b.Dir, "userlist.txt"))
	for _, s := range settings {
		fmt.Fprintf(&sb, "%s = %s\n", s.key, s.value)
	}
	return sb.String()
}

// authFile lists the roles PgBouncer knows, with their passwords in clear
// so that it can log in to the server whatever method the server asks for.
func authFile() string {
	var sb strings.Builder
	for _, u := range [][2]string{
		{SuperUser, SuperPassword},
		{MD5User, MD5Password},
		{ScramUser, ScramPassword},
		{CleartextUser, CleartextPassword},
		{SSLUser, SSLPassword},
	} {
		fmt.Fprintf(&sb, "%s %s\n", quoteAuthFile(u[0]), quoteAuthFile(u[1]))
	}
	return sb.String()
}

// quoteAuthFile quotes a name or password for PgBouncer's auth_file.
func quoteAuthFile(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// launch starts pgbouncer in the foreground, as the run-as user, in its own
// process group (so a Ctrl-C aimed at the test binary leaves it to the
// watchdog), and records its pid where the watchdog looks.
func (b *Bouncer) launch(bin string) error {
	log, err := os.OpenFile(b.LogFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	defer log.Close() // the child has its own copy
	if err := b.c.runAs.chown(b.LogFile); err != nil {
		return err
	}
	// context.Background: PgBouncer must outlive the context given to Start.
	cmd := b.c.runAs.command(context.Background(), b.Dir, bin, filepath.Join(b.Dir, "pgbouncer.ini"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr.Setpgid = true
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgcluster: start pgbouncer: %w", err)
	}
	b.cmd, b.exited = cmd, make(chan struct{})
	// This goroutine only reaps PgBouncer; it ends when PgBouncer exits,
	// which Stop (or the watchdog) causes.
	go func(exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(b.exited)
	pid := []byte(strconv.Itoa(cmd.Process.Pid) + "\n")
	return b.c.runAs.writeFile(filepath.Join(b.Dir, "bouncer.pid"), pid, 0o644)
}

// waitReady waits until PgBouncer's log, from offset logStart on, says it
// listens on its port, or it exits, or ctx ends. The log line, unlike a
// successful dial, cannot come from someone else who holds the port.
func (b *Bouncer) waitReady(ctx context.Context, logStart int64) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	want := fmt.Sprintf("listening on 127.0.0.1:%d", b.Port)
	for {
		if strings.Contains(readFrom(b.LogFile, logStart), want) {
			return nil
		}
		select {
		case <-b.exited:
			return fmt.Errorf("pgcluster: pgbouncer exited at startup: %v", b.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("pgcluster: wait for pgbouncer to log %q: %w", want, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// DSN returns a keyword/value connection string for user through PgBouncer
// to [Database]; see [Cluster.DSN] for password and extra.
func (b *Bouncer) DSN(user, password string, extra ...string) string {
	return tcpDSN(b.Port, user, password, extra)
}

// Log returns the last few kilobytes of PgBouncer's log.
func (b *Bouncer) Log() string {
	return tailFile(b.LogFile, 8192)
}

// Stop stops PgBouncer, waits until it has exited and removes
// [Bouncer.Dir]. Calling it again returns the first call's result.
func (b *Bouncer) Stop() error {
	err := b.stop()
	b.c.mu.Lock()
	delete(b.c.bouncers, b)
	b.c.mu.Unlock()
	return err
}

// stop is Stop without leaving the cluster's list (Cluster.Stop, which
// holds the cluster's lock, clears the list itself).
func (b *Bouncer) stop() error {
	b.stopOnce.Do(func() {
		b.stopErr = b.kill()
		if err := os.RemoveAll(b.Dir); err != nil && b.stopErr == nil {
			b.stopErr = fmt.Errorf("pgcluster: %w", err)
		}
	})
	return b.stopErr
}

// kill ends the PgBouncer process: SIGTERM (immediate shutdown), then
// SIGKILL after five seconds. It returns once the process has exited.
func (b *Bouncer) kill() error {
	if b.cmd == nil {
		return nil
	}
	select {
	case <-b.exited:
		return nil
	default:
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	b.cmd.Process.Kill()
	<-b.exited
	return fmt.Errorf("pgcluster: pgbouncer %d ignored SIGTERM; killed it", b.cmd.Process.Pid)
}
