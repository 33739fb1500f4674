package integration_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
	"github.com/pgpipe/pgpipe/internal/faultproxy"
	"github.com/pgpipe/pgpipe/internal/pgcluster"
)

// faultOp is the operation of one phase. It runs through the proxy on db
// (a pool of at most one connection), with ctx's deadline, and tags every
// row it inserts into the log table with tag (plus a suffix when it
// inserts several).
type faultOp func(ctx context.Context, db *sql.DB, log, tag string) error

// errFaultShort reports an operation that returned fewer rows than it should
// have, without an error: a fault turned into a silently wrong result.
var errFaultShort = errors.New("short result without an error")

func opExtended(ctx context.Context, db *sql.DB, log, tag string) error {
	_, err := db.ExecContext(ctx, "INSERT INTO "+log+"(tag) VALUES ($1)", tag)
	return err
}

// opSimple runs two statements in one simple Query (no arguments).
func opSimple(ctx context.Context, db *sql.DB, log, tag string) error {
	_, err := db.ExecContext(ctx, fmt.Sprintf("INSERT INTO %[1]s(tag) VALUES ('%[2]s/a'); INSERT INTO %[1]s(tag) VALUES ('%[2]s/b')", log, tag))
	return err
}

// opRows streams 2000 rows from a query that also inserts: a retried
// Query would run the insert twice.
func opRows(ctx context.Context, db *sql.DB, log, tag string) error {
	rows, err := db.QueryContext(ctx, "WITH ins AS (INSERT INTO "+log+"(tag) VALUES ($1) RETURNING id) SELECT g FROM ins, generate_series(1, 2000) g", tag)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != 2000 {
		return fmt.Errorf("%w: %d rows of 2000", errFaultShort, n)
	}
	return rows.Close()
}

// opPipeline pipelines ten inserts and a query.
func opPipeline(ctx context.Context, db *sql.DB, log, tag string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
		var results []*pgpipe.Result
		for i := range 10 {
			results = append(results, p.Exec("INSERT INTO "+log+"(tag) VALUES ($1)", fmt.Sprintf("%s/%d", tag, i)))
		}
		rows := p.Query("SELECT g FROM generate_series(1, 200) g")
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range results {
			if err := r.Err(); err != nil {
				return err
			}
		}
		if n != 200 {
			return fmt.Errorf("%w: %d rows of 200", errFaultShort, n)
		}
		return nil
	})
}

// opCopyFrom copies 3000 tagged rows in (several CopyData messages).
func opCopyFrom(ctx context.Context, db *sql.DB, log, tag string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "%s/%d/%s\n", tag, i, strings.Repeat("x", 40))
	}
	n, err := pgpipe.CopyFrom(ctx, conn, "COPY "+log+"(tag) FROM STDIN", strings.NewReader(b.String()))
	if err == nil && n != 3000 {
		return fmt.Errorf("%w: %d rows of 3000", errFaultShort, n)
	}
	return err
}

// opCopyTo copies 5000 rows out (one CopyData each).
func opCopyTo(ctx context.Context, db *sql.DB, log, tag string) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	n, err := pgpipe.CopyTo(ctx, conn, "COPY (SELECT g, repeat('x', 20) FROM generate_series(1, 5000) g) TO STDOUT", io.Discard)
	if err == nil && n != 5000 {
		return fmt.Errorf("%w: %d rows of 5000", errFaultShort, n)
	}
	return err
}

// opCancel runs an insert that sleeps until its context ends: the driver
// sends a CancelRequest on a new connection, through the proxy too. The
// case's context ends once the server runs the statement (its notice
// passed the proxy: endAt faultRunning), so the cancel always meets a
// running statement.
func opCancel(ctx context.Context, db *sql.DB, log, tag string) error {
	_, err := db.ExecContext(ctx, "INSERT INTO "+log+"(tag) SELECT "+log+"_sleep($1)", tag)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w (and not context.DeadlineExceeded)", err)
	}
	return err
}

// faultRunning is the event that ends opCancel's context: the notice the
// sleeping function (faultSleepFunc) sends before it sleeps.
var faultRunning = faultFromServer(faultproxy.On("NoticeResponse"))

