package pgpipe

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseDSN checks that ParseDSN never panics, that its errors are
// DSNErrors, and that FormatDSN round-trips: whatever ParseDSN accepts,
// formatted and parsed again, gives an equal Config and the same text.
// Seeds beyond those added here live in testdata/fuzz/FuzzParseDSN.
func FuzzParseDSN(f *testing.F) {
	for _, s := range []string{
		"",
		"host=localhost port=5432 dbname=app user=bob password=secret",
		`password='it\'s \\ here' application_name = 'my app'`,
		"host=a,b,c hostaddr=1.2.3.4,,::1 port=1,2,3 sslmode=verify-full sslrootcert=system",
		"postgres://u:p%40ss@[::1]:5433,h2/db?sslmode=require&search_path=app",
		"postgresql://%2Fvar%2Frun%2Fpostgresql/db?application_name=a+b",
		"postgres://h/db?ssl=true&prepare_threshold=none&cancel_grace=1500ms",
		"connect_timeout=-3 keepalives=off keepalives_idle=1h2m keepalives_count=4 TimeZone=UTC timezone=x",
		"require_auth=!md5,!password channel_binding=require target_session_attrs=standby",
	} {
		f.Add(s)
	}
	env := fakeEnv(nil)
	f.Fuzz(func(t *testing.T, dsn string) {
		c, err := parseDSN(dsn, env)
		if err != nil {
			var de *DSNError
			if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), "pgpipe: invalid dsn: ") {
				t.Fatalf("parseDSN(%q) = %v, want a *DSNError", dsn, err)
			}
			return
		}
		formatted := c.FormatDSN()
		again, err := parseDSN(formatted, env)
		if err != nil {
			t.Fatalf("parseDSN(%q) = %v for FormatDSN's output of %q", formatted, err, dsn)
		}
		if d := configDiff(c, again); d != "" {
			t.Fatalf("%q formatted as %q parses to a different Config: %s", dsn, formatted, d)
		}
		if twice := again.FormatDSN(); twice != formatted {
			t.Fatalf("FormatDSN is not stable for %q:\n%s\n%s", dsn, formatted, twice)
		}
		if c.Password != "" && strings.Contains(c.String(), "password="+c.Password+" ") {
			t.Fatalf("String() shows the password: %s", c.String())
		}
	})
}
