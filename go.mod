module github.com/pgpipe/pgpipe

go 1.25.0

require github.com/jackc/pgx/v5 v5.12.0

require golang.org/x/text v0.41.0
