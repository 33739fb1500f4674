package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// TestTimeoutCancelsTheQueryAndKeepsTheConnection: the deadline passes
// while the server runs the statement (the test ends the context once it
// sees the backend sleep). The grace period is long, so that the server's
// answer to the cancel comes within it on any machine.
func TestTimeoutCancelsTheQueryAndKeepsTheConnection(t *testing.T) {
	t.Parallel()
	// The statement's own backend and its 57014: a dedicated connection
	// (TestMultiplexCancelLongStatement is the shared one's case).
	conn := openConn(t, "cancel_grace=120s", "multiplex=0")
	var pid1, pid2 int
	if err := conn.QueryRowContext(context.Background(), "SELECT pg_backend_pid()").Scan(&pid1); err != nil {
		t.Fatal(err)
	}
	ctx := cancelWhenSleeping(t, openDB(t), pid1)
	_, err := conn.ExecContext(ctx, "SELECT pg_sleep(600)")
	var pgErr *pgpipe.Error
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("err = %v; want context.DeadlineExceeded and SQLSTATE 57014", err)
	}
	if err := conn.QueryRowContext(context.Background(), "SELECT pg_backend_pid()").Scan(&pid2); err != nil || pid2 != pid1 {
		t.Fatalf("next query on the same sql.Conn: pid %d (was %d), %v", pid2, pid1, err)
	}
}

func TestCancelWhileReadingRows(t *testing.T) {
	t.Parallel()
	// Rows streamed from the wire: a dedicated connection (a shared one
	// reads them in full before Query returns).
	conn := openConn(t, "multiplex=0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := conn.QueryContext(ctx, "SELECT g, pg_sleep(0.0001) FROM generate_series(1, 1000000) g")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		if n++; n == 100 {
			cancel()
		}
	}
	if !errors.Is(rows.Err(), context.Canceled) {
		t.Fatalf("rows.Err() = %v after %d rows, want context.Canceled", rows.Err(), n)
	}
	rows.Close()
	var v int
	if err := conn.QueryRowContext(context.Background(), "SELECT 7").Scan(&v); err != nil || v != 7 {
		t.Fatalf("after a cancelled iteration: %d, %v", v, err)
	}
}

// TestRandomCancellationsLeaveNoLeakedConnections runs 32 goroutines with
// random timeouts against a pool, then checks the server ends up with
// exactly the pool's connections, and none after Close. It compares
// backends, not counts: right after a storm database/sql still counts
// connections it is dialling for requests that gave up, and the server
// still lists backends whose client has just closed the socket.
func TestRandomCancellationsLeaveNoLeakedConnections(t *testing.T) {
	app := fmt.Sprintf("cancelstorm_%d", time.Now().UnixNano())
	// It counts server connections against database/sql's, one each:
	// without multiplexing (TestMultiplexSoak cancels on a shared pool).
	db := openDB(t, "application_name="+app, "multiplex=0")
	db.SetMaxOpenConns(8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := 0
	for g := 0; g < 32; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := 0; i < 40; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(30))*time.Millisecond)
				want := g*1000 + i
				var got int
				var err error
				switch r.IntN(3) {
				case 0:
					err = db.QueryRowContext(ctx, "SELECT $1::int FROM pg_sleep($2::float8/1000)", want, r.IntN(20)).Scan(&got)
				case 1:
					var tx *sql.Tx
					if tx, err = db.BeginTx(ctx, nil); err == nil {
						err = tx.QueryRowContext(ctx, "SELECT $1::int", want).Scan(&got)
						if err == nil {
							err = tx.Commit()
						} else {
							tx.Rollback()
						}
					}
				default:
					err = db.QueryRowContext(ctx, "SELECT $1::int", want).Scan(&got)
				}
				cancel()
				if err == nil && got != want {
					mu.Lock()
					wrong++
					mu.Unlock()
				}
				if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && !errors.Is(err, sql.ErrTxDone) {
					t.Errorf("goroutine %d: unexpected error: %v", g, err)
				}
			}
		}(g)
	}
	wg.Wait()
	if wrong > 0 {
		t.Fatalf("%d queries returned another query's result", wrong)
	}
	var v int
	if err := db.QueryRow("SELECT 1").Scan(&v); err != nil {
		t.Fatalf("the pool is unusable after the storm: %v", err)
	}
	admin := openDB(t)
	backends := func() (string, error) {
		var got string
		err := admin.QueryRow("SELECT coalesce(string_agg(pid::text, ' ' ORDER BY pid), '') FROM pg_stat_activity WHERE application_name = $1", app).Scan(&got)
		return got, err
	}
	// Connections the driver gave up during the storm end on the server a
	// moment after their socket closed: wait for that. A leaked one (a
	// backend no pool connection owns) never ends, and trips the guard.
	holdEveryConnection(t, db, 8, func(pids string) {
		waitUntil(t, "the server has exactly the pool's connections "+pids, func() (bool, string, error) {
			got, err := backends()
			return got == pids, "backends " + got, err
		})
	})
	db.Close()
	waitUntil(t, "no connection of the pool is left on the server after db.Close", func() (bool, string, error) {
		got, err := backends()
		return got == "", "backends " + got, err
	})
}

// holdEveryConnection takes n connections from db (its SetMaxOpenConns),
// so that none is being opened or closed, and calls f with their backends'
// process IDs, sorted, separated by spaces; it releases them when f
// returns. Neither db.Stats().OpenConnections nor a released connection
// would do: database/sql counts a connection from the moment it starts to
// dial it until its Close has returned, and closes a released connection
// beyond SetMaxIdleConns (2 by default).
func holdEveryConnection(t *testing.T, db *sql.DB, n int, f func(pids string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	pids := make([]int, 0, n)
	for range n {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatalf("taking %d connections from the pool: %v", n, err)
		}
		defer conn.Close()
		var pid int
		if err := conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}

		pids = append(pids, pid)
	}
	if st := db.Stats(); st.OpenConnections != n || st.InUse != n {
		t.Fatalf("holding %d connections, the pool counts %d open, %d in use", n, st.OpenConnections, st.InUse)
	}
	slices.Sort(pids)
	var b strings.Builder
	for i, pid := range pids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(pid))
	}
	f(b.String())
}
