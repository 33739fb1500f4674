// Package sqltext reads SQL text as PostgreSQL's lexer does, as far as the
// driver needs before sending a statement: whether a text holds several
// statements, and the driver's one classifier of what a statement is.
package sqltext

import "strings"

// The driver's one SQL classifier: what a statement text is, read past
// comments, quotes and parentheses, for the decisions the driver takes
// before sending it (COPY direction, what the statement does to the
// server's prepared statements). It is a lexer of PostgreSQL's tokens, not
// a parser: it looks at the leading keywords of each statement.

// Effect is what a statement does to the server's prepared statements.
type Effect uint8

const (
	EffectNone Effect = iota
	// Invalidates: the statements still exist but may now resolve to
	// other objects or change their result type (SET or RESET of
	// search_path or role, RESET ALL, ALTER, DROP, CREATE OR REPLACE).
	Invalidates
	// DropsSome: DEALLOCATE of one statement, maybe one of ours.
	DropsSome
	// DropsAll: DEALLOCATE ALL, DISCARD ALL.
	DropsAll
)

// Class is what Classify learned of a text.
type Class struct {
	Copy    bool // the first statement is a COPY
	CopyIn  bool // ... COPY ... FROM STDIN
	CopyOut bool // ... COPY ... TO STDOUT
	Effect  Effect
}

// Classify reads the leading keywords of the first statement of sql,
// or of every statement when all is set (a simple-protocol query may hold
// several).
func Classify(sql string, all bool) Class {
	var cl Class
	s := sqlScanner{sql: sql}
	for first := true; ; first = false {
		w := s.word()
		switch {
		case first && EqualFoldASCII(w, "copy"):
			cl.Copy = true
			cl.CopyIn, cl.CopyOut = s.copyDirection()
		case EqualFoldASCII(w, "deallocate"):
			cl.Effect = max(cl.Effect, s.deallocateEffect())
		case EqualFoldASCII(w, "discard"):
			if EqualFoldASCII(s.word(), "all") {
				cl.Effect = DropsAll
			}
		case EqualFoldASCII(w, "set") || EqualFoldASCII(w, "reset"):
			cl.Effect = max(cl.Effect, s.setEffect(w))
		case EqualFoldASCII(w, "select") && mentionsSetConfig(sql):
			cl.Effect = max(cl.Effect, s.setConfigEffect())
		case EqualFoldASCII(w, "alter") || EqualFoldASCII(w, "drop"),
			EqualFoldASCII(w, "create") && EqualFoldASCII(s.word(), "or"):
			// A schema change: a prepared statement's plan may no longer
			// fit ("cached plan must not change result type"), which
			// cannot be retried in a pipeline.
			cl.Effect = max(cl.Effect, Invalidates)
		}
		if !all || !s.nextStatement() {
			return cl
		}
	}
}

// sqlScanner reads PostgreSQL tokens from sql, from i on.
type sqlScanner struct {
	sql string
	i   int
}

// skipSpace skips white space and comments.
func (s *sqlScanner) skipSpace() {
	for s.i < len(s.sql) {
		switch ch := s.sql[s.i]; {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v':
			s.i++
		case ch == '-' && s.i+1 < len(s.sql) && s.sql[s.i+1] == '-':
			s.i = skipLineComment(s.sql, s.i)
		case ch == '/' && s.i+1 < len(s.sql) && s.sql[s.i+1] == '*':
			s.i = skipBlockComment(s.sql, s.i)
		default:
			return
		}
	}
}

// token returns the next token: a word, a quoted item, or one byte; ""
// at the end of the text.
func (s *sqlScanner) token() string {
	s.skipSpace()
	if s.i >= len(s.sql) {
		return ""
	}
	start := s.i
	s.i = skipToken(s.sql, s.i)
	return s.sql[start:s.i]
}

// word returns the next token when it is an unquoted word, skipping
// opening parentheses before it; "" otherwise (the token is consumed).
func (s *sqlScanner) word() string {
	for {
		t := s.token()
		if t == "(" {
			continue
		}
		if t == "" || !isIdentByte(t[0]) || t[0] >= '0' && t[0] <= '9' {
			return ""
		}
		return t
	}
}

