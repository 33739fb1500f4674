package integration_test

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A code generator or schema tool builds its struct fields from
// ColumnTypeScanType and scans into them: int2, int4 and float4 report
// int16, int32 and float32 (as lib/pq and pgx do), and their extreme values
// scan into them exactly, in text and in binary results.
func TestScanTypeOfNarrowColumnsHoldsTheirValues(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "i2 int2, i4 int4, f4 float4")
	if _, err := db.Exec("INSERT INTO "+tbl+" VALUES ($1, $2, $3), ($4, $5, $6), (0, 0, 'NaN'), (0, 0, '-Infinity')",
		math.MinInt16, math.MinInt32, -math.MaxFloat32, math.MaxInt16, math.MaxInt32, float32(0.1)); err != nil {
		t.Fatal(err)
	}
	want := map[string]reflect.Type{"i2": reflect.TypeFor[int16](), "i4": reflect.TypeFor[int32](), "f4": reflect.TypeFor[float32]()}
	wantRows := [][3]any{
		{int16(math.MinInt16), int32(math.MinInt32), float32(-math.MaxFloat32)},
		{int16(0), int32(0), float32(math.NaN())},
		{int16(0), int32(0), float32(math.Inf(-1))},
		{int16(math.MaxInt16), int32(math.MaxInt32), float32(0.1)},
	}
	// Run 1 is text, the rest binary once the statement is prepared.
	for run := 1; run <= 7; run++ {
		rows, err := db.Query("SELECT i2, i4, f4 FROM " + tbl + " WHERE i2 IS NOT NULL ORDER BY i2, f4 DESC")
		if err != nil {
			t.Fatal(err)
		}
		cts, err := rows.ColumnTypes()
		if err != nil {
			t.Fatal(err)
		}
		for _, ct := range cts {
			if ct.ScanType() != want[ct.Name()] {
				t.Errorf("run %d: %s: ScanType %v, want %v", run, ct.Name(), ct.ScanType(), want[ct.Name()])
			}
		}
		var got [][3]any
		for rows.Next() {
			dest := make([]any, len(cts))
			for i, ct := range cts {
				dest[i] = reflect.New(ct.ScanType()).Interface()
			}
			if err := rows.Scan(dest...); err != nil {
				t.Fatalf("run %d: Scan into the ScanTypes: %v", run, err)
			}
			var row [3]any
			for i := range dest {
				row[i] = reflect.ValueOf(dest[i]).Elem().Interface()
			}
			got = append(got, row)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(wantRows) {
			t.Fatalf("run %d: %d rows, want %d", run, len(got), len(wantRows))
		}
		for i := range got {
			for j := range got[i] {
				g, w := got[i][j], wantRows[i][j]
				if f, ok := g.(float32); ok && math.IsNaN(float64(f)) && math.IsNaN(float64(w.(float32))) {
					continue
				}
				if g != w {
					t.Errorf("run %d: row %d column %d = %v, want %v", run, i, j, g, w)
				}
			}
		}
	}
}

// date, timestamp and timestamptz report time.Time, which cannot hold
// infinity: the value arrives as the string "infinity", a *time.Time
// destination refuses it with an error (as README says), and a string or
// any destination gets the string.
func TestScanTypeTimeRefusesInfinity(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	for _, typ := range []string{"date", "timestamp", "timestamptz"} {
		q := "SELECT 'infinity'::" + typ + ", '-infinity'::" + typ + " WHERE $1::int = 1"
		for run := 1; run <= 7; run++ {
			rows, err := db.Query(q, 1)
			if err != nil {
				t.Fatal(err)
			}
			cts, _ := rows.ColumnTypes()
			if cts[0].ScanType() != reflect.TypeFor[time.Time]() {
				t.Errorf("%s: ScanType %v", typ, cts[0].ScanType())
			}
			rows.Close()
			var tm time.Time
			var s string
			err = db.QueryRow(q, 1).Scan(&tm, &s)
			if err == nil || !strings.Contains(err.Error(), "time.Time") {
				t.Fatalf("%s run %d: Scan of infinity into time.Time: %v; want an error", typ, run, err)
			}
			var pos, neg any
			if err := db.QueryRow(q, 1).Scan(&pos, &neg); err != nil || pos != "infinity" || neg != "-infinity" {
				t.Fatalf("%s run %d: Scan into any: %v, %v, %v", typ, run, pos, neg, err)
			}
		}
	}
}
