package integration_test

// A DSN carried over from pgx or lib/pq. Changing the driver name keeps the
// DSN, and teams behind PgBouncer often have pgx's
// default_query_exec_mode=simple_protocol or statement_cache_capacity=0 in
// it. pgpipe sends keywords it does not know to the server as settings;
// for these the server (or PgBouncer) refuses the connection with
// "unrecognized configuration parameter". Either pgpipe accepts such a
// keyword (and the connection works) or it rejects it while parsing, with
// a *pgpipe.DSNError naming the keyword: never a server error at connect.

import (
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/pgpipe/pgpipe"
)

func TestDSNKeywordsOfPgxAndLibPQNeverReachTheServer(t *testing.T) {
	t.Parallel()
	kws := []string{
		// pgx (pgx.ParseConfig)
		"default_query_exec_mode=simple_protocol",
		"default_query_exec_mode=exec",
		"statement_cache_capacity=0",
		"description_cache_capacity=0",
		// lib/pq
		"binary_parameters=yes",
		"disable_prepared_binary_result=yes",
	}
	ormTargets(t, true, func(t *testing.T, tg ormTarget) {
		for _, kw := range kws {
			key, _, _ := strings.Cut(kw, "=")
			// The keyword as a user's DSN carries it: tg.dsn is in
			// keyword/value form (dsn, FormatDSN), so kw is a pair of its
			// own (withSettings would reject the keywords pgpipe rejects).
			db, err := sql.Open("pgpipe", tg.dsn+" "+kw)
			if err == nil {
				err = db.Ping()
				if err == nil {
					ormStillWorks(t, db)
				}
				db.Close()
			}
			var dsnErr *pgpipe.DSNError
			if err != nil && (!errors.As(err, &dsnErr) || dsnErr.Keyword != key) {
				t.Errorf("%s: %v\nwant the connection to work, or a *pgpipe.DSNError naming %s before anything is sent", kw, err, key)
			}
		}
	})
}
