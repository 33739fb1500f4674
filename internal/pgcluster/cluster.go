package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Options configures [Start].
type Options struct {
	// TLS generates a CA, a server certificate and a client certificate for
	// [CertUser], and turns ssl on.
	TLS bool
	// Settings are extra postgresql.conf settings; they override ours.
	// Values are written quoted, so give them as SHOW would print them.
	Settings map[string]string
	// Logf, when set, receives a line per step of Start, StartPgBouncer and
	// Stop, with timings.
	Logf func(format string, args ...any)
}

// Cluster is a running throwaway PostgreSQL server. Its exported fields are
// set by [Start] and must not be changed. DSN, SocketDSN, Exec and Log may be
// called from any goroutine; Restart, Reload, StartPgBouncer and Stop take
// turns.
type Cluster struct {
	// BaseDir is the temporary directory holding everything below; Stop
	// removes it.
	BaseDir string
	// Dir is the data directory.
	Dir string
	// SocketDir is the Unix socket directory (a short path).
	SocketDir string
	// Port is the TCP port on 127.0.0.1 (and on ::1 when IPv6 is true).
	Port int
	// IPv6 reports whether the server listens on ::1 too.
	IPv6 bool
	// BinDir is the directory of the PostgreSQL programs used.
	BinDir string
	// LogFile is the server log, inside Dir.
	LogFile string

	// CAFile signed ServerCertFile and ClientCertFile. CAFile,
	// ServerCertFile, ClientCertFile, ClientKeyFile and WrongCAFile are PEM
	// files, set only with Options.TLS; the calling process can read them.
	CAFile, ServerCertFile, ClientCertFile, ClientKeyFile string
	// WrongCAFile is a CA that signed nothing, for verify-ca failures.
	WrongCAFile string

	serverKeyFile string
	runAs         runAs
	logf          func(format string, args ...any)
	wd            *watchdog

	// mu serialises the lifecycle (Restart, Reload, StartPgBouncer, Stop)
	// and guards the fields below. It is held while pg_ctl runs.
	mu         sync.Mutex
	stopped    bool
	bouncers   map[*Bouncer]bool
	bouncerSeq int
}

// Start creates, starts and populates a new cluster: initdb, the
// configuration described in the package documentation, the roles and the
// [Database]. It takes a few seconds. On error nothing is left behind, and
// the error includes the tail of the server log when there is one; if no
// PostgreSQL binaries are installed it wraps [ErrNoBinaries]. The caller
// must call [Cluster.Stop]; if the calling process dies first, a watchdog
// process stops the server and removes the files within moments.
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	began := time.Now()
	c := &Cluster{logf: opt.Logf, bouncers: map[*Bouncer]bool{}}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	if err := c.start(ctx, opt); err != nil {
		if c.BaseDir != "" {
			if tail := c.Log(); tail != "" {
				err = fmt.Errorf("%w\nserver log:\n%s", err, tail)
			}
			if stopErr := c.Stop(); stopErr != nil {
				err = errors.Join(err, stopErr)
			}
		}
		return nil, err
	}
	c.logf("pgcluster: started PostgreSQL on port %d (data %s) in %v", c.Port, c.Dir,
		time.Since(began).Round(time.Millisecond))
	return c, nil
}

func (c *Cluster) start(ctx context.Context, opt Options) error {
	var err error
	if c.BinDir, err = findBinDir(); err != nil {
		return err
	}
	if c.runAs, err = currentRunAs(); err != nil {
		return err
	}
	if err := c.makeDirs(opt.TLS); err != nil {
		return err
	}
	c.wd, err = startWatchdog(c.runAs, c.BaseDir, c.bin("pg_ctl"), c.Dir)
	if err != nil {
		return err
	}
	if opt.TLS {
		if err := c.writeTLS(); err != nil {
			return err
		}
	}
	if err := c.initdb(ctx, opt.TLS); err != nil {
		return err
	}
	if err := c.startServer(ctx, opt); err != nil {
		return err
	}
	return c.populate(ctx)
}

// makeDirs creates the base directory and its socket and TLS directories.
// As root the base goes under /tmp, where the postgres user can reach it.
func (c *Cluster) makeDirs(tls bool) error {
	parent := os.TempDir()
	if c.runAs.cred != nil || len(parent) > 40 {
		parent = "/tmp" // keep the socket path far below the 107-byte limit
	}
	base, err := os.MkdirTemp(parent, "pgcluster-")
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	c.BaseDir = base
	c.Dir = filepath.Join(base, "data")
	c.SocketDir = filepath.Join(base, "sock")
	c.LogFile = filepath.Join(c.Dir, "server.log")
	if err := c.runAs.chown(base); err != nil {
		return err
	}
	if err := c.runAs.mkdir(c.SocketDir, 0o700); err != nil {
		return err
	}
	if tls {
		return c.runAs.mkdir(filepath.Join(base, "tls"), 0o700)
	}
	return nil
}

