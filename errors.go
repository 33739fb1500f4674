package pgpipe

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Error is an error reported by the server in an ErrorResponse message
// (PostgreSQL protocol, "Error and Notice Message Fields"). Every field the
// server sent is kept; fields the server did not send are empty. Find it with
// errors.As:
//
//	var pgErr *pgpipe.Error
//	if errors.As(err, &pgErr) && pgErr.Code == "23505" { ... }
type Error struct {
	// Severity (S): ERROR, FATAL or PANIC in an error; WARNING, NOTICE, DEBUG,
	// INFO or LOG in a notice. Possibly localized.
	Severity string
	// SeverityUnlocalized (V): the severity, never localized (PostgreSQL 9.6+).
	SeverityUnlocalized string
	// Code (C): the SQLSTATE code, always present. See Appendix A of the
	// PostgreSQL documentation.
	Code string
	// Message (M): the primary human-readable message, always present.
	Message string
	// Detail (D): an optional secondary message with more detail.
	Detail string
	// Hint (H): an optional suggestion what to do about the problem.
	Hint string
	// Position (P): a 1-based character (not byte) index into the query
	// text where the error was found; 0 when not sent.
	Position int
	// InternalPosition (p): like Position, but into InternalQuery, a
	// command the server generated internally.
	InternalPosition int
	// InternalQuery (q): the text of that internally generated command.
	InternalQuery string
	// Where (W): the context: a call stack of PL functions or internal
	// queries, or the line of COPY input being processed.
	Where string
	// SchemaName (s): the schema of the object the error is about.
	SchemaName string
	// TableName (t): the table the error is about.
	TableName string
	// ColumnName (c): the column the error is about.
	ColumnName string
	// DataTypeName (d): the data type the error is about.
	DataTypeName string
	// ConstraintName (n): the constraint the error is about.
	ConstraintName string
	// File (F): the server source file that reported the error.
	File string
	// Line (L): the line in File.
	Line int
	// Routine (R): the server source routine that reported the error.
	Routine string
	// Unknown holds fields whose type letter this driver does not know,
	// keyed by letter, so nothing the server sent is lost.
	Unknown map[byte]string

	// query is the statement text, for Detailed's caret.
	query string
	// pooler is set when the error is a prepared statement that a
	// connection pooler lost; Error then says what to set.
	pooler bool
}

// Error returns one line: severity, message and SQLSTATE.
func (e *Error) Error() string {
	msg := e.Severity + ": " + e.Message + " (SQLSTATE " + e.Code + ")"
	if e.pooler {
		msg += poolerAdvice
	}
	return msg
}

// SQLState returns the SQLSTATE code, as lib/pq and pgx errors do, so code
// written against those drivers keeps working.
func (e *Error) SQLState() string { return e.Code }

// Detailed returns the error on several lines: the Error line, then Detail,
// Hint and Where when present, and, when the server gave a position, the
// query line it points into with a caret under the position.
func (e *Error) Detailed() string {
	var b strings.Builder
	b.WriteString(e.Error())
	for _, f := range [...]struct{ name, v string }{
		{"DETAIL", e.Detail}, {"HINT", e.Hint}, {"CONTEXT", e.Where},
	} {
		if f.v != "" {
			b.WriteString("\n" + f.name + ": " + f.v)
		}
	}
	if line, col, ok := caretLine(e.query, e.Position); ok {
		b.WriteString("\nQUERY: " + line + "\n       " + strings.Repeat(" ", col) + "^")
	}
	return b.String()
}

// caretLine finds the line of query holding the 1-based character position
// pos and the column of pos within it.
func caretLine(query string, pos int) (line string, col int, ok bool) {
	if pos <= 0 || query == "" {
		return "", 0, false
	}
	runes := []rune(query)
	if pos > len(runes) {
		return "", 0, false
	}
	start := pos - 1
	for start > 0 && runes[start-1] != '\n' {
		start--
	}
	end := pos - 1
	for end < len(runes) && runes[end] != '\n' {
		end++
	}
	return string(runes[start:end]), pos - 1 - start, true
}

// newError copies an ErrorResponse: pgproto3's message is only valid until
// the next receive.
func newError(m *pgproto3.ErrorResponse, query string) *Error {
	e := &Error{
		Severity: m.Severity, SeverityUnlocalized: m.SeverityUnlocalized,
		Code: m.Code, Message: m.Message, Detail: m.Detail, Hint: m.Hint,
		Position: int(m.Position), InternalPosition: int(m.InternalPosition),
		InternalQuery: m.InternalQuery, Where: m.Where,
		SchemaName: m.SchemaName, TableName: m.TableName, ColumnName: m.ColumnName,
		DataTypeName: m.DataTypeName, ConstraintName: m.ConstraintName,
		File: m.File, Line: int(m.Line), Routine: m.Routine,
		query: query,
	}
	if e.Code == "XX000" && e.Hint == "" && strings.HasPrefix(e.Message, "unsupported jsonb version number") {
		// The server read a []byte argument, sent in binary, as jsonb.
		e.Hint = "pgpipe sends []byte arguments in binary: pass json.RawMessage or string for a jsonb parameter"
	}
	if len(m.UnknownFields) > 0 {
		e.Unknown = make(map[byte]string, len(m.UnknownFields))
		for k, v := range m.UnknownFields {
			e.Unknown[k] = v
		}
	}
	return e
}

