package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// Arrays written from Go slices and read back into Go slices with
// pgpipe.Array, through a table, with and without preparation (binary and
// text arguments).
func TestArraysRoundTripIntoSlices(t *testing.T) {
	t.Parallel()
	for _, threshold := range []string{"none", "0"} {
		t.Run("prepare_threshold="+threshold, func(t *testing.T) {
			t.Parallel()
			db := openDB(t, "prepare_threshold="+threshold, "TimeZone=UTC")
			tbl := newTable(t, db, "id int, i2 int2[], i4 int4[][], i8 int8[], f4 float4[], f8 float8[], b bool[], s text[], by bytea[], ts timestamptz[], d date[], n numeric[]")
			ts := []time.Time{time.Date(2024, 3, 1, 10, 0, 0, 123456000, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)}
			d := []time.Time{time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)}
			in := []any{[]int16{-1, 32767}, [][]int32{{1, 2}, {3, 4}}, []*int64{ptrTo(int64(7)), nil},
				[]float32{1.5, -0.25}, []float64{0.1, 1e300}, []bool{true, false}, []string{`a"b`, "NULL", "", "x,y"},
				[][]byte{{0, 1, 0xff}, nil}, ts, d, []string{"1.50", "NaN"}}
			ctx := context.Background()
			for id := range 3 { // the third execution binds a prepared statement
				args := append([]any{id}, in...)
				if _, err := db.ExecContext(ctx, "INSERT INTO "+tbl+" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)", args...); err != nil {
					t.Fatal(err)
				}
			}
			for id := range 3 {
				var (
					i2        []int16
					i4        [][]int32
					i8        []*int64
					f4        []float32
					f8        []float64
					b         []bool
					s         []sql.NullString
					by        [][]byte
					gotTS, gd []time.Time
					n         []string
				)
				err := db.QueryRowContext(ctx, "SELECT i2, i4, i8, f4, f8, b, s, by, ts, d, n FROM "+tbl+" WHERE id = $1", id).Scan(
					pgpipe.Array(&i2), pgpipe.Array(&i4), pgpipe.Array(&i8), pgpipe.Array(&f4), pgpipe.Array(&f8), pgpipe.Array(&b),
					pgpipe.Array(&s), pgpipe.Array(&by), pgpipe.Array(&gotTS), pgpipe.Array(&gd), pgpipe.Array(&n))
				if err != nil {
					t.Fatal(err)
				}
				strs := make([]string, len(s))
				for i, x := range s {
					strs[i] = x.String
				}
				got := []any{i2, i4, []any{*i8[0], i8[1]}, f4, f8, b, strs, by, nil, nil, n}
				want := []any{in[0], in[1], []any{int64(7), (*int64)(nil)}, in[3], in[4], in[5], in[6], [][]byte{{0, 1, 0xff}, nil}, nil, nil, in[10]}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("row %d: got %v, want %v", id, got, want)
				}
				if len(gotTS) != 2 || !gotTS[0].Equal(ts[0]) || !gotTS[1].Equal(ts[1]) || len(gd) != 1 || !gd[0].Equal(d[0]) {
					t.Errorf("row %d: times %v %v, want %v %v", id, gotTS, gd, ts, d)
				}
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestArraysNullElementsAndDimensions(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	var ns []sql.NullInt64
	var nt []sql.NullTime
	var grid []any
	err := db.QueryRowContext(ctx, "SELECT ARRAY[1, NULL, 3]::int8[], ARRAY['2024-01-01'::date, NULL], $1::int[]",
		[]any{[]any{1, 2}, []any{3, nil}}).Scan(pgpipe.Array(&ns), pgpipe.Array(&nt), pgpipe.Array(&grid))
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 3 || ns[0].Int64 != 1 || ns[1].Valid || ns[2].Int64 != 3 || len(nt) != 2 || !nt[0].Valid || nt[1].Valid {
		t.Fatalf("got %v %v", ns, nt)
	}
	if !reflect.DeepEqual(grid, []any{[]any{"1", "2"}, []any{"3", nil}}) {
		t.Fatalf("a 2-D array into []any: got %#v", grid)
	}
	var flat []int
	err = db.QueryRowContext(ctx, "SELECT '{{1,2},{3,4}}'::int[]").Scan(pgpipe.Array(&flat))
	if err == nil || !strings.Contains(err.Error(), "2-dimensional array into []int") {
		t.Fatalf("got %v, want an error naming the dimensions", err)
	}
	var plain []int64
	err = db.QueryRowContext(ctx, "SELECT ARRAY[1, NULL]::int8[]").Scan(pgpipe.Array(&plain))
	if err == nil || !strings.Contains(err.Error(), "NULL cannot be stored in int64") {
		t.Fatalf("got %v, want an error about the NULL element", err)
	}
	var bounded []int
	if err := db.QueryRowContext(ctx, "SELECT '[0:1]={7,8}'::int[]").Scan(pgpipe.Array(&bounded)); err != nil || !reflect.DeepEqual(bounded, []int{7, 8}) {
		t.Fatalf("got %v, %v", bounded, err)
	}
}

// Slices nested deeper than PostgreSQL's 6 dimensions are refused before
// anything is sent, with the limit; the transaction stays usable.
func TestTooDeepSliceArgumentIsRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	deep := any(1)
	for range 11 {
		deep = []any{deep}
	}
	_, err = tx.ExecContext(ctx, "SELECT $1::int[]", deep)
	var argErr *pgpipe.ArgError
	if !errors.As(err, &argErr) || !strings.Contains(err.Error(), "PostgreSQL allows at most 6") {
		t.Fatalf("got %v, want an ArgError naming the limit", err)
	}
	var six string
	if err := tx.QueryRowContext(ctx, "SELECT $1::int[]::text", [][][][][][]int{{{{{{1, 2}}}}}}).Scan(&six); err != nil || six != "{{{{{{1,2}}}}}}" {
		t.Fatalf("six dimensions: got %q, %v", six, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