func (c *Cluster) writeTLS() error {
	m, err := newTLSMaterial(time.Now())
	if err != nil {
		return err
	}
	dir := filepath.Join(c.BaseDir, "tls")
	if err := m.write(c.runAs, dir); err != nil {
		return err
	}
	c.CAFile = filepath.Join(dir, caFileName)
	c.WrongCAFile = filepath.Join(dir, wrongCAFileName)
	c.ServerCertFile = filepath.Join(dir, serverCertFileName)
	c.serverKeyFile = filepath.Join(dir, serverKeyFileName)
	c.ClientCertFile = filepath.Join(dir, clientCertFileName)
	c.ClientKeyFile = filepath.Join(dir, clientKeyFileName)
	return nil
}

func (c *Cluster) initdb(ctx context.Context, tls bool) error {
	began := time.Now()
	cmd := c.runAs.command(ctx, c.BaseDir, c.bin("initdb"), "-D", c.Dir,
		"-A", "trust", "-U", SuperUser, "-E", "UTF8", "--locale=C", "--no-sync")
	if _, err := run(cmd); err != nil {
		return err
	}
	c.logf("pgcluster: initdb %s in %v", c.Dir, time.Since(began).Round(time.Millisecond))
	conf := filepath.Join(c.Dir, "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	_, err = f.WriteString("\ninclude 'pgcluster.conf'\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return c.runAs.writeFile(filepath.Join(c.Dir, "pg_hba.conf"), []byte(hbaConf(tls)), 0o600)
}

// startServer picks a port and starts the server, picking another port when
// someone else took the first one in the meantime. A server that could bind
// only one of 127.0.0.1 and ::1 still starts (with a warning in its log);
// that counts as taken too, since clients of the other address would reach
// someone else.
func (c *Cluster) startServer(ctx context.Context, opt Options) error {
	c.IPv6 = hasIPv6Loopback()
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		if c.Port, err = pickPort(c.IPv6); err != nil {
			return err
		}
		conf := postgresqlConf(c.serverSettings(opt.TLS, opt.Settings))
		if err := c.runAs.writeFile(filepath.Join(c.Dir, "pgcluster.conf"), []byte(conf), 0o600); err != nil {
			return err
		}
		logStart := fileSize(c.LogFile)
		began := time.Now()
		err = c.pgCtl(ctx, "start", "-w", "-t", "60", "-l", c.LogFile)
		taken := strings.Contains(readFrom(c.LogFile, logStart), "could not bind")
		if err == nil && !taken {
			c.logf("pgcluster: pg_ctl start on port %d in %v", c.Port, time.Since(began).Round(time.Millisecond))
			return nil
		}
		if !taken {
			return err
		}
		if err == nil {
			err = c.stopServer() // it bound one address only
		}
		err = errors.Join(fmt.Errorf("pgcluster: port %d is taken", c.Port), err)
		c.logf("pgcluster: port %d was taken; trying another", c.Port)
	}
	return fmt.Errorf("pgcluster: no free port after 5 attempts: %w", err)
}

// populate creates the roles and the database.
func (c *Cluster) populate(ctx context.Context) error {
	began := time.Now()
	if _, err := c.psql(ctx, c.SocketDSN(SuperUser, "dbname=postgres"), setupSQL()); err != nil {
		return err
	}
	c.logf("pgcluster: created roles and database %s in %v", Database, time.Since(began).Round(time.Millisecond))
	return nil
}

// bin returns the path of a PostgreSQL program.
func (c *Cluster) bin(name string) string { return filepath.Join(c.BinDir, name) }

// pgCtl runs pg_ctl on the data directory.
func (c *Cluster) pgCtl(ctx context.Context, action string, args ...string) error {
	args = append([]string{action, "-D", c.Dir, "-s"}, args...)
	_, err := run(c.runAs.command(ctx, c.BaseDir, c.bin("pg_ctl"), args...))
	return err
}

// psql runs sql through psql as a script (statements run one by one; the
// first error stops it) and returns the unaligned, tuples-only output.
func (c *Cluster) psql(ctx context.Context, conninfo, sql string) (string, error) {
	cmd := c.runAs.command(ctx, c.BaseDir, c.bin("psql"), "-X", "-q", "-A", "-t",
		"-v", "ON_ERROR_STOP=1", "-d", conninfo, "-f", "-")
	cmd.Stdin = strings.NewReader(sql)
	return run(cmd)
}
