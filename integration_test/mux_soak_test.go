package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// muxLedger records what each insert of the soak told its caller.
type muxLedger struct {
	mu        sync.Mutex
	committed map[int64]bool // reported done: present exactly once
	maybe     map[int64]bool // cancelled after it was sent: at most once
	absent    map[int64]bool // rolled back: never present
}

func (l *muxLedger) note(m map[int64]bool, ids ...int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		m[id] = true
	}
}

// TestMultiplexSoak: many goroutines share two server connections with
// random cancellations, transactions that commit or roll back, db.Conn
// sessions that set state, and open Rows with statements run meanwhile.
// No caller gets another's result, nothing runs twice, nothing reported
// done is missing, nothing rolled back is present, nothing hangs.
func TestMultiplexSoak(t *testing.T) {
	// 64 database/sql connections for 16 workers: one that holds rows
	// open needs a second (with any driver, a pool no larger than its
	// workers deadlocks on that loop).
	db := openMux(t, 2, 64)
	table := newTable(t, db, "id bigint")
	l := &muxLedger{committed: map[int64]bool{}, maybe: map[int64]bool{}, absent: map[int64]bool{}}
	var ids atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for i := 0; i < 120; i++ {
				if err := muxSoakOp(db, table, l, &ids, rng, w); err != nil {
					errs <- fmt.Errorf("worker %d op %d: %w", w, i, err)
					return
				}
			}
		}(w)
	}
	waitOrDump(t, &wg, 10*time.Minute)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	counts := map[int64]int{}
	rows, err := openDB(t).Query("SELECT id, count(*) FROM " + table + " GROUP BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		counts[id] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id, n := range counts {
		if n > 1 {
			t.Errorf("id %d inserted %d times", id, n)
		}
		if l.absent[id] {
			t.Errorf("id %d was rolled back, or its insert failed with a plain context error, but is present", id)
		}
		if !l.committed[id] && !l.maybe[id] {
			t.Errorf("id %d is present but no caller inserted it successfully or was told it may have run", id)
		}
	}
	for id := range l.committed {
		if counts[id] != 1 {
			t.Errorf("id %d was reported inserted but is present %d times", id, counts[id])
		}
	}
	t.Logf("%d committed, %d cancelled after sending, %d rolled back", len(l.committed), len(l.maybe), len(l.absent))
}

// muxSoakOp runs one random operation of the soak.
func muxSoakOp(db *sql.DB, table string, l *muxLedger, ids *atomic.Int64, rng *rand.Rand, w int) error {
	ctx := context.Background()
	switch rng.Intn(6) {
	case 0: // an insert whose context may end at any moment
		id := ids.Add(1)
		cctx, cancel := context.WithTimeout(ctx, time.Duration(rng.Intn(3000))*time.Microsecond)
		defer cancel()
		_, err := db.ExecContext(cctx, "INSERT INTO "+table+" VALUES ($1)", id)
		var sent *pgpipe.SharedCancelError
		switch {
		case err == nil:
			l.note(l.committed, id)
		case errors.As(err, &sent) && errors.Is(err, context.DeadlineExceeded):
			l.note(l.maybe, id) // written before the deadline: may have run
		case errors.Is(err, context.DeadlineExceeded):
			l.note(l.absent, id) // a plain context error: nothing was sent
		default:
			return err
		}
	case 1: // a transaction that commits or rolls back
		a, b := ids.Add(1), ids.Add(1)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, id := range []int64{a, b} {
			if _, err := tx.Exec("INSERT INTO "+table+" VALUES ($1)", id); err != nil {
				return err
			}
		}
		if rng.Intn(2) == 0 {
			if err := tx.Rollback(); err != nil {
				return err
			}
			l.note(l.absent, a, b)
			return nil
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		l.note(l.committed, a, b)
	case 2: // a session that sets state and relies on it
		sc, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		defer sc.Close()
		name := fmt.Sprintf("soak_%d", w)
		if _, err := sc.ExecContext(ctx, "SET application_name = '"+name+"'"); err != nil {
			return err
		}
		id := ids.Add(1)
		if _, err := sc.ExecContext(ctx, "INSERT INTO "+table+" VALUES ($1)", id); err != nil {
			return err
		}
		l.note(l.committed, id)
		var got string
		if err := sc.QueryRowContext(ctx, "SELECT current_setting('application_name')").Scan(&got); err != nil || got != name {
			return fmt.Errorf("session setting %q, want %q (%v)", got, name, err)
		}
	case 3: // rows held open while other statements run
		rows, err := db.QueryContext(ctx, "SELECT g FROM generate_series(1, 20) g")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g int64
			if err := rows.Scan(&g); err != nil {
				return err
			}
			var back int64
			if err := db.QueryRow("SELECT $1::bigint * 2", g).Scan(&back); err != nil || back != 2*g {
				return fmt.Errorf("%d*2 = %d (%v)", g, back, err)
			}
		}
		return rows.Err()
	case 4: // a point query: the caller's own value comes back
		want := rng.Int63()
		var got int64
		var s string
		if err := db.QueryRow("SELECT $1::bigint, $2::text", want, fmt.Sprint(want)).Scan(&got, &s); err != nil || got != want || s != fmt.Sprint(want) {
			return fmt.Errorf("sent %d, got %d %q (%v)", want, got, s, err)
		}
	case 5: // a statement cancelled while it runs or waits
		cctx, cancel := context.WithTimeout(ctx, time.Duration(rng.Intn(2000))*time.Microsecond)
		defer cancel()
		var s string
		err := db.QueryRowContext(cctx, "SELECT pg_sleep(0.02)::text || 'x'").Scan(&s)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if err == nil && s != "x" {
			return fmt.Errorf("got %q", s)
		}
	}
	return nil
}

// waitOrDump waits for wg; if that takes longer than limit (only a hang
// does), it writes every goroutine's stack to stderr and stops the test,
// so the rest of the suite still runs.
func waitOrDump(t *testing.T, wg *sync.WaitGroup, limit time.Duration) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
		t.Fatalf("the workers still run after %v: hung (stacks above)", limit)
	}
}
