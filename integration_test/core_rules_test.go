package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// The rules the connection core keeps for a plain query hold on every
// other path too: pipelines, batches, COPY and LISTEN.

// deferredChild creates a parent table and a child table whose foreign key
// is checked at commit, and returns the child's name.
func deferredChild(t *testing.T, db *sql.DB) string {
	t.Helper()
	parent := newTable(t, db, "id int PRIMARY KEY")
	return newTable(t, db, "p int REFERENCES "+parent+" DEFERRABLE INITIALLY DEFERRED")
}

func wantSQLState(t *testing.T, what string, err error, code string) {
	t.Helper()
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != code {
		t.Fatalf("%s: want an error with SQLSTATE %s, got %v", what, code, err)
	}
}

func TestCommitTimeErrorReachesEveryPipelinePath(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	child := deferredChild(t, db)
	ins := "INSERT INTO " + child + " VALUES ($1)"
	ctx := context.Background()

	t.Run("ExecBatchAtomic", func(t *testing.T) {
		res, err := pgpipe.ExecBatch(ctx, db, ins, [][]any{{1}, {2}}, pgpipe.BatchAtomic)
		wantSQLState(t, "ExecBatch", err, "23503")
		if res.RowsAffected != 0 {
			t.Errorf("RowsAffected %d, want 0", res.RowsAffected)
		}
		for i, e := range res.Errors {
			if e == nil {
				t.Errorf("Errors[%d] is nil, but nothing was committed", i)
			}
		}
	})
	t.Run("ExecBatchIndependent", func(t *testing.T) {
		res, err := pgpipe.ExecBatch(ctx, db, ins, [][]any{{1}, {2}}, pgpipe.BatchIndependent)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range res.Errors {
			wantSQLState(t, "Errors["+string(rune('0'+i))+"]", e, "23503")
		}
		if res.RowsAffected != 0 {
			t.Errorf("RowsAffected %d, want 0", res.RowsAffected)
		}
	})
	t.Run("RunPipelineHandleReadBeforeSync", func(t *testing.T) {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		err = pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
			return p.Exec(ins, 1).Err() // the INSERT itself succeeds
		})
		wantSQLState(t, "RunPipeline", err, "23503")
	})
	t.Run("RunPipelineHandleReadAfterSync", func(t *testing.T) {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		err = pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
			h := p.Exec(ins, 1)
			p.Sync()
			wantSQLState(t, "handle", h.Err(), "23503")
			ok := p.Exec("SELECT 1") // the next segment still runs
			if err := ok.Err(); err != nil {
				t.Errorf("the next segment: %v", err)
			}
			return nil
		})
		if err != nil {
			t.Errorf("RunPipeline: %v; the callback saw every error", err)
		}
	})
	if n := countRows(t, db, child); n != 0 {
		t.Errorf("%d rows committed, want 0", n)
	}
}

// A DEALLOCATE ALL or DISCARD ALL queued in a pipeline drops every server
// statement before the pipeline reads its result: statements queued after
// it must not bind a name it dropped.
func TestPipelineStatementsAfterAQueuedDeallocate(t *testing.T) {
	t.Parallel()
	for _, drop := range []string{"DEALLOCATE ALL", "DISCARD ALL", "/* pool reset */ deallocate prepare all"} {
		t.Run(drop, func(t *testing.T) {
			conn := openConn(t, "prepare_threshold=0")
			ctx := context.Background()
			const q = "SELECT $1::int + 1"
			var n int
			if err := conn.QueryRowContext(ctx, q, 1).Scan(&n); err != nil || n != 2 {
				t.Fatalf("prepare it: %d, %v", n, err)
			}
			err := pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
				p.Exec(drop)
				p.Sync()
				rows := []*pgpipe.Row{p.QueryRow(q, 2), p.QueryRow(q, 3)}
				for i, r := range rows {
					if err := r.Scan(&n); err != nil || n != i+3 {
						t.Errorf("query %d after %s: %d, %v", i, drop, n, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// The cache's view stayed true: the plain path prepares anew.
			for i := 0; i < 3; i++ {
				if err := conn.QueryRowContext(ctx, q, i).Scan(&n); err != nil || n != i+1 {
					t.Fatalf("after the pipeline: %d, %v", n, err)
				}
			}
		})
	}
}

// A schema change queued in a pipeline makes the statements after it
// prepare afresh: a plan whose result type changed would fail there with
// 0A000, where it cannot be re-run.
func TestPipelineStatementsAfterAQueuedSchemaChange(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "a int")
	conn := openConn(t, "prepare_threshold=0")
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+tbl+" VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	q := "SELECT * FROM " + tbl + " WHERE a = $1"
	var a, b int
	if err := conn.QueryRowContext(ctx, q, 1).Scan(&a); err != nil {
		t.Fatal(err)
	}
	err := pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
		p.Exec("ALTER TABLE " + tbl + " ADD COLUMN b int DEFAULT 7")
		p.Sync()
		return p.QueryRow(q, 1).Scan(&a, &b)
	})
	if err != nil || a != 1 || b != 7 {
		t.Fatalf("got %d %d, %v", a, b, err)
	}
}

