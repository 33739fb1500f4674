package sqltext

import "strings"

// MultipleStatements reports whether sql holds more than one statement: a
// semicolon outside quotes, dollar quotes and comments, followed by more
// than white space and comments. Such a query needs the simple protocol
// (the extended protocol's Parse takes one statement). Strings are read
// with standard_conforming_strings on (PostgreSQL's default since 9.1):
// backslashes escape only in E'...' strings.
func MultipleStatements(sql string) bool {
	if strings.IndexByte(sql, ';') < 0 {
		return false
	}
	semicolon := false
	for i := 0; i < len(sql); {
		ch := sql[i]
		switch {
		case ch == ';':
			semicolon = true
			i++
			continue
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v':
			i++
			continue
		case ch == '-' && i+1 < len(sql) && sql[i+1] == '-':
			i = skipLineComment(sql, i)
			continue
		case ch == '/' && i+1 < len(sql) && sql[i+1] == '*':
			i = skipBlockComment(sql, i)
			continue
		}
		if semicolon {
			return true
		}
		i = skipToken(sql, i)
	}
	return false
}

// skipToken skips one lexical item starting at i: a quoted string, a
// quoted identifier, a dollar-quoted string, or one other byte.
func skipToken(sql string, i int) int {
	switch ch := sql[i]; {
	case ch == '\'':
		backslash := i > 0 && (sql[i-1] == 'E' || sql[i-1] == 'e') && (i < 2 || !isIdentByte(sql[i-2]))
		return skipQuoted(sql, i, '\'', backslash)
	case ch == '"':
		return skipQuoted(sql, i, '"', false)
	case ch == '$':
		return skipDollar(sql, i)
	case isIdentByte(ch):
		// A whole identifier, so that "x$1" or "a$b$" is not a quote.
		j := i + 1
		for j < len(sql) && (isIdentByte(sql[j]) || sql[j] == '$') {
			j++
		}
		return j
	}
	return i + 1
}

// skipQuoted skips a string or identifier opened at i by q, where a
// doubled q stands for itself and, when backslash is set, \x escapes x.
func skipQuoted(sql string, i int, q byte, backslash bool) int {
	for j := i + 1; j < len(sql); j++ {
		switch sql[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(sql) && sql[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(sql)
}

// skipDollar skips a dollar-quoted string ($$...$$, $tag$...$tag$) at i,
// or just the '$' of a parameter such as $1.
func skipDollar(sql string, i int) int {
	j := i + 1
	for j < len(sql) && sql[j] != '$' {
		if !isIdentByte(sql[j]) || (j == i+1 && sql[j] >= '0' && sql[j] <= '9') {
			return i + 1 // $1, or a lone $
		}
		j++
	}
	if j >= len(sql) {
		return i + 1
	}
	tag := sql[i : j+1]
	end := strings.Index(sql[j+1:], tag)
	if end < 0 {
		return len(sql)
	}
	return j + 1 + end + len(tag)
}

func skipLineComment(sql string, i int) int {
	if n := strings.IndexByte(sql[i:], '\n'); n >= 0 {
		return i + n + 1
	}
	return len(sql)
}

// skipBlockComment skips a /* */ comment; they nest in PostgreSQL.
func skipBlockComment(sql string, i int) int {
	depth := 0
	for j := i; j+1 < len(sql); j++ {
		switch {
		case sql[j] == '/' && sql[j+1] == '*':
			depth++
			j++
		case sql[j] == '*' && sql[j+1] == '/':
			depth--
			j++
			if depth == 0 {
				return j + 1
			}
		}
	}
	return len(sql)
}

// isIdentByte reports whether b can be part of an unquoted identifier
// (letters, digits, underscore, and any byte of a non-ASCII character).
func isIdentByte(b byte) bool {
	return b == '_' || b >= 0x80 || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

// WithoutComments returns sql with each comment replaced by one space,
// and whether it had any. Quoted strings and identifiers and
// dollar-quoted strings are kept as they are, comment-like text in them
// too. Two texts that differ only in their comments (a trace id appended
// by sqlcommenter, a caller's name) are then the same statement.
func WithoutComments(sql string) (string, bool) {
	b, ok := AppendWithoutComments(nil, sql)
	if !ok {
		return sql, false
	}
	return string(b), true
}

// AppendWithoutComments appends sql without its comments (as
// WithoutComments makes it) to dst when sql has comments, and reports
// whether it had; it appends nothing otherwise.
func AppendWithoutComments(dst []byte, sql string) ([]byte, bool) {
	if !strings.Contains(sql, "--") && !strings.Contains(sql, "/*") {
		return dst, false
	}
	n, last := len(dst), 0
	for i := 0; i < len(sql); {
		var end int
		switch ch := sql[i]; {
		case ch == '-' && i+1 < len(sql) && sql[i+1] == '-':
			end = skipLineComment(sql, i)
		case ch == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end = skipBlockComment(sql, i)
		default:
			i = skipToken(sql, i)
			continue
		}
		dst = append(append(dst, sql[last:i]...), ' ')
		last, i = end, end
	}
	if last == 0 {
		return dst[:n], false
	}
	return append(dst, sql[last:]...), true
}
