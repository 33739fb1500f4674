package pgpipe

import (
	"database/sql"
	"database/sql/driver"

	"github.com/pgpipe/pgpipe/internal/codec"
)

// Array wraps a Go slice, or a pointer to one, so that it can be scanned
// from a PostgreSQL array column and sent as an array argument:
//
//	var ids []int64
//	err := db.QueryRow("SELECT ids FROM t WHERE k = $1", k).Scan(pgpipe.Array(&ids))
//	_, err = db.Exec("UPDATE t SET ids = $1 WHERE k = $2", pgpipe.Array(ids), k)
//
// It plays the part of lib/pq's pq.Array and pgx's pgtype arrays. As an
// argument it is not needed (pgpipe sends slices as arrays directly), but
// it is accepted, so code written for lib/pq keeps working.
//
// Scan needs a non-nil pointer to a slice. Element types: every integer
// and float type, bool, string, []byte (for bytea[]: the hex or escape
// text is decoded), json.RawMessage (the element's text), time.Time (date,
// timestamp and timestamptz elements; a timestamptz keeps the offset the
// server printed, which is the session's TimeZone), named types of these
// kinds, pointers to them and types implementing [database/sql.Scanner]
// (sql.NullInt64, sql.NullString, sql.Null[T], ...), which receive nil
// for a NULL element; a NULL []byte element is a nil []byte. A NULL
// element into any other type is an error naming its index. []any
// receives each element's text (a string) or nil.
//
// Multi-dimensional arrays scan into nested slices of as many levels
// ([][]int32 for a two-dimensional int4[][]); a mismatch in the number of
// dimensions is an error, except into []any, which receives nested []any.
// A lower bound other than 1 ([0:2]={...}) is dropped: index 0 of the
// slice is the array's first element. The empty array gives an empty,
// non-nil slice; a NULL array a nil slice.
func Array(a any) interface {
	sql.Scanner
	driver.Valuer
} {
	return &arrayValue{a: a}
}

// arrayValue is what Array returns; package codec does the work. It is
// declared here so that messages naming its type keep naming
// *pgpipe.arrayValue.
type arrayValue struct{ a any }

// Value returns the slice (read through a pointer), which the driver
// sends as an array; a nil slice or pointer is NULL.
func (a *arrayValue) Value() (driver.Value, error) { return codec.ArrayValue(a.a) }

// Scan parses src, an array in PostgreSQL's text format, into the slice a
// points to.
func (a *arrayValue) Scan(src any) error { return codec.ScanArray(a.a, src) }
