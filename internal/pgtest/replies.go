package pgtest

import "github.com/jackc/pgx/v5/pgproto3"

// Col describes one result column for [RowDescription].
type Col struct {
	Name   string
	OID    uint32 // data type OID, e.g. 23 for int4, 25 for text
	Size   int16  // pg_type.typlen; 0 means -1 (variable length)
	Format int16  // 0 text, 1 binary
}

// RowDescription returns a RowDescription for cols, with no table OID or
// attribute number and a type modifier of -1, as for a computed column.
func RowDescription(cols ...Col) *pgproto3.RowDescription {
	fields := make([]pgproto3.FieldDescription, len(cols))
	for i, c := range cols {
		size := c.Size
		if size == 0 {
			size = -1
		}
		fields[i] = pgproto3.FieldDescription{
			Name:         []byte(c.Name),
			DataTypeOID:  c.OID,
			DataTypeSize: size,
			TypeModifier: -1,
			Format:       c.Format,
		}
	}
	return &pgproto3.RowDescription{Fields: fields}
}

// DataRow returns a DataRow with values; a nil value is SQL NULL. The
// values are not copied until the DataRow is given to [Send].
func DataRow(values ...[]byte) *pgproto3.DataRow {
	return &pgproto3.DataRow{Values: values}
}

// ErrorResponse returns an ErrorResponse with severity ERROR, SQLSTATE code
// and message msg. Set more fields on the result if a test needs them.
func ErrorResponse(code, msg string) *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: code, Message: msg}
}

// FatalResponse returns an ErrorResponse with severity FATAL, which
// PostgreSQL sends just before it closes the connection (follow it with
// [CloseConn]).
func FatalResponse(code, msg string) *pgproto3.ErrorResponse {
	return fatal(code, msg)
}

// ReadyForQuery returns a ReadyForQuery with transaction status status:
// 'I' idle, 'T' in a transaction block, 'E' in a failed transaction block.
func ReadyForQuery(status byte) *pgproto3.ReadyForQuery {
	return &pgproto3.ReadyForQuery{TxStatus: status}
}

// CommandComplete returns a CommandComplete with command tag tag, such as
// "SELECT 1" or "INSERT 0 3".
func CommandComplete(tag string) *pgproto3.CommandComplete {
	return &pgproto3.CommandComplete{CommandTag: []byte(tag)}
}
