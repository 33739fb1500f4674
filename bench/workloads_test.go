package bench

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFactorialsAreExactDecimals(t *testing.T) {
	for n, want := range map[int]string{0: "1", 1: "1", 5: "120", 20: "2432902008176640000"} {
		if factorials[n] != want {
			t.Errorf("factorials[%d] = %s, want %s", n, factorials[n], want)
		}
	}
	last := factorials[pipelineInserts-1]
	zeros := len(last) - len(strings.TrimRight(last, "0"))
	if len(last) != 2565 || !strings.HasPrefix(last, "402387260077") || zeros != 246 {
		t.Errorf("999! has %d digits, %d trailing zeros, starts %s…: want 2565, 246 and 402387260077…", len(last), zeros, last[:12])
	}
}

func TestPipelinePgbenchScriptSendsEveryInsertAsParameters(t *testing.T) {
	s := pipelinePgbenchScript()
	if got := strings.Count(s, "INSERT INTO "+pipelineTable+" (x, d, p) VALUES (:x"); got != pipelineInserts {
		t.Errorf("the script has %d parameterised inserts, want %d", got, pipelineInserts)
	}
	for _, want := range []string{
		"\\if :loaded = 0\nSELECT factorial(0)::text AS x0, ", "factorial(999)::text AS x999, ",
		"VALUES (:x0, :d, :even);\n", "VALUES (:x999, :d, :odd);\n\\endpipeline\n", "\\gset\n\\set loaded 1\n\\endif\n\\startpipeline\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the script lacks %q", want)
		}
	}
}

func TestWriteCSVWritesTheGeneratedRows(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCSV(&buf, 3); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	for i, rec := range recs {
		n := i + 1
		score, _ := strconv.ParseFloat(rec[2], 64)
		at, err := time.Parse("2006-01-02 15:04:05.999999-07", rec[3])
		if rec[0] != strconv.Itoa(n) || rec[1] != benchText(n) || score != benchScore(n) || err != nil || !at.Equal(benchTime(n)) {
			t.Errorf("record %d = %q (time %v, %v), want row %d's values", i, rec, at, err, n)
		}
	}
}

func TestBenchTextsAreTenToThirtyCharacters(t *testing.T) {
	for i, s := range benchNames {
		if len(s) < 10 || len(s) > 30 || strings.ContainsAny(s, ",\"\t\n\\") {
			t.Errorf("benchNames[%d] = %q: want 10 to 30 characters, none special in CSV or COPY text", i, s)
		}
	}
}

func TestRowGenYieldsRowsOneToN(t *testing.T) {
	cl := &Client{}
	g := &rowGen{cl: cl, n: 3, vals: newRow()}
	var ids []int64
	for g.Next() {
		vals, err := g.Values()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, vals[0].(int64))
	}
	if len(ids) != 3 || ids[0] != 1 || ids[2] != 3 || g.Err() != nil || cl.progress.Load() != 3 {
		t.Errorf("rowGen gave ids %v, progress %d, err %v; want 1 2 3 and progress 3", ids, cl.progress.Load(), g.Err())
	}
}

func TestInsertSQLHasFourParametersPerRow(t *testing.T) {
	if !strings.HasSuffix(insertSQL, "($3997, $3998, $3999, $4000)") || strings.Count(insertSQL, "($") != insertRowsPerStatement {
		t.Errorf("insertSQL ends %q with %d rows", insertSQL[len(insertSQL)-40:], strings.Count(insertSQL, "($"))
	}
}

func TestChurnQueriesAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for _, q := range churnSQL {
		seen[q] = true
	}
	if len(seen) != churnQueries || churnQueries <= 512 {
		t.Errorf("%d distinct churn queries; want %d, more than pgx's cache of 512", len(seen), churnQueries)
	}
}

func TestSetCopyRowsWantsMultiplesOfAThousand(t *testing.T) {
	defer SetCopyRows(CopyRows())
	for _, n := range []int{0, -1000, 1500} {
		if SetCopyRows(n) == nil {
			t.Errorf("SetCopyRows(%d) accepted", n)
		}
	}
	if err := SetCopyRows(2000); err != nil || CopyRows() != 2000 {
		t.Errorf("SetCopyRows(2000) = %v, CopyRows() = %d", err, CopyRows())
	}
}
