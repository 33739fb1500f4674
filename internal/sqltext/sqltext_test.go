package sqltext

import "testing"

func TestMultipleStatements(t *testing.T) {
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{"SELECT 1", false},
		{"SELECT 1;", false},
		{"SELECT 1;  \n -- trailing comment\n", false},
		{"SELECT 1; /* c */ ", false},
		{"SELECT 1; SELECT 2", true},
		{"BEGIN;INSERT INTO t VALUES (1);COMMIT", true},
		{"SELECT ';'", false},
		{"SELECT ';' ; SELECT 2", true},
		{"SELECT 'it''s; fine'", false},
		{`SELECT E'a\'; b'`, false},
		{`SELECT 'a\'; SELECT 2`, true}, // standard strings: the backslash does not escape the quote
		{`SELECT "a;b"`, false},
		{`SELECT "a""; b"`, false},
		{"SELECT $$a; b$$", false},
		{"SELECT $tag$ a; $$ b $tag$", false},
		{"SELECT $tag$ a; $tag$; SELECT 1", true},
		{"SELECT $1; SELECT 2", true},
		{"SELECT a$b; SELECT 2", true},
		{"SELECT 1 -- ; SELECT 2", false},
		{"SELECT 1 /* ; /* nested ; */ still ; */", false},
		{"SELECT 1 /* ; /* nested */ */; SELECT 2", true},
		{"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql", false},
		{";", false},
		{";;", false},
		{"", false},
	} {
		if got := MultipleStatements(tc.sql); got != tc.want {
			t.Errorf("MultipleStatements(%q) = %v, want %v", tc.sql, got, tc.want)
		}
	}
}

func FuzzMultipleStatementsNeverPanics(f *testing.F) {
	for _, s := range []string{"SELECT 1; SELECT 2", "$a$;$a$", "/* /* */", "E'\\';'", `"";`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		MultipleStatements(sql)
	})
}

func TestWithoutComments(t *testing.T) {
	for _, tc := range []struct {
		sql, want string
		had       bool
	}{
		{"SELECT 1", "SELECT 1", false},
		{"SELECT a - -1, b/ *c FROM t", "SELECT a - -1, b/ *c FROM t", false},
		{"SELECT 1 /*traceparent='00-4bf9-01'*/", "SELECT 1  ", true},
		{"/* app=api */ SELECT 1", "  SELECT 1", true},
		{"SELECT 1 -- caller: a.go:12\nFROM t", "SELECT 1  FROM t", true},
		{"SELECT 1 -- to the end", "SELECT 1  ", true},
		{"SELECT 1 /* outer /* inner */ still */ + 2", "SELECT 1   + 2", true},
		{"SELECT 1/*a*/+/*b*/2", "SELECT 1 + 2", true},
		{"SELECT '/* kept */', '-- kept'", "SELECT '/* kept */', '-- kept'", false},
		{`SELECT "/*id*/" FROM t /* c */`, `SELECT "/*id*/" FROM t  `, true},
		{`SELECT E'\' /* kept */' /* c */`, `SELECT E'\' /* kept */'  `, true},
		{"SELECT $$ -- kept $$ -- c", "SELECT $$ -- kept $$  ", true},
		{"SELECT $t$ /* $$ */ $t$", "SELECT $t$ /* $$ */ $t$", false},
		{"SELECT 1 /* never closed", "SELECT 1  ", true},
	} {
		got, had := WithoutComments(tc.sql)
		if got != tc.want || had != tc.had {
			t.Errorf("WithoutComments(%q) = %q, %v; want %q, %v", tc.sql, got, had, tc.want, tc.had)
		}
	}
}

func TestAppendWithoutCommentsReusesItsBuffer(t *testing.T) {
	sql := "SELECT a, b FROM t WHERE c = $1 /* traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' */"
	buf := make([]byte, 0, len(sql))
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendWithoutComments(buf[:0], sql) }); n != 0 {
		t.Errorf("%v allocations, want none", n)
	}
	if string(buf) != "SELECT a, b FROM t WHERE c = $1  " {
		t.Errorf("appended %q", buf)
	}
	if b, had := AppendWithoutComments([]byte("x"), "SELECT '/*'"); had || string(b) != "x" {
		t.Errorf("a text without comments appended %q, %v", b, had)
	}
}
