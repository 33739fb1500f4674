package pgpipe

import _ "github.com/jackc/pgx/v5/pgproto3"