// faultSleepFunc creates log_sleep(tag), which sends a notice, sleeps
// longer than any test runs and returns tag; it is dropped when the test
// ends.
func faultSleepFunc(t *testing.T, db *sql.DB, log string) {
	t.Helper()
	_, err := db.Exec("CREATE FUNCTION " + log + "_sleep(tag text) RETURNS text LANGUAGE plpgsql SET client_min_messages = notice AS " +
		"$$ BEGIN RAISE NOTICE 'sleeping'; PERFORM pg_sleep(600); RETURN tag; END $$")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cdb, err := sql.Open("pgpipe", server.dsn); err == nil {
			_, _ = cdb.Exec("DROP FUNCTION IF EXISTS " + log + "_sleep(text)")
			_ = cdb.Close()
		}
	})
}

// faultPoint is where a fault hits: a direction and a trigger.
type faultPoint struct {
	dir faultproxy.Direction
	at  faultproxy.Trigger
}

func faultFromClient(at faultproxy.Trigger) faultPoint {
	return faultPoint{faultproxy.ClientToServer, at}
}
func faultFromServer(at faultproxy.Trigger) faultPoint {
	return faultPoint{faultproxy.ServerToClient, at}
}

func (fp faultPoint) String() string {
	side := "client"
	if fp.dir == faultproxy.ServerToClient {
		side = "server"
	}
	return side + ":" + strings.ReplaceAll(fp.at.String(), " ", "")
}

// faultAction is what happens there.
type faultAction struct {
	action faultproxy.Action
	length uint32 // for CorruptLength
}

func (a faultAction) String() string {
	if a.action == faultproxy.CorruptLength {
		return fmt.Sprintf("Length=%#x", a.length)
	}
	return a.action.String()
}

var (
	faultCut      = faultAction{action: faultproxy.Cut}
	faultStall    = faultAction{action: faultproxy.Stall}
	faultHuge     = faultAction{faultproxy.CorruptLength, 0x7fffffff} // beyond any limit
	faultTiny     = faultAction{faultproxy.CorruptLength, 2}          // shorter than the length field
	faultNegative = faultAction{faultproxy.CorruptLength, 0xffffffff} // -1
	// plausible is a wrong length a receiver has to wait for: only the
	// deadline (or a per-type limit) ends the wait.
	faultPlausible = faultAction{faultproxy.CorruptLength, 1 << 20}
	faultEveryKind = []faultAction{faultCut, faultStall, faultHuge}
)

// faultCase is one cell of a matrix.
type faultCase struct {
	name  string
	op    faultOp
	point faultPoint
	act   faultAction
	// every applies the rule to every connection (the cancel
	// connections); otherwise it applies to the first one only.
	every bool
	// fresh means the fault hits the first connection's startup: no
	// warm-up query opens it first.
	fresh bool
	// endAt, when set, is the event after which the operation's context
	// ends; otherwise the fault firing is.
	endAt *faultPoint
	extra []string // settings (keyword=value) added to the DSN
}

// faultPhase crosses fault points with actions for one operation.
type faultPhase struct {
	name    string
	op      faultOp
	fresh   bool
	every   bool
	endAt   *faultPoint
	extra   []string
	points  []faultPoint
	actions []faultAction
}

func (ph faultPhase) cases() []faultCase {
	var cs []faultCase
	for _, pt := range ph.points {
		for _, a := range ph.actions {
			cs = append(cs, faultCase{
				name: ph.name + "/" + pt.String() + "/" + a.String(),
				op:   ph.op, point: pt, act: a, every: ph.every, fresh: ph.fresh, endAt: ph.endAt, extra: ph.extra,
			})
		}
	}
	return cs
}

// faultMatrix runs fault cases against the test server through proxies.
type faultMatrix struct {
	t      *testing.T
	target string
	log    string // the exec_log table
	app    string // application_name prefix of every connection
}

func newFaultMatrix(t *testing.T) (*faultMatrix, *sql.DB) {
	t.Helper()
	admin := openDB(t)
	m := &faultMatrix{t: t, target: faultServerAddr(t), log: faultExecLog(t, admin), app: faultName("fm")}
	faultSleepFunc(t, admin, m.log)
	return m, admin
}

// run runs the cases concurrently, at most 24 at a time, then waits for
// every server session they opened to end and checks that no statement
// ran twice.
func (m *faultMatrix) run(admin *sql.DB, cases []faultCase) {
	sem := make(chan struct{}, 24)
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Add(1)
		// Owned by run, which waits for it; it reports through t.Errorf.
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			m.runCase(c)
		}()
	}
	wg.Wait()
	faultSessionsGone(m.t, admin, m.app)
	faultNeverTwice(m.t, admin, m.log)
}