// A schema change the connection runs itself inside a transaction leaves
// no stale plan behind: the next statement of the transaction works.
func TestOwnSchemaChangeInsideATransactionNeedsNoRetry(t *testing.T) {
	t.Parallel()
	db := openDB(t, "prepare_threshold=0")
	db.SetMaxOpenConns(1)
	tbl := newTable(t, db, "a int")
	q := "SELECT * FROM " + tbl + " WHERE $1"
	if _, err := db.Exec(q, true); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("ALTER TABLE " + tbl + " ADD COLUMN b int"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(q, true); err != nil {
		t.Fatalf("after the transaction's own ALTER: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// slowWriter takes COPY output slowly and ends the context on its tenth
// write; it counts the writes that come after.
type slowWriter struct {
	cancel func()
	writes int
	after  int
}

func (w *slowWriter) Write(p []byte) (int, error) {
	w.writes++
	switch {
	case w.writes == 10:
		w.cancel()
	case w.writes > 10:
		w.after++
		time.Sleep(20 * time.Millisecond) // slower than the network
	}
	return len(p), nil
}

// Once the context of a CopyTo ends, no more rows reach the writer, and
// the COPY is ended within the cancel grace period whatever the writer's
// pace: the connection is kept, and a transaction around it reports that
// it was rolled back.
func TestCopyToSlowWriterStopsWhenTheContextEnds(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "n int")
	if _, err := db.Exec("INSERT INTO " + tbl + " SELECT generate_series(1, 200000)"); err != nil {
		t.Fatal(err)
	}
	committed := false
	for _, inTx := range []bool{false, true} {
		t.Run(map[bool]string{false: "autocommit", true: "transaction"}[inTx], func(t *testing.T) {
			conn := openConn(t)
			var tx *sql.Tx
			if inTx {
				var err error
				if tx, err = conn.BeginTx(context.Background(), nil); err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec("INSERT INTO " + tbl + " VALUES (-1)"); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := &slowWriter{cancel: cancel}
			_, err := pgpipe.CopyTo(ctx, conn, "COPY "+tbl+" TO STDOUT", w)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("CopyTo = %v, want context.Canceled", err)
			}
			if w.after != 0 {
				t.Errorf("%d writes after the context ended, want 0", w.after)
			}
			if inTx {
				// The cancel aborted the transaction, or came after the
				// server had sent everything: either way Commit says which.
				err := tx.Commit()
				if err != nil && !errors.Is(err, pgpipe.ErrTxRolledBack) {
					t.Errorf("Commit = %v, want nil or ErrTxRolledBack", err)
				}
				committed = err == nil
			}
			var one int
			if err := conn.QueryRowContext(context.Background(), "SELECT 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("the connection after the cancelled COPY: %d, %v", one, err)
			}
		})
	}
	var n int
	want := map[bool]int{false: 0, true: 1}[committed]
	if err := db.QueryRow("SELECT count(*) FROM " + tbl + " WHERE n = -1").Scan(&n); err != nil || n != want {
		t.Errorf("the transaction's row: %d rows, %v; want %d (committed: %v)", n, err, want, committed)
	}
}

// Listen on a new Listener returns once the server acknowledged the
// LISTEN, so every NOTIFY sent after it is delivered; also Unlisten.
func TestListenerListenReturnsWhenTheServerListens(t *testing.T) {
	t.Parallel()
	cn, err := pgpipe.NewConnector(dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	l := pgpipe.NewListener(cn, pgpipe.ListenerOptions{Buffer: 16})
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // only a hang trips it
	defer cancel()
	ch := "listen_ack_" + sanitize(t.Name())
	if err := l.Listen(ctx, ch); err != nil {
		t.Fatal(err)
	}
	sender := openDB(t)
	for i := 0; i < 10; i++ {
		if _, err := sender.Exec("SELECT pg_notify($1, $2)", ch, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		select {
		case n := <-l.Notifications():
			if n.Payload != fmt.Sprint(i) {
				t.Fatalf("notification %d has payload %q", i, n.Payload)
			}
		case <-ctx.Done():
			t.Fatalf("notification %d of 10 never arrived", i)
		}
	}
	if err := l.Unlisten(ctx, ch); err != nil {
		t.Fatal(err)
	}
	// After the acknowledged UNLISTEN nothing more arrives: a marker sent
	// on a second channel is the next notification.
	marker := ch + "_marker"
	if err := l.Listen(ctx, marker); err != nil {
		t.Fatal(err)
	}
	sender.Exec("SELECT pg_notify($1, 'late')", ch)
	sender.Exec("SELECT pg_notify($1, 'marker')", marker)
	select {
	case n := <-l.Notifications():
		if n.Channel != marker {
			t.Fatalf("after Unlisten got %+v", n)
		}
	case <-ctx.Done():
		t.Fatal("the marker never arrived")
	}
}

// Listen on a Listener that cannot connect returns when its context ends.
func TestListenerListenWithoutAServerEndsWithItsContext(t *testing.T) {
	t.Parallel()
	cn, err := pgpipe.NewConnector("host=127.0.0.1 port=1 user=nobody sslmode=disable connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	l := pgpipe.NewListener(cn, pgpipe.ListenerOptions{ReconnectDelay: time.Millisecond})
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := l.Listen(ctx, "nowhere"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Listen = %v, want context.DeadlineExceeded", err)
	}
}

// Notifications nobody takes are capped; past the cap the oldest are
// dropped one by one, counted, and the connection stays quick to use.
func TestNotificationBacklogPastItsCapDropsTheOldest(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	ctx := context.Background()
	ch := "backlog_" + strings.ToLower(sanitize(t.Name()))
	if _, err := conn.ExecContext(ctx, "LISTEN "+ch); err != nil {
		t.Fatal(err)
	}
	extra := 5000
	total := pgpipe.MaxPendingNotifications + extra
	sender := openDB(t)
	if _, err := sender.Exec("SELECT pg_notify($1, g::text) FROM generate_series(1, $2) g", ch, total); err != nil {
		t.Fatal(err)
	}
	// A query on the listening connection reads them all on its way.
	var one int
	if err := conn.QueryRowContext(ctx, "SELECT pg_sleep(0.1), 1").Scan(new(any), &one); err != nil {
		t.Fatal(err)
	}
	var dropped uint64
	var first pgpipe.Notification
	err := conn.Raw(func(dc any) error {
		pc := dc.(pgpipe.Conn)
		dropped = pc.DroppedNotifications()
		var err error
		first, err = pc.WaitForNotification(ctx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if dropped != uint64(extra) || first.Payload != fmt.Sprint(extra+1) {
		t.Fatalf("dropped %d, first kept %q; want %d dropped and %d first", dropped, first.Payload, extra, extra+1)
	}
}

// The result formats remembered for a query run unnamed are forgotten when
// a schema change is queued: in a pipeline, where a refused Bind cannot be
// retried, the query after an ALTER still runs.
func TestPipelineUnnamedQueryAfterAQueuedSchemaChange(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "a int")
	conn := openConn(t, "prepare_threshold=none")
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, "INSERT INTO "+tbl+" VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	q := "SELECT * FROM " + tbl
	var a, b int
	for i := 0; i < 2; i++ { // the second execution asks for binary results
		if err := conn.QueryRowContext(ctx, q).Scan(&a); err != nil {
			t.Fatal(err)
		}
	}
	err := pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
		p.Exec("ALTER TABLE " + tbl + " ADD COLUMN b int DEFAULT 7")
		p.Sync()
		return p.QueryRow(q).Scan(&a, &b)
	})
	if err != nil || a != 1 || b != 7 {
		t.Fatalf("got %d %d, %v", a, b, err)
	}
}

// preparedOnServer counts the statements prepared on conn's session,
// running the count unnamed.
func preparedOnServer(t *testing.T, conn *sql.Conn) int {
	t.Helper()
	var n int
	ctx := pgpipe.WithPrepare(context.Background(), pgpipe.PrepareNever)
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM pg_prepared_statements").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Statements the driver closes (an eviction, a DEALLOCATE ALL that forgot
// them) are closed even when an earlier error in the pipeline made the
// server skip the Close: none is left behind on the server.
func TestSkippedClosesAreSentAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("eviction", func(t *testing.T) {
		conn := openConn(t, "prepare_threshold=0", "prepared_max=1")
		if _, err := conn.ExecContext(ctx, "SELECT 1 WHERE $1", true); err != nil {
			t.Fatal(err)
		}
		_ = pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
			p.Exec("SELECT 1/$1::int", 0)     // prepared (evicting the first), then fails
			p.Exec("SELECT 2 WHERE $1", true) // skipped, and so is its Close of the failed one
			return nil
		})
		if n := preparedOnServer(t, conn); n != 0 {
			t.Fatalf("%d statements left on the server that the driver evicted", n)
		}
	})
	t.Run("DEALLOCATE ALL skipped", func(t *testing.T) {
		conn := openConn(t, "prepare_threshold=0")
		for _, q := range []string{"SELECT 1 WHERE $1", "SELECT 2 WHERE $1"} {
			if _, err := conn.ExecContext(ctx, q, true); err != nil {
				t.Fatal(err)
			}
		}
		_ = pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
			p.Exec("SELECT 1/0")
			p.Exec("DEALLOCATE ALL") // skipped, after the cache forgot its names
			return nil
		})
		if n := preparedOnServer(t, conn); n != 0 {
			t.Fatalf("%d statements left on the server that the driver forgot", n)
		}
	})
}

// Listen on a Listener whose server refuses the connection for good (no
// such database) says so instead of waiting for a connection that will
// not come.
func TestListenerListenReportsARefusedConnection(t *testing.T) {
	t.Parallel()
	cn, err := pgpipe.NewConnector(dsn(t, "dbname=no_such_database_for_pgpipe"))
	if err != nil {
		t.Fatal(err)
	}
	l := pgpipe.NewListener(cn, pgpipe.ListenerOptions{ReconnectDelay: time.Millisecond})
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // only a hang trips it
	defer cancel()
	err = l.Listen(ctx, "nowhere")
	var pgErr *pgpipe.Error
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" {
		t.Fatalf("Listen = %v, want the server's 3D000", err)
	}
}

// A reader that calls Listen from its notification loop, with the
// Notifications buffer full, does not wait for itself.
func TestListenerListenFromTheNotificationLoop(t *testing.T) {
	t.Parallel()
	cn, err := pgpipe.NewConnector(dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	l := pgpipe.NewListener(cn, pgpipe.ListenerOptions{Buffer: 1})
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // only a hang trips it
	defer cancel()
	ch := "loop_" + strings.ToLower(sanitize(t.Name()))
	if err := l.Listen(ctx, ch); err != nil {
		t.Fatal(err)
	}
	sender := openDB(t)
	if _, err := sender.Exec("SELECT pg_notify($1, g::text) FROM generate_series(1, 5) g", ch); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Notifications(): // the Listener now waits to deliver the next ones
	case <-ctx.Done():
		t.Fatal("no notification")
	}
	if err := l.Listen(ctx, ch+"_more"); err != nil {
		t.Fatalf("Listen from the notification loop: %v", err)
	}
}