// nextStatement skips to the token after the next semicolon at the top
// level; false when there is none.
func (s *sqlScanner) nextStatement() bool {
	for {
		switch s.token() {
		case "":
			return false
		case ";":
			return true
		}
	}
}

// copyDirection reads the rest of a COPY statement: FROM STDIN or TO
// STDOUT outside parentheses (a COPY (query) TO STDOUT has its own FROMs).
func (s *sqlScanner) copyDirection() (in, out bool) {
	depth, prev := 0, ""
	for {
		t := s.token()
		switch {
		case t == "" || t == ";" && depth == 0:
			if t == ";" {
				s.i-- // leave the semicolon for nextStatement
			}
			return in, out
		case t == "(":
			depth++
		case t == ")":
			depth--
		case depth == 0 && EqualFoldASCII(t, "stdin") && EqualFoldASCII(prev, "from"):
			in = true
		case depth == 0 && EqualFoldASCII(t, "stdout") && EqualFoldASCII(prev, "to"):
			out = true
		}
		prev = t
	}
}

// quotedStart returns where the name of the quoted identifier the scanner
// just read begins (after its opening quote); s.i is past its closing
// quote. A doubled quote inside never occurs in the names it matters for.
func (s *sqlScanner) quotedStart() int {
	j := s.i - 2
	for j >= 0 && s.sql[j] != '"' {
		j--
	}
	return j + 1
}

// mentionsSetConfig reports whether sql holds set_config at all, in lower
// or upper case (as pg_dump and people write it): only then is a SELECT
// read to its end, which every unprepared execution would pay otherwise.
func mentionsSetConfig(sql string) bool {
	return strings.Contains(sql, "set_config") || strings.Contains(sql, "SET_CONFIG")
}

// setConfigEffect reads the rest of a SELECT for a call of
// set_config('search_path', ...) or set_config('role', ...), as pg_dump's
// output starts with.
func (s *sqlScanner) setConfigEffect() Effect {
	for prev := ""; ; {
		t := s.token()
		switch {
		case t == "" || t == ";":
			if t == ";" {
				s.i-- // leave the semicolon for nextStatement
			}
			return EffectNone
		case t == "(" && EqualFoldASCII(prev, "set_config"):
			if arg := s.token(); len(arg) > 2 && arg[0] == '\'' {
				name := arg[1 : len(arg)-1]
				if EqualFoldASCII(name, "search_path") || EqualFoldASCII(name, "role") {
					return Invalidates
				}
			}
		}
		prev = t
	}
}

// deallocateEffect reads DEALLOCATE [PREPARE] { name | ALL }.
func (s *sqlScanner) deallocateEffect() Effect {
	w := s.word()
	if EqualFoldASCII(w, "prepare") {
		w = s.word()
	}
	if EqualFoldASCII(w, "all") {
		return DropsAll
	}
	return DropsSome
}

// setEffect reads SET [SESSION | LOCAL] name ... or RESET name: changing
// search_path or the role (whose name "$user" in search_path may stand
// for), or resetting everything, can make a prepared statement's names
// resolve to other objects.
func (s *sqlScanner) setEffect(verb string) Effect {
	w := s.word()
	if EqualFoldASCII(w, "session") || EqualFoldASCII(w, "local") {
		w = s.word()
	}
	if w == "" && s.i > 0 && s.sql[s.i-1] == '"' {
		w = s.sql[s.quotedStart() : s.i-1] // SET "search_path" = ...
	}
	switch {
	case EqualFoldASCII(w, "search_path"), EqualFoldASCII(w, "role"), EqualFoldASCII(w, "authorization"):
		return Invalidates
	case EqualFoldASCII(w, "all") && EqualFoldASCII(verb, "reset"):
		return Invalidates
	}
	return EffectNone
}

// EqualFoldASCII compares a and b ignoring ASCII case.
func EqualFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i]|0x20 != b[i]|0x20 {
			return false
		}
	}
	return true
}