// runCase runs one case on its own proxy and pool.
func (m *faultMatrix) runCase(c faultCase) {
	r := &faultReporter{t: m.t, name: c.name}
	p, err := faultproxy.Start(m.target)
	if err != nil {
		r.errorf("%v", err)
		return
	}
	defer p.Close()
	cfg := faultProxyConfig(m.t, p, append([]string{"application_name=" + m.app}, c.extra...)...)
	// Everything the driver says about this case goes to logs, which is
	// searched for passwords with the errors at the end.
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Tracer = pgpipe.LogTracer(cfg.Logger, slog.LevelDebug)
	cn, err := pgpipe.NewConnectorConfig(cfg)
	if err != nil {
		r.errorf("%v", err)
		return
	}
	db := sql.OpenDB(cn)
	defer db.Close()
	db.SetMaxOpenConns(1)
	pid1 := 0
	if !c.fresh {
		if pid1, err = faultBackendPID(context.Background(), db); err != nil {
			r.errorf("warm-up query: %v", err)
			return
		}
	}
	rule := faultproxy.Rule{Conn: 1, Dir: c.point.dir, At: c.point.at, Action: c.act.action, Length: c.act.length}
	if c.every {
		rule.Conn = 0
	}
	f, err := p.Add(rule)
	if err != nil {
		r.errorf("%v", err)
		return
	}
	event := f.Fired()
	if c.endAt != nil {
		e, err := p.Add(faultproxy.Rule{Conn: 1, Dir: c.endAt.dir, At: c.endAt.at, Action: faultproxy.Pass})
		if err != nil {
			r.errorf("%v", err)
			return
		}
		event = e.Fired()
	}
	before := faultStatementMsgs(p, 1)
	tag := faultName(strings.NewReplacer("/", "_", ":", "_", "#", "_", "=", "_").Replace(c.name) + "_")
	ctx, stop := contextAfter(event, faultAfterEvent)
	err, late, hung := faultBounded(ctx, func(ctx context.Context) error { return c.op(ctx, db, m.log, tag) })
	stop()
	if hung {
		r.errorf("hung: still running %v after it started", hangGuard)
		return
	}
	m.checkOutcome(r, c, p, f, err, late, cfg.CancelGrace, before)
	m.checkFate(r, c, p, db, pid1)
	faultNoSecrets(r, err, cfg, logs)
	m.t.Logf("%s: %v, %v after its context ended", c.name, err, late.Round(time.Millisecond))
}

// checkOutcome checks the operation's error and what reached the server.
func (m *faultMatrix) checkOutcome(r *faultReporter, c faultCase, p *faultproxy.Proxy, f *faultproxy.Fault, err error, late, grace time.Duration, before int) {
	select {
	case <-f.Fired():
	default:
		r.errorf("the fault never fired; the operation returned %v", err)
		return
	}
	if late > grace+faultSlack {
		r.errorf("returned %v after its context ended, more than the cancel grace %v plus %v", late.Round(time.Millisecond), grace, faultSlack)
	}
	sent := faultStatementMsgs(p, 1) - before
	retried := false
	for n := 2; n <= p.Conns(); n++ {
		retried = retried || faultStatementMsgs(p, n) > 0 && !c.fresh
	}
	switch {
	case c.fresh && errors.Is(err, driver.ErrBadConn):
		r.errorf("connecting returned driver.ErrBadConn: %v", err)
	case (errors.Is(err, driver.ErrBadConn) || retried) && sent > 0:
		r.errorf("driver.ErrBadConn after %d messages of the statement reached the server (database/sql retried: %v): a retry may run it twice; err %v", sent, retried, err)
	case err == nil && !retried:
		r.errorf("the operation succeeded through the fault")
	}
	if cerr := faultClearError(err); cerr != nil {
		r.errorf("unclear error: %v", cerr)
	}
}

// checkFate checks that the pool replaced the broken connection, and that
// the driver closed it.
func (m *faultMatrix) checkFate(r *faultReporter, c faultCase, p *faultproxy.Proxy, db *sql.DB, pid1 int) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	pid2, err := faultBackendPID(ctx, db)
	switch {
	case err != nil:
		r.errorf("the pool did not recover: %v", err)
	case pid1 != 0 && pid2 == pid1:
		r.errorf("database/sql handed out the broken connection (backend %d) again", pid1)
	case p.Conns() < 2:
		r.errorf("the next query ran on the broken connection")
	}
	select {
	case <-p.Closed(1):
	case <-ctx.Done():
		r.errorf("the driver never closed the broken connection")
	}
}

