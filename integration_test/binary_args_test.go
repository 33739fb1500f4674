package integration_test

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pgpipe/pgpipe"
)

// Once a statement is prepared, the server has told the driver its
// parameter types, and arguments of a fitting Go type go in binary. These
// tests check that binary arguments mean exactly what the text ones meant:
// every value below is inserted through a statement that is never prepared
// (text arguments) and through one that is (binary), and the server's text
// of both must be the same, or both must fail with the same SQLSTATE.

func TestBinaryArgumentsMeanWhatTextArgumentsMean(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	east := time.FixedZone("UTC+13:45", 13*3600+45*60)
	far := time.FixedZone("UTC-17", -17*3600) // beyond PostgreSQL's offsets: sent as UTC
	base := time.Date(2024, 3, 10, 2, 30, 0, 0, time.UTC)
	times := []any{
		base, base.In(ny), base.In(east), base.In(far),
		time.Date(2024, 3, 10, 2, 30, 0, 500, time.UTC),      // half a microsecond: to even
		time.Date(2024, 3, 10, 2, 30, 0, 1500, time.UTC),     // to even, upwards
		time.Date(2024, 3, 10, 2, 30, 0, 999_999_999, ny),    // rounds into the next second
		time.Date(2024, 12, 31, 23, 59, 59, 999_999_600, ny), // into the next year
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),             // year 1
		time.Date(0, 6, 1, 12, 0, 0, 0, time.UTC),            // 1 BC
		time.Date(-4713, 11, 24, 0, 0, 0, 0, time.UTC),       // 4714 BC, the first day
		time.Date(-4713, 11, 23, 23, 0, 0, 0, time.UTC),      // before it: out of range
		time.Date(294276, 12, 31, 23, 59, 59, 0, time.UTC),   // near the end
		time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC),        // past it
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_500, ny), // negative Unix time
		time.Unix(0, 0).In(ny),
	}
	cases := []struct {
		typ    string
		values []any
	}{
		{"int8", []any{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64)}},
		{"int4", []any{int64(7), int64(math.MaxInt32), int64(math.MinInt32), int64(math.MaxInt32) + 1, int64(math.MinInt32) - 1}},
		{"int2", []any{int64(-7), int64(math.MaxInt16), int64(math.MinInt16), int64(math.MaxInt16) + 1}},
		{"int4", []any{1, -1, math.MaxInt32 + 1, int32(-5), int16(5), int8(-5), uint8(255), uint16(65535), uint32(math.MaxUint32), uint(3), uint64(math.MaxUint64)}},
		{"int8", []any{math.MinInt64, int32(math.MinInt32), uint32(math.MaxUint32), uint64(math.MaxInt64), uint64(math.MaxInt64) + 1, uint(math.MaxUint)}},
		{"int2", []any{math.MaxInt16 + 1, int8(math.MinInt8), uint16(math.MaxInt16 + 1)}},
		{"float8", []any{float32(0.1), int64(1) << 53, 7}},
		{"float8", []any{0.1, -0.0, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64, 1e-310, -123.456e78}},
		{"bool", []any{true, false}},
		{"timestamptz", times},
		{"timestamp", times},
		{"date", times},
	}
	ctx := context.Background()
	// The session's TimeZone matters to timestamptz text; a zone with DST
	// and a non-UTC offset catches a conversion on the wrong side.
	text := openConn(t, "prepare_threshold=none", "timezone=Australia/Lord_Howe")
	binary := openConn(t, "prepare_threshold=0", "timezone=Australia/Lord_Howe")
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			db := openDB(t)
			tbl := newTable(t, db, "id int, v "+c.typ)
			insert := "INSERT INTO " + tbl + " (id, v) VALUES ($1, $2)"
			// Prepare the statement on the binary connection first, so every
			// value below is bound in binary.
			if _, err := binary.ExecContext(ctx, insert, -1, nil); err != nil {
				t.Fatal(err)
			}
			for i, v := range c.values {
				_, errText := text.ExecContext(ctx, insert, 2*i, v)
				_, errBinary := binary.ExecContext(ctx, insert, 2*i+1, v)
				if state(errText) != state(errBinary) {
					t.Errorf("%#v: text argument: %v; binary argument: %v", v, errText, errBinary)
				}
				if errText != nil {
					continue
				}
				var fromText, fromBinary string
				q := "SELECT v::text FROM " + tbl + " WHERE id = $1"
				if err := text.QueryRowContext(ctx, q, 2*i).Scan(&fromText); err != nil {
					t.Fatal(err)
				}
				if err := text.QueryRowContext(ctx, q, 2*i+1).Scan(&fromBinary); err != nil {
					t.Fatal(err)
				}
				if fromText != fromBinary {
					t.Errorf("%#v: stored %s from a text argument, %s from a binary one", v, fromText, fromBinary)
				}
			}
		})
	}
}

// state is the SQLSTATE of err, "" for nil, "?" for a non-server error.
func state(err error) string {
	var pgErr *pgpipe.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &pgErr):
		return pgErr.Code
	}
	return "?"
}

// TestPreparedStatementsBindBinaryArguments checks, in the protocol trace,
// that a statement prepared automatically asks for its parameter types in
// the same flight (Describe statement) and that later executions send
// int8, float8, bool and timestamptz arguments in binary, text ones in text.
func TestPreparedStatementsBindBinaryArguments(t *testing.T) {
	t.Parallel()
	db := openDB(t)
	tbl := newTable(t, db, "a int8, b text, c float8, d timestamptz, e bool")
	insert := "INSERT INTO " + tbl + " (a, b, c, d, e) VALUES ($1, $2, $3, $4, $5)"
	trace := traced(t, func(conn *sql.Conn) {
		ctx := pgpipe.WithPrepare(context.Background(), pgpipe.PrepareAlways)
		for i := 0; i < 2; i++ {
			if _, err := conn.ExecContext(ctx, insert, int64(i), "x", 0.5, time.Now(), true); err != nil {
				t.Fatal(err)
			}
		}
	})
	var binds []string
	for _, line := range strings.Split(trace, "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == "F" && f[1] == "Describe" && f[3] != "S" {
			t.Errorf("a Describe portal where a Describe statement was due: %s", line)
		}
		if strings.HasPrefix(line, "F\tBind") {
			binds = append(binds, line)
		}
	}
	if len(binds) != 2 || !strings.Contains(trace, "F\tDescribe") {
		t.Fatalf("want one Describe statement and two Binds:\n%s", trace)
	}
	// Bind's fields after F, Bind and the length: portal, statement,
	// format count, formats...
	if f := strings.Fields(binds[0]); f[5] != "0" {
		t.Errorf("the preparing execution's Bind has format codes (%s); want text, the types unknown yet", binds[0])
	}
	if f := strings.Fields(binds[1]); strings.Join(f[5:11], " ") != "5 1 0 1 1 1" {
		t.Errorf("the second Bind's formats are %v; want 5 1 0 1 1 1 (binary but for the text argument): %s", f[5:11], binds[1])
	}
}
