package sqltext

// Shareable reports whether a statement may run on a server connection
// that other callers share (multiplex=N): its effects end with its own
// execution, so whatever ran before it on that connection, or runs after,
// cannot tell. It reads the first keyword and looks for the names that
// leave state behind in the session:
//
//   - statements that exist to change the session: SET (even SET LOCAL,
//     which outside a transaction block only warns), RESET, LISTEN,
//     UNLISTEN, PREPARE, DEALLOCATE, DISCARD, DECLARE, FETCH, MOVE,
//     CLOSE, LOAD, LOCK and the transaction statements (BEGIN, COMMIT,
//     SAVEPOINT, ...);
//   - DO and CALL, whose bodies may do any of that;
//   - anything naming a temporary relation (TEMP, TEMPORARY, the pg_temp
//     schema: CREATE TEMP TABLE, SELECT INTO TEMP, CREATE VIEW pg_temp.v),
//     calling set_config, setseed, an advisory lock or dblink function;
//   - several statements in one text.
//
// What it cannot see is documented where multiplex is: a function whose
// body changes the session, or a statement reading state an earlier one
// left (currval, lastval after an INSERT: use RETURNING).
func Shareable(sql string) bool {
	s := sqlScanner{sql: sql}
	w := s.word()
	if !shareableVerb(w) {
		return false
	}
	if containsFoldASCII(sql, "temp") && namesTemp(sql) {
		return false
	}
	for _, name := range [...]string{"set_config", "advisory", "setseed", "dblink"} {
		if containsFoldASCII(sql, name) {
			return false
		}
	}
	return !MultipleStatements(sql)
}

// shareableVerb reports the statement kinds whose effect is the statement
// itself: reads, writes, schema changes, grants, maintenance.
func shareableVerb(w string) bool {
	if len(w) < 4 || len(w) > 10 {
		return false
	}
	for _, v := range [...]string{
		"select", "insert", "update", "delete", "merge", "values", "table", "with",
		"create", "alter", "drop", "comment", "grant", "revoke", "truncate",
		"analyze", "analyse", "vacuum", "notify", "explain", "refresh", "cluster",
		"reindex", "show", "checkpoint", "security", "import",
	} {
		if EqualFoldASCII(w, v) {
			return true
		}
	}
	return false
}

// namesTemp reports whether a token of sql, outside quotes and comments,
// is TEMP, TEMPORARY or the pg_temp schema (pg_temp, pg_temp_3).
func namesTemp(sql string) bool {
	s := sqlScanner{sql: sql}
	for {
		t := s.token()
		switch {
		case t == "":
			return false
		case EqualFoldASCII(t, "temp"), EqualFoldASCII(t, "temporary"):
			return true
		case len(t) >= 7 && EqualFoldASCII(t[:7], "pg_temp") && (len(t) == 7 || t[7] == '_'):
			return true
		}
	}
}

// containsFoldASCII reports whether s holds sub (lower case ASCII),
// ignoring ASCII case.
func containsFoldASCII(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		if s[i]|0x20 == sub[0] && EqualFoldASCII(s[i:i+n], sub) {
			return true
		}
	}
	return false
}
