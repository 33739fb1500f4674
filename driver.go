package pgpipe

import (
	"context"
	"database/sql"
	"database/sql/driver"
)

// Driver is the database/sql driver, registered as "pgpipe" when the
// package is imported:
//
//	db, err := sql.Open("pgpipe", "postgres://app@db.example/app")
type Driver struct{}

func init() {
	sql.Register("pgpipe", &Driver{})
}

// Open opens one connection. database/sql calls OpenConnector instead, so
// the DSN is parsed once per pool rather than once per connection. A
// connection opened alone has nobody to share with: multiplex is ignored.
func (d *Driver) Open(dsn string) (driver.Conn, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg.Multiplex = 0
	cn, err := NewConnectorConfig(cfg)
	if err != nil {
		return nil, err
	}
	return cn.Connect(context.Background())
}

// OpenConnector parses dsn (see [ParseDSN]) into a [Connector].
func (d *Driver) OpenConnector(dsn string) (driver.Connector, error) {
	return NewConnector(dsn)
}

// errBadConn is driver.ErrBadConn, for errors that wrap it.
var errBadConn = driver.ErrBadConn

// The interfaces pgpipe implements, checked at compile time. Planned ones
// are commented out with a TODO: the block doubles as a checklist.
var (
	_ driver.Driver        = (*Driver)(nil)
	_ driver.DriverContext = (*Driver)(nil)
	_ driver.Connector     = (*Connector)(nil)

	_ Conn                      = (*conn)(nil)
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)

	_ driver.Stmt              = (*stmt)(nil)
	_ driver.StmtExecContext   = (*stmt)(nil)
	_ driver.StmtQueryContext  = (*stmt)(nil)
	_ driver.NamedValueChecker = (*stmt)(nil)

	_ driver.Stmt              = (*copyStmt)(nil)
	_ driver.StmtExecContext   = (*copyStmt)(nil)
	_ driver.NamedValueChecker = (*copyStmt)(nil)

	_ driver.Tx = (*tx)(nil)

	_ driver.Rows                           = (*rows)(nil)
	_ driver.RowsNextResultSet              = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeLength           = (*rows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
)