// TestFaultMatrixQueries breaks connections at every step of every kind
// of operation: connecting, a simple query, the extended protocol, a row
// stream, a pipeline, COPY in both directions and a cancel.
func TestFaultMatrixQueries(t *testing.T) {
	faultCheckLeaks(t)
	m, admin := newFaultMatrix(t)
	var cases []faultCase
	for _, ph := range faultQueryPhases {
		cases = append(cases, ph.cases()...)
	}
	m.run(admin, cases)
}

// faultQueryPhases are the operations of TestFaultMatrixQueries and where to
// break each.
var faultQueryPhases = []faultPhase{
	{name: "startup", op: opExtended, fresh: true, actions: []faultAction{faultCut, faultStall, faultHuge, faultTiny}, points: []faultPoint{
		faultFromClient(faultproxy.On("StartupMessage")),
		faultFromServer(faultproxy.On("AuthenticationOk")),
		faultFromServer(faultproxy.On("ParameterStatus").Nth(3)),
		faultFromServer(faultproxy.On("BackendKeyData")),
		faultFromServer(faultproxy.On("ReadyForQuery")),
		faultFromClient(faultproxy.On("Query")), // the driver's pg_backend_pid probe
		faultFromServer(faultproxy.On("ReadyForQuery").Nth(2)),
	}},
	{name: "simple", op: opSimple, actions: []faultAction{faultCut, faultStall, faultHuge, faultPlausible}, points: []faultPoint{
		faultFromClient(faultproxy.On("Query")),
		faultFromServer(faultproxy.On("CommandComplete")),
		faultFromServer(faultproxy.On("CommandComplete").Nth(2)),
		faultFromServer(faultproxy.On("ReadyForQuery")),
	}},
	{name: "extended", op: opExtended, actions: faultEveryKind, points: []faultPoint{
		faultFromClient(faultproxy.On("Parse")),
		faultFromClient(faultproxy.On("Bind")),
		faultFromClient(faultproxy.On("Execute")),
		faultFromClient(faultproxy.On("Sync")),
		faultFromServer(faultproxy.On("ParseComplete")),
		faultFromServer(faultproxy.On("BindComplete")),
		faultFromServer(faultproxy.On("CommandComplete")),
		faultFromServer(faultproxy.On("ReadyForQuery")),
	}},
	{name: "rows", op: opRows, actions: []faultAction{faultCut, faultStall, faultHuge, faultNegative, faultPlausible}, points: []faultPoint{
		faultFromClient(faultproxy.On("Describe")),
		faultFromServer(faultproxy.On("RowDescription")),
		faultFromServer(faultproxy.On("DataRow").Nth(3)),
		faultFromServer(faultproxy.On("DataRow").Nth(1500)),
		faultFromServer(faultproxy.On("CommandComplete")),
	}},
	{name: "pipeline", op: opPipeline, actions: faultEveryKind, points: []faultPoint{
		faultFromClient(faultproxy.On("Bind").Nth(5)),
		faultFromClient(faultproxy.On("Sync")),
		faultFromServer(faultproxy.On("CommandComplete").Nth(3)),
		faultFromServer(faultproxy.On("DataRow").Nth(50)),
		faultFromServer(faultproxy.On("ReadyForQuery")),
	}},
	{name: "copyfrom", op: opCopyFrom, actions: faultEveryKind, points: []faultPoint{
		faultFromClient(faultproxy.On("Query")),
		faultFromServer(faultproxy.On("CopyInResponse")),
		faultFromClient(faultproxy.On("CopyData").Nth(2)),
		faultFromClient(faultproxy.On("CopyDone")),
		faultFromServer(faultproxy.On("CommandComplete")),
		faultFromServer(faultproxy.On("ReadyForQuery")),
	}},
	{name: "copyto", op: opCopyTo, actions: faultEveryKind, points: []faultPoint{
		faultFromClient(faultproxy.On("Query")),
		faultFromServer(faultproxy.On("CopyOutResponse")),
		faultFromServer(faultproxy.On("CopyData").Nth(5)),
		faultFromServer(faultproxy.On("CopyData").Nth(4000)),
		faultFromServer(faultproxy.On("CopyDone")),
		faultFromServer(faultproxy.On("CommandComplete")),
	}},
	// The cancel never reaches the server: after the grace period the
	// driver closes the connection. The CancelRequest goes out once the
	// server answered the cancel connection's probe, and this server,
	// which offers TLS to a session without it, is answered on a second
	// connection: two server processes started, which on a loaded machine
	// can take longer than faultGrace, so the grace here is longer.
	{name: "cancelconn", op: opCancel, every: true, endAt: &faultRunning, extra: []string{"cancel_grace=5s"}, actions: faultEveryKind, points: []faultPoint{
		faultFromClient(faultproxy.On("CancelRequest")),
	}},
	// The server answers the cancel, and the answer breaks: the grace
	// period is long, so that the answer comes within it on any machine.
	{name: "cancel", op: opCancel, endAt: &faultRunning, extra: []string{"cancel_grace=" + faultCancelGrace.String()}, actions: faultEveryKind, points: []faultPoint{
		faultFromServer(faultproxy.On("ErrorResponse")),
	}},
}

