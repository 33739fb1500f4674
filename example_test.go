package pgpipe_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/pgpipe/pgpipe"
)

// db is the pool the examples that need a server use.
var db *sql.DB

func ExampleParseDSN() {
	cfg, err := pgpipe.ParseDSN("postgres://app:secret@db1.example:5432,db2.example:5433/shop?sslmode=verify-full&target_session_attrs=read-write&prepare_threshold=none")
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Hosts[0].Name, cfg.Hosts[0].Port, cfg.Hosts[1].Name, cfg.Hosts[1].Port)
	fmt.Println(cfg.Database, cfg.User, cfg.SSLMode, cfg.TargetSessionAttrs, cfg.PrepareThreshold == pgpipe.PrepareNone)
	fmt.Println(strings.Contains(fmt.Sprint(cfg), "secret"))
	// Output:
	// db1.example 5432 db2.example 5433
	// shop app verify-full read-write true
	// false
}

func ExampleParseDSN_invalid() {
	_, err := pgpipe.ParseDSN("host=db.example port=fifty password=hunter2")
	var dsnErr *pgpipe.DSNError
	fmt.Println(errors.As(err, &dsnErr), dsnErr.Keyword, strings.Contains(err.Error(), "hunter2"))
	// Output:
	// true port false
}

func ExampleError() {
	_, err := db.Exec("INSERT INTO users (email) VALUES ($1)", "ada@example.com")
	var pgErr *pgpipe.Error
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		fmt.Println("already registered:", pgErr.ConstraintName)
	}
}

func ExampleArray() {
	// A slice is an array argument as it is; Array scans an array column
	// into a slice. NULL elements need pointers or sql.Null types.
	var ids []int64
	var tags []sql.NullString
	var grid [][]float64
	err := db.QueryRow("SELECT ids, tags, grid FROM docs WHERE ids && $1", []int64{7, 8}).
		Scan(pgpipe.Array(&ids), pgpipe.Array(&tags), pgpipe.Array(&grid))
	if err != nil {
		panic(err)
	}
	fmt.Println(ids, tags, grid)
}

func ExampleNewConnectorConfig() {
	cfg, err := pgpipe.ParseDSN(os.Getenv("DATABASE_URL"))
	if err != nil {
		panic(err)
	}
	cfg.NoticeHandler = func(n *pgpipe.Notice) { slog.Info("postgres notice", "message", n.Message) }
	cfg.Tracer = pgpipe.LogTracer(slog.Default(), slog.LevelDebug)
	connector, err := pgpipe.NewConnectorConfig(cfg)
	if err != nil {
		panic(err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
}

func ExampleWithPrepare() {
	// Prepare this query now, whatever prepare_threshold says.
	ctx := pgpipe.WithPrepare(context.Background(), pgpipe.PrepareAlways)
	var name string
	_ = db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = $1", 42).Scan(&name)
}

func ExampleStats() {
	conn, err := db.Conn(context.Background())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	st, err := pgpipe.Stats(conn)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d prepared, %d hits, %d evictions\n", st.Prepared, st.Hits, st.Evictions)
}

func ExampleRunPipeline() {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	err = pgpipe.RunPipeline(ctx, conn, func(p *pgpipe.Pipeline) error {
		p.Tx(func(p *pgpipe.Pipeline) error {
			p.Exec("INSERT INTO s VALUES ($1)", "abc")
			return nil
		})
		failed := p.Tx(func(p *pgpipe.Pipeline) error {
			p.Exec("INSERT INTO no_such_table VALUES ($1)", "x")
			return nil
		})
		if err := failed.Err(); err != nil {
			fmt.Println("rolled back alone:", err)
		}
		p.Exec("INSERT INTO s VALUES ($1)", "xyz") // still runs
		return nil
	})
	if err != nil {
		panic(err)
	}
}

func ExampleExecBatch() {
	rows := [][]any{{1, "one"}, {2, "two"}, {3, "three"}}
	res, err := pgpipe.ExecBatch(context.Background(), db, "INSERT INTO t (id, name) VALUES ($1, $2)", rows, pgpipe.BatchAtomic)
	if err != nil {
		panic(err)
	}
	fmt.Println(res.RowsAffected, "rows in one round trip")
}

func ExampleCopyFromRows() {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	rows := [][]any{{1, "ada", time.Now()}, {2, "grace", time.Now()}}
	n, err := pgpipe.CopyFromRows(ctx, conn, "users", []string{"id", "name", "created"}, pgpipe.CopyFromSlice(rows))
	if err != nil {
		panic(err)
	}
	fmt.Println(n, "rows copied")
}

func ExampleCopyFrom() {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	f, err := os.Open("users.csv")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	n, err := pgpipe.CopyFrom(ctx, conn, "COPY users (id, name) FROM STDIN (FORMAT csv, HEADER)", f)
	if err != nil {
		panic(err)
	}
	fmt.Println(n, "rows loaded")
}

func ExampleCopyToStream() {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	// Read only the first kilobyte: the COPY is stopped and the connection
	// stays ready.
	err = pgpipe.CopyToStream(ctx, conn, "COPY big_table TO STDOUT (FORMAT csv)", func(r io.Reader) error {
		_, err := io.CopyN(os.Stdout, r, 1024)
		return err
	})
	if err != nil {
		panic(err)
	}
}

func ExampleListener() {
	connector, err := pgpipe.NewConnector(os.Getenv("DATABASE_URL"))
	if err != nil {
		panic(err)
	}
	l := pgpipe.NewListener(connector, pgpipe.ListenerOptions{
		OnReconnect: func(err error) { slog.Warn("listener reconnected; notifications may have been missed", "cause", err) },
	})
	defer l.Close()
	if err := l.Listen(context.Background(), "jobs"); err != nil {
		panic(err)
	}
	for n := range l.Notifications() {
		fmt.Println("job:", n.Payload)
	}
}

func ExampleWaitForNotification() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := db.Conn(ctx)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "LISTEN jobs"); err != nil {
		panic(err)
	}
	n, err := pgpipe.WaitForNotification(ctx, conn)
	if err != nil {
		panic(err)
	}
	fmt.Println(n.Channel, n.Payload)
}
