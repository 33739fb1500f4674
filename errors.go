package pgpipe

// Notice is a NoticeResponse from the server (RAISE NOTICE, warnings). Its
// fields are those of [Error].
type Notice Error

// Error is an ErrorResponse from the server.
type Error struct {
	Severity string
	Code     string
	Message  string
}

func (e *Error) Error() string { return e.Severity + ": " + e.Message + " (SQLSTATE " + e.Code + ")" }