// TestFaultMatrixAuthAndTLS breaks connections during password exchanges
// and, with sslmode=require, inside the TLS handshake and the encrypted
// startup, where the proxy sees only bytes.
func TestFaultMatrixAuthAndTLS(t *testing.T) {
	needCluster(t, "its roles with known passwords and its server certificates")
	faultCheckLeaks(t)
	m, admin := newFaultMatrix(t)
	c2s, s2c := m.tlsStartupBytes()
	scram := []string{"user=" + pgcluster.ScramUser, "password=" + pgcluster.ScramPassword, "channel_binding=disable"}
	md5 := []string{"user=" + pgcluster.MD5User, "password=" + pgcluster.MD5Password}
	phases := []faultPhase{
		{name: "scram", op: opExtended, fresh: true, extra: scram, actions: faultEveryKind, points: []faultPoint{
			faultFromServer(faultproxy.On("AuthenticationSASL")),
			faultFromClient(faultproxy.On("SASLInitialResponse")),
			faultFromServer(faultproxy.On("AuthenticationSASLContinue")),
			faultFromClient(faultproxy.On("SASLResponse")),
			faultFromServer(faultproxy.On("AuthenticationSASLFinal")),
		}},
		{name: "md5", op: opExtended, fresh: true, extra: md5, actions: faultEveryKind, points: []faultPoint{
			faultFromServer(faultproxy.On("AuthenticationMD5Password")),
			faultFromClient(faultproxy.On("PasswordMessage")),
		}},
		{name: "tls", op: opExtended, fresh: true, extra: []string{"sslmode=require"}, actions: faultEveryKind, points: []faultPoint{
			faultFromClient(faultproxy.On("SSLRequest")),
			faultFromServer(faultproxy.On("SSLResponse")),
			faultFromClient(faultproxy.AtByte(4)),        // inside the SSLRequest
			faultFromClient(faultproxy.AtByte(8)),        // the ClientHello's first byte
			faultFromClient(faultproxy.AtByte(8 + 60)),   // inside the ClientHello
			faultFromClient(faultproxy.AtByte(c2s - 20)), // the encrypted pg_backend_pid probe
			faultFromServer(faultproxy.AtByte(1)),        // the ServerHello's first byte
			faultFromServer(faultproxy.AtByte(1 + 60)),   // inside the ServerHello
			faultFromServer(faultproxy.AtByte(s2c / 2)),  // the encrypted handshake or startup
			faultFromServer(faultproxy.AtByte(s2c - 20)), // the encrypted last ReadyForQuery
		}},
		{name: "tlsscram", op: opExtended, fresh: true, extra: append([]string{"sslmode=require"}, scram[:2]...), actions: []faultAction{faultCut, faultStall}, points: []faultPoint{
			faultFromServer(faultproxy.AtByte(s2c - 20)),
		}},
	}
	var cases []faultCase
	for _, ph := range phases {
		cases = append(cases, ph.cases()...)
	}
	m.run(admin, cases)
}

// tlsStartupBytes measures how many bytes each direction carries while a
// connection with sslmode=require starts, so that byte faults can aim at
// its end.
func (m *faultMatrix) tlsStartupBytes() (c2s, s2c int64) {
	t := m.t
	t.Helper()
	p, err := faultproxy.Start(m.target)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	db := faultProxyDB(t, p, "sslmode=require", "application_name="+m.app)
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c2s, s2c = p.Bytes(1, faultproxy.ClientToServer), p.Bytes(1, faultproxy.ServerToClient)
	if c2s < 200 || s2c < 200 {
		t.Fatalf("a TLS startup took %d bytes up and %d down: not TLS?", c2s, s2c)
	}
	return c2s, s2c
}
