package integration_test

import (
	"context"
	"testing"
)

// TestAnEmptyFirstResultSetKeepsItsPlace: a result set without rows is
// still the first set, with its own columns, before the next one.
func TestAnEmptyFirstResultSetKeepsItsPlace(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	rows, err := db.QueryContext(context.Background(), "SELECT 1 AS a WHERE false; SELECT 2 AS b")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	t.Logf("first set columns %v", cols)
	n := 0
	for rows.Next() {
		n++
	}
	if !rows.NextResultSet() {
		t.Fatalf("no second set; first had %d rows, cols %v, err %v", n, cols, rows.Err())
	}
	cols2, _ := rows.Columns()
	var v int
	if !rows.Next() {
		t.Fatal("second set empty")
	}
	rows.Scan(&v)
	t.Logf("first: %v %d rows; second: %v %d", cols, n, cols2, v)
	if cols[0] != "a" || n != 0 || cols2[0] != "b" || v != 2 {
		t.Fatal("wrong")
	}
}
