package sqltext

import (
	"strconv"
	"testing"
)

func TestClassifySQL(t *testing.T) {
	tests := []struct {
		sql  string
		all  bool
		want Class
	}{
		{"SELECT 1", false, Class{}},
		{"copy t (a, b) from stdin", false, Class{Copy: true, CopyIn: true}},
		{"/* load */ COPY t FROM STDIN WITH (FORMAT csv)", false, Class{Copy: true, CopyIn: true}},
		{"-- comment\n  Copy t From\n\tStdin", false, Class{Copy: true, CopyIn: true}},
		{"COPY (SELECT a FROM stdin) TO STDOUT", false, Class{Copy: true, CopyOut: true}},
		{"(COPY t TO STDOUT)", false, Class{Copy: true, CopyOut: true}},
		{"COPY t FROM '/tmp/x'", false, Class{Copy: true}},
		{"COPY t TO STDOUT; SELECT 1", true, Class{Copy: true, CopyOut: true}},
		{"SELECT 'copy t from stdin'", false, Class{}},
		{"SELECT 1; COPY t FROM STDIN", true, Class{}},
		{"DEALLOCATE ALL", false, Class{Effect: DropsAll}},
		{"deallocate prepare all", false, Class{Effect: DropsAll}},
		{"DEALLOCATE pgpipe_x_1", false, Class{Effect: DropsSome}},
		{"DEALLOCATE PREPARE s", false, Class{Effect: DropsSome}},
		{"DISCARD ALL", false, Class{Effect: DropsAll}},
		{"DISCARD PLANS", false, Class{}},
		{"/* pool reset */ discard all", false, Class{Effect: DropsAll}},
		{"SELECT 1; DISCARD ALL", true, Class{Effect: DropsAll}},
		{"SELECT 1; DISCARD ALL", false, Class{}},
		{"SELECT 'a;b'; DEALLOCATE x; SELECT 2", true, Class{Effect: DropsSome}},
		{"SELECT $$; DEALLOCATE ALL$$", true, Class{}},
		{"SET search_path TO app", false, Class{Effect: Invalidates}},
		{"set session search_path = app", false, Class{Effect: Invalidates}},
		{"SET LOCAL search_path TO app", false, Class{Effect: Invalidates}},
		{"SET ROLE app", false, Class{Effect: Invalidates}},
		{"SET SESSION AUTHORIZATION app", false, Class{Effect: Invalidates}},
		{"RESET ALL", false, Class{Effect: Invalidates}},
		{"RESET search_path", false, Class{Effect: Invalidates}},
		{"SET statement_timeout = 0", false, Class{}},
		{"SET application_name = 'all'", false, Class{}},
		{"SELECT * FROM small_tall_call", false, Class{}},
		{"SET search_path TO a; DEALLOCATE ALL", true, Class{Effect: DropsAll}},
		{"ALTER TABLE t ADD COLUMN c int", false, Class{Effect: Invalidates}},
		{"drop table t", false, Class{Effect: Invalidates}},
		{"CREATE OR REPLACE VIEW v AS SELECT 1", false, Class{Effect: Invalidates}},
		{"CREATE TABLE t (a int)", false, Class{}},
		{`SET "search_path" TO app`, false, Class{Effect: Invalidates}},
		{"SELECT pg_catalog.set_config('search_path', '', false);", false, Class{Effect: Invalidates}},
		{"select set_config('role', 'app', false)", false, Class{Effect: Invalidates}},
		{"SELECT set_config('application_name', 'x', false)", false, Class{}},
		{"SELECT 1; SELECT set_config('search_path', 'a', false)", true, Class{Effect: Invalidates}},
		{"SELECT 'set_config(''search_path''' AS x", false, Class{}},
		{"", true, Class{}},
		{"  -- only a comment", true, Class{}},
	}
	for _, tt := range tests {
		if got := Classify(tt.sql, tt.all); got != tt.want {
			t.Errorf("Classify(%q, %v) = %+v, want %+v", tt.sql, tt.all, got, tt.want)
		}
	}
}

func FuzzClassifyNeverPanics(f *testing.F) {
	for _, s := range []string{"SET \"search_path\" TO a", "SELECT set_config('search_path', '', false)", "COPY t FROM STDIN", "DEALLOCATE ALL; DISCARD ALL", "\"", "SET \"", "select set_config('"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		Classify(sql, true)
		Classify(sql, false)
	})
}

// BenchmarkClassifySelect is what every unprepared execution pays before
// it is queued: a typical point query, and a query of a few hundred bytes.
func BenchmarkClassifySelect(b *testing.B) {
	for _, sql := range []string{
		"SELECT $1::int",
		"SELECT o.id, o.created_at, c.name, c.email, sum(l.amount) FROM orders o JOIN customers c ON c.id = o.customer_id " +
			"JOIN order_lines l ON l.order_id = o.id WHERE o.created_at > $1 AND c.region = $2 AND o.status IN ('open', 'paid') " +
			"GROUP BY o.id, o.created_at, c.name, c.email ORDER BY o.created_at DESC LIMIT 50",
	} {
		b.Run(strconv.Itoa(len(sql))+"B", func(b *testing.B) {
			for b.Loop() {
				Classify(sql, false)
			}
		})
	}
}
