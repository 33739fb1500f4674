package integration_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/lib/pq"
)

// TestLibpqProgramRunsOnPgpipe is a small program written for lib/pq, with
// only the driver name changed, as README's migration guide says.
func TestLibpqProgramRunsOnPgpipe(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgpipe", server.dsn) // was: sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tbl := newTable(t, db, "id int PRIMARY KEY, tags text[], scores int8[]")

	// pq.Array as an argument, and scanning arrays back with pq.Array.
	if _, err := db.Exec("INSERT INTO "+tbl+" VALUES ($1, $2, $3)", 1, pq.Array([]string{"a", "b,c", `q"uote`}), pq.Array([]int64{3, 4})); err != nil {
		t.Fatal(err)
	}
	var tags []string
	var scores []int64
	if err := db.QueryRow("SELECT tags, scores FROM "+tbl+" WHERE id = $1", 1).Scan(pq.Array(&tags), pq.Array(&scores)); err != nil {
		t.Fatal(err)
	}
	if len(tags) != 3 || tags[2] != `q"uote` || len(scores) != 2 || scores[1] != 4 {
		t.Fatalf("arrays came back as %q %v", tags, scores)
	}

	// lib/pq's COPY helper.
	txn, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	stmt, err := txn.Prepare(pq.CopyIn(tbl, "id", "tags"))
	if err != nil {
		t.Fatal(err)
	}
	for id := 2; id <= 100; id++ {
		if _, err := stmt.Exec(id, pq.Array([]string{"x"})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := stmt.Exec(); err != nil {
		t.Fatal(err)
	}
	stmt.Close()
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	db.QueryRow("SELECT count(*) FROM " + tbl).Scan(&n)
	if n != 100 {
		t.Fatalf("%d rows after pq.CopyIn, want 100", n)
	}

	// Error handling written against SQLState() keeps working.
	_, err = db.Exec("INSERT INTO "+tbl+" (id) VALUES ($1)", 1)
	var coded interface{ SQLState() string }
	if !errors.As(err, &coded) || coded.SQLState() != "23505" {
		t.Fatalf("duplicate key: %v", err)
	}
}
