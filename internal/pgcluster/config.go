package pgcluster

import (
	"fmt"
	"sort"
	"strings"
)

// Database is the database every cluster creates, owned by [SuperUser];
// every role may create tables in its schema public. DSNs name it.
const Database = "pgpipe"

// The roles every cluster creates, with their passwords. Each role is the
// only one its pg_hba.conf lines name, so a test picks the authentication
// method by picking the role. See the package documentation for the layout.
const (
	// SuperUser is the bootstrap superuser, trusted over the socket and over
	// 127.0.0.1 and ::1.
	SuperUser = "postgres"
	// SuperPassword is SuperUser's password. The server never asks for it;
	// it is in PgBouncer's auth_file for auth_type settings that do.
	SuperPassword = "postgres-secret"

	// MD5User logs in with hba method md5; its password is stored as an MD5
	// hash.
	MD5User = "md5user"
	// MD5Password is MD5User's password.
	MD5Password = "md5-secret"

	// ScramUser logs in with hba method scram-sha-256; its password is
	// stored as a SCRAM-SHA-256 secret.
	ScramUser = "scramuser"
	// ScramPassword is ScramUser's password.
	ScramPassword = "scram-secret"

	// CleartextUser logs in with hba method password: the client sends the
	// password in clear.
	CleartextUser = "pwuser"
	// CleartextPassword is CleartextUser's password.
	CleartextPassword = "cleartext-secret"

	// CertUser has no password; it logs in with hba method cert over TLS
	// (hostssl), presenting [Cluster.ClientCertFile] and
	// [Cluster.ClientKeyFile]. Over TCP without TLS it is rejected.
	CertUser = "certuser"

	// SSLUser logs in with hba method scram-sha-256 over TLS only (hostssl);
	// over TCP without TLS it is rejected (hostnossl ... reject).
	SSLUser = "ssluser"
	// SSLPassword is SSLUser's password.
	SSLPassword = "ssl-secret"
)

// setting is one postgresql.conf or pgbouncer.ini line.
type setting struct{ key, value string }

// serverSettings are the postgresql.conf settings of a cluster, ours first
// and the caller's (sorted by name, so later files compare equal) last, where
// they win.
func (c *Cluster) serverSettings(tls bool, extra map[string]string) []setting {
	listen := "127.0.0.1"
	if c.IPv6 {
		listen += ",::1"
	}
	s := []setting{
		{"listen_addresses", listen},
		{"port", fmt.Sprint(c.Port)},
		{"unix_socket_directories", c.SocketDir},
		{"fsync", "off"},
		{"synchronous_commit", "off"},
		{"full_page_writes", "off"},
		{"max_connections", "200"},
		{"shared_buffers", "32MB"},
		{"password_encryption", "scram-sha-256"},
		{"logging_collector", "off"},
		{"log_line_prefix", "%m [%p] %q%u@%d "},
	}
	if tls {
		s = append(s,
			setting{"ssl", "on"},
			setting{"ssl_cert_file", c.ServerCertFile},
			setting{"ssl_key_file", c.serverKeyFile},
			setting{"ssl_ca_file", c.CAFile},
		)
	}
	return append(s, sortedSettings(extra)...)
}

func sortedSettings(m map[string]string) []setting {
	s := make([]setting, 0, len(m))
	for k, v := range m {
		s = append(s, setting{k, v})
	}
	sort.Slice(s, func(i, j int) bool { return s[i].key < s[j].key })
	return s
}

// postgresqlConf renders settings for postgresql.conf. Every value is
// quoted, which the file format accepts for settings of any type.
func postgresqlConf(settings []setting) string {
	var b strings.Builder
	b.WriteString("# Written by pgcluster; included from postgresql.conf.\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "%s = %s\n", s.key, quoteLiteral(s.value))
	}
	return b.String()
}

// hbaRule is one pg_hba.conf rule, repeated for each loopback address.
type hbaRule struct{ typ, user, method string }

// hbaConf renders pg_hba.conf. The first matching line wins, so the
// per-role lines come before the final trust-everyone line.
func hbaConf(tls bool) string {
	rules := []hbaRule{
		{"host", SuperUser, "trust"},
		{"host", MD5User, "md5"},
		{"host", ScramUser, "scram-sha-256"},
		{"host", CleartextUser, "password"},
		{"hostnossl", CertUser, "reject"},
		{"hostssl", CertUser, "cert"},
		{"hostnossl", SSLUser, "reject"},
		{"hostssl", SSLUser, "scram-sha-256"},
		{"host", "all", "trust"},
	}
	var b strings.Builder
	b.WriteString("# Written by pgcluster.\n# TYPE\tDATABASE\tUSER\tADDRESS\tMETHOD\n")
	b.WriteString("local\tall\tall\t\ttrust\n")
	for _, r := range rules {
		if r.typ == "hostssl" && !tls {
			continue // the server warns about hostssl lines when ssl=off
		}
		for _, addr := range []string{"127.0.0.1/32", "::1/128"} {
			fmt.Fprintf(&b, "%s\tall\t%s\t%s\t%s\n", r.typ, r.user, addr, r.method)
		}
	}
	return b.String()
}

// setupSQL creates the roles and the database. psql runs it statement by
// statement (CREATE DATABASE cannot run in a transaction block), connected
// to database postgres first.
func setupSQL() string {
	lines := []string{
		"ALTER ROLE " + SuperUser + " PASSWORD " + quoteLiteral(SuperPassword) + ";",
		"SET password_encryption = 'md5';",
		"CREATE ROLE " + MD5User + " LOGIN PASSWORD " + quoteLiteral(MD5Password) + ";",
		"SET password_encryption = 'scram-sha-256';",
		"CREATE ROLE " + ScramUser + " LOGIN PASSWORD " + quoteLiteral(ScramPassword) + ";",
		"CREATE ROLE " + CleartextUser + " LOGIN PASSWORD " + quoteLiteral(CleartextPassword) + ";",
		"CREATE ROLE " + CertUser + " LOGIN;",
		"CREATE ROLE " + SSLUser + " LOGIN PASSWORD " + quoteLiteral(SSLPassword) + ";",
		"CREATE DATABASE " + Database + " OWNER " + SuperUser + ";",
		`\connect ` + Database,
		// PostgreSQL 15 took CREATE on schema public away from PUBLIC.
		"GRANT ALL ON SCHEMA public TO PUBLIC;",
		"GRANT CREATE, TEMPORARY ON DATABASE " + Database + " TO PUBLIC;",
	}
	return strings.Join(lines, "\n") + "\n"
}

// quoteLiteral quotes s as an SQL (and postgresql.conf) string literal.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// conninfo renders a keyword/value connection string from base pairs and
// extra "key=value" pairs; an extra pair replaces a base pair with the same
// key.
func conninfo(base []setting, extra []string) string {
	overridden := map[string]bool{}
	for _, e := range extra {
		key, _, _ := strings.Cut(e, "=")
		overridden[strings.TrimSpace(key)] = true
	}
	var parts []string
	for _, s := range base {
		if !overridden[s.key] {
			parts = append(parts, s.key+"="+quoteConninfo(s.value))
		}
	}
	return strings.Join(append(parts, extra...), " ")
}

// quoteConninfo quotes a conninfo value when libpq's rules need it.
func quoteConninfo(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\n\r'\\") {
		return v
	}
	v = strings.ReplaceAll(v, `\`, `\\`)
	return "'" + strings.ReplaceAll(v, "'", `\'`) + "'"
}