// fatal reports whether the server ends the session after this error.
func (e *Error) fatal() bool {
	s := e.SeverityUnlocalized
	if s == "" {
		s = e.Severity
	}
	return s == "FATAL" || s == "PANIC"
}

// Notice is a NoticeResponse: a warning or message from the server that is
// not an error (RAISE NOTICE, "table does not exist, skipping"). Its fields
// mean what [Error]'s fields mean. Notices go to Config.NoticeHandler.
type Notice Error

// String returns the notice on one line: severity, message and SQLSTATE.
func (n *Notice) String() string { return n.Severity + ": " + n.Message + " (SQLSTATE " + n.Code + ")" }

// ErrBadConn-free driver errors follow. Callers branch with errors.Is and
// errors.As; messages are for people.

// ErrTxRolledBack is returned (wrapped) by Commit when the server rolled the
// transaction back instead, because a statement in it had failed. The
// transaction is over either way.
var ErrTxRolledBack = errors.New("pgpipe: commit failed: the transaction was rolled back because a statement in it failed")

// ErrPipelineAborted is wrapped by the error of every command the server
// skipped because an earlier command in the same pipeline segment (up to a
// sync point) failed. The wrapping *[AbortedError] names that command.
var ErrPipelineAborted = errors.New("pgpipe: command skipped because an earlier command in the pipeline failed")

// AbortedError is the error of a command that never ran because an earlier
// command up to the same sync point failed. It wraps [ErrPipelineAborted]
// and, through Cause, the earlier command's error.
type AbortedError struct {
	// Query is the text of the command that failed first.
	Query string
	// Cause is that command's error, usually an *[Error].
	Cause error
}

func (e *AbortedError) Error() string {
	return fmt.Sprintf("%v: %q failed first: %v", ErrPipelineAborted, shortSQL(e.Query), e.Cause)
}

// Unwrap returns ErrPipelineAborted, so errors.Is finds it, and, when the
// command was skipped because a context ended, that context's error. The
// cause is otherwise not unwrapped: errors.As(err, *Error) must not make a
// skipped command look as if it failed itself.
func (e *AbortedError) Unwrap() []error {
	var ce *CancelError
	if errors.As(e.Cause, &ce) {
		return []error{ErrPipelineAborted, ce.Ctx}
	}
	return []error{ErrPipelineAborted}
}

// CancelError is returned when a context ended while the server was
// working. It wraps both the context's error (errors.Is(err,
// context.Canceled) holds) and, when the server confirmed the cancellation,
// its *[Error] with SQLSTATE 57014.
type CancelError struct {
	Ctx    error // ctx.Err()
	Server error // the server's error, or nil when the connection was closed first
	// Closed reports that the server did not finish within the grace
	// period and the connection was closed.
	Closed bool
}

func (e *CancelError) Error() string {
	ctxErr := "context ended"
	if e.Ctx != nil {
		ctxErr = e.Ctx.Error()
	}
	switch {
	case e.Server != nil:
		return "pgpipe: query canceled: " + ctxErr + ": " + e.Server.Error()
	case e.Closed:
		return "pgpipe: query canceled: " + ctxErr + ": the server did not stop within the cancel grace period, so the connection was closed"
	default:
		return "pgpipe: query canceled: " + ctxErr
	}
}

// Unwrap returns the context error and the server error.
func (e *CancelError) Unwrap() []error {
	if e.Server != nil {
		return []error{e.Ctx, e.Server}
	}
	return []error{e.Ctx}
}

// ConnError reports that the connection to the server broke (a read or
// write failed, the server closed it, or it sent something that is not the
// PostgreSQL protocol). The connection is unusable afterwards; database/sql
// discards it.
type ConnError struct {
	Op  string // what the driver was doing, e.g. "reading results of SELECT ..."
	Err error
}

func (e *ConnError) Error() string {
	return "pgpipe: connection broken while " + e.Op + ": " + e.Err.Error()
}

// Unwrap returns the underlying network or protocol error.
func (e *ConnError) Unwrap() error { return e.Err }

// errProtocol is a reply that breaks the protocol's rules.
type errProtocol string

func (e errProtocol) Error() string { return "protocol violation: " + string(e) }

// poolerAdvice is appended to errors caused by a pooler dropping prepared statements.
const poolerAdvice = "; a connection pooler in transaction mode (such as PgBouncer) " +
	"moved this connection to another server session, where the prepared statement does not exist: " +
	"set prepare_threshold=none in the DSN to stop preparing statements on the server"

// shortSQL shortens a statement for error messages.
func shortSQL(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 60 {
		return q[:57] + "..."
	}
	return q
}

// isCtxErr reports whether err is a context's own error.
func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// itoa is strconv.Itoa, kept short for message building.
func itoa(n int) string { return strconv.Itoa(n) }
