package sqltext

import "testing"

func TestShareable(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{"SELECT 1", true},
		{"  /* hi */ select $1::int", true},
		{"(SELECT 1)", true},
		{"WITH x AS (SELECT 1) SELECT * FROM x", true},
		{"INSERT INTO t VALUES ($1)", true},
		{"update t set a = 1", true},
		{"DELETE FROM t", true},
		{"CREATE TABLE t (a int)", true},
		{"ALTER TABLE t ADD b int", true},
		{"SELECT 'temp'", true},
		{`SELECT "temp" FROM t`, true},
		{"SELECT a FROM temperatures", true},
		{"NOTIFY ch, 'x'", true},
		{"", false},
		{"SET search_path = x", false},
		{"set local statement_timeout = 1", false},
		{"RESET ALL", false},
		{"LISTEN ch", false},
		{"UNLISTEN *", false},
		{"PREPARE p AS SELECT 1", false},
		{"DEALLOCATE ALL", false},
		{"DISCARD ALL", false},
		{"DECLARE c CURSOR WITH HOLD FOR SELECT 1", false},
		{"FETCH 1 FROM c", false},
		{"BEGIN", false},
		{"start transaction", false},
		{"COMMIT", false},
		{"LOCK TABLE t", false},
		{"DO $$ BEGIN PERFORM 1; END $$", false},
		{"CALL p()", false},
		{"COPY t FROM STDIN", false},
		{"CREATE TEMP TABLE x (a int)", false},
		{"create temporary table x (a int)", false},
		{"SELECT * INTO TEMP x FROM t", false},
		{"SELECT set_config('search_path', 'x', false)", false},
		{"SELECT pg_advisory_lock(1)", false},
		{"SELECT 1; SELECT 2", false},
	} {
		if got := Shareable(tc.sql); got != tc.want {
			t.Errorf("Shareable(%q) = %v, want %v", tc.sql, got, tc.want)
		}
	}
}

func BenchmarkShareable(b *testing.B) {
	q := "SELECT a, b, c, d FROM t5 WHERE a > $1 AND b = $2 ORDER BY a LIMIT 100"
	for i := 0; i < b.N; i++ {
		Shareable(q)
	}
}
