package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

func TestTimeoutCancelsTheQueryAndKeepsTheConnection(t *testing.T) {
	t.Parallel()
	conn := openConn(t)
	var pid1, pid2 int
	conn.QueryRowContext(context.Background(), "SELECT pg_backend_pid()").Scan(&pid1)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := conn.ExecContext(ctx, "SELECT pg_sleep(10)")
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Fatalf("the timeout took %v to return", elapsed)
	}
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
	conn := openConn(t)
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
// random timeouts against a pool, then checks the server sees exactly the
// pool's connections, and none after Close.
func TestRandomCancellationsLeaveNoLeakedConnections(t *testing.T) {
	app := fmt.Sprintf("cancelstorm_%d", time.Now().UnixNano())
	db := openDB(t, "application_name="+app)
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
	// database/sql rolls back transactions whose context ended on
	// goroutines of its own, which may still be waiting for their cancel
	// to finish (and then close the connection): wait until the pool is
	// quiet and the two counts agree, or 10 s passed.
	admin := openDB(t)
	var server, open int
	for quiet := time.Now().Add(10 * time.Second); ; {
		open = db.Stats().OpenConnections
		admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&server)
		if server == open && db.Stats().InUse == 0 || time.Now().After(quiet) {
			break
		}
		runtime.Gosched()
	}
	if server != open {
		t.Fatalf("the server has %d connections of the pool, the pool has %d open", server, open)
	}
	db.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		admin.QueryRow("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&server)
		if server == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections left on the server after db.Close", server)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
