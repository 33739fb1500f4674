// Package pgpipe is a PostgreSQL driver for database/sql, built
// pipeline-first on the wire protocol.
package pgpipe
