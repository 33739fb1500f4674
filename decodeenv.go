package pgpipe

import "time"

// decodeEnv is what decoding values needs of the session they come from:
// its TimeZone (for timestamptz) and DateStyle (to explain a date the
// driver could not read). The core keeps it up to date from the server's
// ParameterStatus messages.
type decodeEnv struct {
	loc       *time.Location // nil when Go cannot load the TimeZone
	dateStyle string
}
