// Package pgcluster starts throwaway PostgreSQL servers, and PgBouncers in
// front of them, from the PostgreSQL binaries installed on the machine. The
// integration tests, the demo program and the benchmarks use it; it is not
// part of the driver. It works on Linux (and should on other Unix systems),
// as root or not, and returns errors rather than failing a test.
//
//	c, err := pgcluster.Start(ctx, pgcluster.Options{TLS: true})
//	if err != nil {
//		return err // errors.Is(err, pgcluster.ErrNoBinaries): nothing installed
//	}
//	defer c.Stop()
//	db, err := sql.Open("pgpipe", c.DSN(pgcluster.ScramUser, pgcluster.ScramPassword))
//
// A cluster trades durability for speed (fsync, full_page_writes and
// synchronous_commit are off). Never point it at data you want to keep.
//
// # Finding PostgreSQL
//
// [Start] uses the first directory holding initdb, pg_ctl, postgres and psql
// among: $PGPIPE_PG_BINDIR (which, when set, must be such a directory),
// `pg_config --bindir`, /usr/lib/postgresql/<version>/bin (highest version
// first) and the directory of initdb in PATH. Failing all, it returns an
// error wrapping [ErrNoBinaries] that says to run `apt-get install
// postgresql`. It is written for PostgreSQL 10 and later (SCRAM) and tested
// with 15.
//
// # Files and processes
//
// Everything lives in [Cluster.BaseDir], a fresh directory under $TMPDIR
// (under /tmp when running as root or when $TMPDIR is long, to keep the
// socket path short):
//
//	data/            the data directory (Cluster.Dir); data/server.log is the server log
//	data/pgcluster.conf  our settings, included at the end of postgresql.conf
//	sock/            the Unix socket directory (Cluster.SocketDir)
//	tls/             certificates and keys, with Options.TLS
//	bouncer<N>/      one per PgBouncer: pgbouncer.ini, userlist.txt, pgbouncer.log, bouncer.pid
//
// PostgreSQL and PgBouncer refuse to run as root. When the caller is root,
// every file above belongs to the OS user postgres (which the Debian package
// creates) and every program runs as that user; root can still read all of
// it. Otherwise the caller owns and runs everything.
//
// The server listens on 127.0.0.1 (and ::1 when the host has IPv6 loopback)
// at a port that was free when Start picked it, and on the socket. Start
// sets max_connections=200 and a small shared_buffers; [Options.Settings]
// add to or override postgresql.conf, except port, listen_addresses and
// unix_socket_directories, which Start owns.
//
// [Cluster.Stop] stops the PgBouncers and the server, waits for their
// processes to exit and removes BaseDir. If the process that called Start
// dies without calling Stop (a test binary killed by a timeout or Ctrl-C),
// a watchdog started with the cluster notices at once, through a pipe that
// the kernel closes when its owner dies, and does the same: it stops the
// PgBouncers and the server (immediate shutdown) and removes BaseDir.
//
// # Roles, passwords and pg_hba.conf
//
// Start creates the database [Database] ("pgpipe"), owned by [SuperUser],
// where every role (PUBLIC) may create tables in schema public and create
// schemas, and these LOGIN roles:
//
//	role       password (constant)   stored as       over 127.0.0.1 and ::1
//	postgres   SuperPassword         SCRAM-SHA-256   trust
//	md5user    MD5Password           MD5             md5
//	scramuser  ScramPassword         SCRAM-SHA-256   scram-sha-256
//	pwuser     CleartextPassword     SCRAM-SHA-256   password (sent in clear)
//	certuser   none                  -               cert, over TLS only (hostssl), else rejected
//	ssluser    SSLPassword           SCRAM-SHA-256   scram-sha-256 over TLS only, else rejected
//
// pg_hba.conf trusts every role over the Unix socket, then has one line
// per role and address above (first match wins), and ends with "host all
// all ... trust", so roles a test creates itself need no password over TCP.
// Without Options.TLS, certuser and ssluser cannot log in over TCP.
//
// # TLS
//
// With [Options.TLS], Start generates ECDSA P-256 certificates valid from an
// hour ago for a day, as PEM files, and sets ssl=on:
//
//   - [Cluster.CAFile]: the CA that signed the two certificates below; the
//     server's ssl_ca_file, so it also checks client certificates.
//   - [Cluster.ServerCertFile]: CN=localhost, SANs localhost, 127.0.0.1
//     and ::1 only: verify-full succeeds for those and fails for any other
//     name (say host=wrong.example hostaddr=127.0.0.1).
//   - [Cluster.ClientCertFile], [Cluster.ClientKeyFile]: CN=certuser, for
//     the cert method (sslcert, sslkey).
//   - [Cluster.WrongCAFile]: a CA that signed nothing; verify-ca with it as
//     sslrootcert fails.
//
// Key files have mode 0600, as the server and libpq demand.
//
// # PgBouncer
//
// [Cluster.StartPgBouncer] runs a PgBouncer (pgbouncer must be installed:
// `apt-get install pgbouncer`; Debian's is 1.18, which does not track
// prepared statements in transaction mode) on a free port of 127.0.0.1,
// sending every database to the cluster over TCP without TLS. Clients
// authenticate with auth_type=trust, so any password is accepted, but only
// the roles in its auth_file exist for it: postgres, md5user, scramuser,
// pwuser and ssluser (whom the server then rejects, for lack of TLS).
// PgBouncer logs in to the server with the cleartext passwords of its
// auth_file, so md5, scram-sha-256 and password authentication are used
// between PgBouncer and the server. Startup parameters extra_float_digits
// and options are ignored (ignore_startup_parameters), server_login_retry is
// one second so that a restarted server is found again quickly, and
// postgres may use the admin console (dbname=pgbouncer). [BouncerOptions]
// set the pool mode (transaction by default), the pool size and the client
// limit, and may override any [pgbouncer] setting, auth_type included.
package pgcluster
