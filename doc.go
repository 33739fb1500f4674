// Package pgpipe is a PostgreSQL driver for database/sql, written on the
// wire protocol and built pipeline-first: every command goes into one
// ordered queue, every reply is matched to the command that expects it,
// and running one query is queueing it, a Sync, and reading until
// ReadyForQuery.
//
// # Connect
//
// Import the package to register the driver as "pgpipe":
//
//	import _ "github.com/pgpipe/pgpipe"
//
//	db, err := sql.Open("pgpipe", "postgres://app:secret@db.example/app?sslmode=verify-full")
//
// or build a [Connector] for sql.OpenDB, from a DSN ([NewConnector]) or a
// [Config] ([ParseDSN], [NewConfig], [NewConnectorConfig]) when code must
// set what a DSN cannot (a NoticeHandler, a Logger, a Tracer, a
// DialFunc, a TLSConfig). DSNs take libpq's URL and keyword/value forms,
// its keywords and environment variables (PGHOST, PGUSER, PGPASSWORD,
// ...), ~/.pgpass, Unix-socket hosts, several hosts with
// target_session_attrs and load_balance_hosts, and every sslmode; any
// other keyword is sent to the server as a setting (search_path=app), and
// when the server refuses one the error names it and the keyword it
// resembles.
// pgpipe's own keywords are prepare_threshold, prepared_max,
// cancel_grace, trace and trace_regress. Authentication: trust, password,
// MD5, SCRAM-SHA-256 and, over TLS, SCRAM-SHA-256-PLUS.
//
// # Query
//
// A query with arguments is one flight (Parse, Bind, Describe, Execute,
// Sync) and one round trip; arguments are $1, $2, ... Results stream, so
// memory does not grow with the number of rows. A query without arguments
// may hold several statements; each that returns rows is a result set
// (Rows.NextResultSet). The README lists how each type is sent and
// returned: numeric comes back as its exact decimal text, timestamptz in
// the session's TimeZone, timestamp in UTC.
//
// A []byte or time.Duration argument means what the parameter's type
// wants: raw bytes to bytea, JSON text to json and jsonb (json.Marshal
// output works), an interval to interval, nanoseconds to bigint. For a
// query with such an argument the driver learns the parameter types the
// first time the connection runs it (Parse, Describe and Flush ahead of
// Bind, with no Sync between, so inside transactions and behind PgBouncer
// too); that execution costs one more round trip, later ones and other
// queries none. Slices are array arguments; [Array] scans an array column
// into a slice ([]int64, []string, []time.Time, []sql.NullString,
// [][]float64, ...).
//
// A connection runs one command at a time: starting another while the
// rows of a query are still open on it returns a *[BusyError].
//
// # Prepared statements and PgBouncer
//
// A query run prepare_threshold times on a connection (default 5) is
// prepared on the server, in the same flight as its next execution; at
// most prepared_max statements (default 100) stay prepared per
// connection, the least recently used being closed with the protocol's
// Close message in front of a later command. [WithPrepare] forces or
// forbids preparation for the queries run with a context.
// prepare_threshold=none turns automatic preparation off, and makes
// db.Prepare run its statement unnamed.
//
// Behind a pooler in transaction mode (PgBouncer before 1.21) the defaults
// work: statement names are unique to their connection, the driver
// notices when the backend is not the one that answered the startup, runs
// statements unnamed inside transactions there, and when the pooler loses
// a statement outside a transaction it re-runs it unnamed (nothing had
// run) and stops preparing on that pool's connections, saying so once
// through Config.Logger. Statement counters are available through
// (*sql.Conn).Raw: see [Conn] and [Stats].
//
// # Pipeline
//
// [RunPipeline] (or Conn.Pipeline through Raw) queues commands without
// waiting for earlier results and returns a handle for each; a failed
// command makes the server skip the rest up to the next sync point, and
// the skipped handles say so (errors.Is(err, ErrPipelineAborted)).
// Pipeline.Sync, Pipeline.Block and Pipeline.Tx fence units of work.
// [ExecBatch] runs one statement for many argument sets in one pipeline.
// An error at a sync point (a commit that failed: a deferred constraint)
// reaches every handle of its segment read after the Sync was queued,
// ExecBatch's result, and RunPipeline's error when a handle had already
// reported success. Behind a pooler, pipelines run unnamed statements.
//
// # COPY
//
// [CopyFrom] feeds COPY FROM STDIN from an io.Reader (text, CSV, binary),
// [CopyFromRows] from Go values, [CopyTo] and [CopyToStream] read COPY TO
// STDOUT. Code written for lib/pq's COPY (Prepare("COPY t (a, b) FROM
// STDIN"), one Exec per row, a final Exec()) works unchanged on a sql.Tx or
// a sql.Conn; on a *sql.DB, whose connection goes back to the pool after
// each Exec, the COPY is aborted when the pool hands the connection out
// again, nothing of it committed, and the statement returns an
// [*AbandonedCopyError] (lib/pq refuses COPY outside a transaction). A
// transaction that ends before the final Exec() aborts the COPY: nothing
// of it is committed, and Commit returns [ErrTxRolledBack]. Whatever
// fails, the connection is left ready for the next command, and the
// caller's transaction is never committed or rolled back behind its back.
//
// # LISTEN/NOTIFY
//
// Notifications a connection receives are kept until taken with
// [WaitForNotification] (or Conn.WaitForNotification through Raw),
// including those that arrive during ordinary queries, up to
// [MaxPendingNotifications]; past it the oldest are dropped and counted
// (Conn.DroppedNotifications). A [Listener] owns a connection, re-connects
// after a failure, LISTENs again, and delivers on a channel; its Listen
// returns once the server acknowledged the LISTEN.
//
// # Errors
//
// Server errors are *[Error], with every ErrorResponse field and
// SQLState(); find them with errors.As. Notices go to Config.NoticeHandler.
// Driver errors start with "pgpipe:" and come as typed errors where
// callers need data: [ConnError] (the connection broke), [CancelError],
// [BusyError], [ArgError], [AbortedError], [CopyValueError], [DSNError],
// [ConnectError]. driver.ErrBadConn, which lets database/sql retry, is
// returned only when nothing of the statement reached the server, so no
// statement runs twice (and by Ping on a broken connection, wrapping the
// cause). Arguments the driver cannot send, and a wrong number of them
// where the statement's parameter count is known, fail before anything is
// sent.
//
// # Cancellation
//
// When a query's context ends, the driver sends a CancelRequest (over TLS
// when the session uses TLS) and keeps reading until the server stopped
// the query, within cancel_grace (default 5s); the error wraps both the
// context's error and the server's 57014 (a *[CancelError]), and the
// connection is reused, as the cancel can no longer reach a later query.
// If the server does not stop in time the connection is closed. The
// request itself is written only once the server has answered on the
// cancel connection (a plaintext session first sends an SSLRequest as a
// probe, as libpq does before a CancelRequest): a query that ends while
// the server starts the process serving the cancel returns its result at
// once, nothing is sent, and the next query does not wait. A query that
// ends just after its CancelRequest was written returns at once too; the
// connection's next command waits until the server closed the cancel
// connection (the backend was signalled while idle, which drops the
// signal). A pipeline whose context ends is cancelled, its unsent
// commands dropped, and drained.
//
// # Multiplexing
//
// With multiplex=N (Config.Multiplex), the connections database/sql opens
// share at most N server connections: autocommit statements that leave
// nothing in the session are pipelined onto them from any goroutine, each
// with its own Sync, and their rows are read into memory before Query
// returns. Transactions, Raw, lib/pq's COPY idiom and statements that
// change the session (SET, LISTEN, PREPARE, temporary tables, ...) get a
// server connection of their own until the session ends; it is reset
// with DISCARD ALL before it is shared again. A statement whose context
// ends after it was written returns a [*SharedCancelError]: it may have
// run. README.md says when to turn it on and what it changes.
//
// # Tracing and logging
//
// Config.Tracer observes statements ([QueryTracer]), connects
// ([ConnectTracer]) and Prepare ([PrepareTracer]); [LogTracer] logs
// through log/slog, and examples/otel turns them into OpenTelemetry
// spans. The trace DSN keyword (or Conn.Trace through Raw) writes a
// protocol trace in libpq's PQtrace format.
//
// # Concurrency
//
// A *sql.DB is safe for concurrent use, as database/sql makes it: each
// driver connection is used by one goroutine at a time. Values reached
// through (*sql.Conn).Raw (Conn, Pipeline and its handles, CopyStream)
// belong to the callback's goroutine and must not be used after it
// returns. A Listener's methods may be called from any goroutine.
package pgpipe
