package pgpipe

import "testing"

func TestClassifySQL(t *testing.T) {
	tests := []struct {
		sql  string
		all  bool
		want sqlClass
	}{
		{"SELECT 1", false, sqlClass{}},
		{"copy t (a, b) from stdin", false, sqlClass{copy: true, copyIn: true}},
		{"/* load */ COPY t FROM STDIN WITH (FORMAT csv)", false, sqlClass{copy: true, copyIn: true}},
		{"-- comment\n  Copy t From\n\tStdin", false, sqlClass{copy: true, copyIn: true}},
		{"COPY (SELECT a FROM stdin) TO STDOUT", false, sqlClass{copy: true, copyOut: true}},
		{"(COPY t TO STDOUT)", false, sqlClass{copy: true, copyOut: true}},
		{"COPY t FROM '/tmp/x'", false, sqlClass{copy: true}},
		{"COPY t TO STDOUT; SELECT 1", true, sqlClass{copy: true, copyOut: true}},
		{"SELECT 'copy t from stdin'", false, sqlClass{}},
		{"SELECT 1; COPY t FROM STDIN", true, sqlClass{}},
		{"DEALLOCATE ALL", false, sqlClass{effect: effDropsAll}},
		{"deallocate prepare all", false, sqlClass{effect: effDropsAll}},
		{"DEALLOCATE pgpipe_x_1", false, sqlClass{effect: effDropsSome}},
		{"DEALLOCATE PREPARE s", false, sqlClass{effect: effDropsSome}},
		{"DISCARD ALL", false, sqlClass{effect: effDropsAll}},
		{"DISCARD PLANS", false, sqlClass{}},
		{"/* pool reset */ discard all", false, sqlClass{effect: effDropsAll}},
		{"SELECT 1; DISCARD ALL", true, sqlClass{effect: effDropsAll}},
		{"SELECT 1; DISCARD ALL", false, sqlClass{}},
		{"SELECT 'a;b'; DEALLOCATE x; SELECT 2", true, sqlClass{effect: effDropsSome}},
		{"SELECT $$; DEALLOCATE ALL$$", true, sqlClass{}},
		{"SET search_path TO app", false, sqlClass{effect: effInvalidates}},
		{"set session search_path = app", false, sqlClass{effect: effInvalidates}},
		{"SET LOCAL search_path TO app", false, sqlClass{effect: effInvalidates}},
		{"SET ROLE app", false, sqlClass{effect: effInvalidates}},
		{"SET SESSION AUTHORIZATION app", false, sqlClass{effect: effInvalidates}},
		{"RESET ALL", false, sqlClass{effect: effInvalidates}},
		{"RESET search_path", false, sqlClass{effect: effInvalidates}},
		{"SET statement_timeout = 0", false, sqlClass{}},
		{"SET application_name = 'all'", false, sqlClass{}},
		{"SELECT * FROM small_tall_call", false, sqlClass{}},
		{"SET search_path TO a; DEALLOCATE ALL", true, sqlClass{effect: effDropsAll}},
		{"ALTER TABLE t ADD COLUMN c int", false, sqlClass{effect: effInvalidates}},
		{"drop table t", false, sqlClass{effect: effInvalidates}},
		{"CREATE OR REPLACE VIEW v AS SELECT 1", false, sqlClass{effect: effInvalidates}},
		{"CREATE TABLE t (a int)", false, sqlClass{}},
		{"", true, sqlClass{}},
		{"  -- only a comment", true, sqlClass{}},
	}
	for _, tt := range tests {
		if got := classifySQL(tt.sql, tt.all); got != tt.want {
			t.Errorf("classifySQL(%q, %v) = %+v, want %+v", tt.sql, tt.all, got, tt.want)
		}
	}
}
