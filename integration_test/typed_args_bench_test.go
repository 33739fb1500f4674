package integration_test

import (
	"context"
	"strconv"
	"testing"
)

// BenchmarkTypeDependentFirstExecution measures what learning the
// parameter types costs: an INSERT of a []byte into jsonb and bytea
// columns run with a new query text each time (every execution is the
// first of its text on the connection: Parse + Describe + Flush, then
// Bind + Execute + Sync), the same with a string where the []byte was
// (a new text, no learning), and the same text again and again (types
// known). Compare ns/op of first-bytes with later-bytes for the cost of
// the first execution, and with first-string for the part that is the
// extra round trip rather than the new text.
func BenchmarkTypeDependentFirstExecution(b *testing.B) {
	for _, threshold := range []string{"none", "5"} {
		db := openDB(b, "prepare_threshold="+threshold)
		db.SetMaxOpenConns(1)
		tbl := newTable(b, db, "j jsonb, b bytea")
		doc := []byte(`{"a": 1, "b": [1, 2, 3]}`)
		run := func(name string, query func(i int) string, arg func() any) {
			b.Run("threshold="+threshold+"/"+name, func(b *testing.B) {
				ctx := context.Background()
				conn, err := db.Conn(ctx)
				if err != nil {
					b.Fatal(err)
				}
				defer conn.Close()
				a := arg()
				for i := 0; b.Loop(); i++ {
					if _, err := conn.ExecContext(ctx, query(i), a, a); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		fresh := func(tag string) func(i int) string {
			return func(i int) string {
				return "INSERT INTO " + tbl + " (j, b) VALUES ($1, $2) -- " + tag + strconv.Itoa(i)
			}
		}
		same := func(int) string { return "INSERT INTO " + tbl + " (j, b) VALUES ($1, $2)" }
		run("first-bytes", fresh("b"), func() any { return doc })
		run("first-string", fresh("s"), func() any { return string(doc) })
		run("later-bytes", same, func() any { return doc })
	}
}
