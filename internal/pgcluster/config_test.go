package pgcluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConninfoQuotesValuesAndLetsExtrasOverride(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		base  []setting
		extra []string
		want  string
	}{
		{"plain", []setting{{"host", "127.0.0.1"}, {"port", "5432"}}, nil, "host=127.0.0.1 port=5432"},
		{"space and quote", []setting{{"password", `it's a \secret`}}, nil, `password='it\'s a \\secret'`},
		{"empty value", []setting{{"password", ""}}, nil, "password=''"},
		{"extra appended", []setting{{"user", "u"}}, []string{"sslmode=disable"}, "user=u sslmode=disable"},
		{"extra overrides", []setting{{"user", "u"}, {"dbname", "pgpipe"}}, []string{"dbname=postgres"}, "user=u dbname=postgres"},
		{"extra with spaces around key", []setting{{"dbname", "pgpipe"}}, []string{" dbname = x"}, " dbname = x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := conninfo(tt.base, tt.extra); got != tt.want {
				t.Fatalf("conninfo = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDSNNamesDatabaseAndOmitsEmptyPassword(t *testing.T) {
	t.Parallel()
	c := &Cluster{Port: 5999, SocketDir: "/tmp/x y"}
	tests := []struct{ got, want string }{
		{c.DSN("u", ""), "host=127.0.0.1 port=5999 user=u dbname=pgpipe"},
		{c.DSN("u", "p", "sslmode=require"), "host=127.0.0.1 port=5999 user=u password=p dbname=pgpipe sslmode=require"},
		{c.SocketDSN("u"), "host='/tmp/x y' port=5999 user=u dbname=pgpipe"},
		{(&Bouncer{Port: 6432}).DSN("u", "p", "dbname=pgbouncer"), "host=127.0.0.1 port=6432 user=u password=p dbname=pgbouncer"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got  %q\nwant %q", tt.got, tt.want)
		}
	}
}

func TestPostgresqlConfQuotesEveryValueAndPutsCallerSettingsLast(t *testing.T) {
	t.Parallel()
	c := &Cluster{Port: 5999, SocketDir: "/s", CAFile: "/t/ca.crt", ServerCertFile: "/t/server.crt", serverKeyFile: "/t/server.key"}
	conf := postgresqlConf(c.serverSettings(true, map[string]string{"max_connections": "50", "search_path": "a, 'b'"}))
	for _, want := range []string{"port = '5999'\n", "ssl = 'on'\n", "ssl_key_file = '/t/server.key'\n",
		"listen_addresses = '127.0.0.1'\n", "search_path = 'a, ''b'''\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("postgresql.conf lacks %q:\n%s", want, conf)
		}
	}
	if ours, theirs := strings.Index(conf, "max_connections = '200'"), strings.Index(conf, "max_connections = '50'"); ours < 0 || theirs < ours {
		t.Errorf("caller's max_connections must come after ours:\n%s", conf)
	}
}

func TestHBAConfPutsRoleRulesBeforeTrustAll(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		hba := hbaConf(tls)
		trustAll := strings.Index(hba, "host\tall\tall\t127.0.0.1/32\ttrust")
		for _, rule := range []string{"md5user\t127.0.0.1/32\tmd5", "scramuser\t::1/128\tscram-sha-256",
			"pwuser\t127.0.0.1/32\tpassword", "hostnossl\tall\tssluser\t127.0.0.1/32\treject",
			"hostnossl\tall\tcertuser\t::1/128\treject"} {
			if i := strings.Index(hba, rule); i < 0 || i > trustAll {
				t.Errorf("tls=%v: %q missing or after the trust-all line:\n%s", tls, rule, hba)
			}
		}
		if got := strings.Contains(hba, "hostssl\tall\tcertuser\t127.0.0.1/32\tcert"); got != tls {
			t.Errorf("tls=%v: cert rule present = %v", tls, got)
		}
	}
}

func TestBouncerSettingsApplyDefaultsAndOverrides(t *testing.T) {
	t.Parallel()
	s, err := bouncerSettings(BouncerOptions{Settings: map[string]string{"auth_type": "md5", "server_lifetime": "60"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range s {
		if _, dup := got[kv.key]; dup {
			t.Errorf("%s set twice", kv.key)
		}
		got[kv.key] = kv.value
	}
	want := map[string]string{"pool_mode": "transaction", "default_pool_size": "20", "max_client_conn": "500",
		"auth_type": "md5", "server_lifetime": "60", "ignore_startup_parameters": "extra_float_digits,options"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, err := bouncerSettings(BouncerOptions{PoolMode: "Transaction"}); err == nil {
		t.Errorf("pool mode Transaction accepted")
	}
}

func TestAuthFileDoublesQuotes(t *testing.T) {
	t.Parallel()
	if got, want := quoteAuthFile(`a"b`), `"a""b"`; got != want {
		t.Fatalf("quoteAuthFile = %s, want %s", got, want)
	}
	if !strings.Contains(authFile(), `"scramuser" "scram-secret"`) {
		t.Fatalf("auth_file lacks scramuser:\n%s", authFile())
	}
}

// TestStartAndStartPgBouncerFailWithInstallHintsWithoutBinaries hides every place Start looks
// in; it cannot run in parallel because it changes the environment.
func TestStartAndStartPgBouncerFailWithInstallHintsWithoutBinaries(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("PATH", empty)
	t.Setenv(BinDirEnv, "")
	savedGlob, savedPaths := debianBinDirGlob, pgBouncerPaths
	debianBinDirGlob = filepath.Join(empty, "*", "bin")
	pgBouncerPaths = []string{filepath.Join(empty, "pgbouncer")}
	t.Cleanup(func() { debianBinDirGlob, pgBouncerPaths = savedGlob, savedPaths })

	_, err := Start(t.Context(), Options{})
	if !errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("Start without binaries: got %v, want ErrNoBinaries with an install hint", err)
	}
	t.Log(err)
	c := &Cluster{}
	_, err = c.StartPgBouncer(t.Context(), BouncerOptions{})
	if !errors.Is(err, ErrNoPgBouncer) || !strings.Contains(err.Error(), "apt-get install pgbouncer") {
		t.Fatalf("StartPgBouncer without pgbouncer: got %v, want ErrNoPgBouncer with an install hint", err)
	}
}

func TestStartRejectsBadBinDirEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(BinDirEnv, dir)
	_, err := Start(t.Context(), Options{})
	if err == nil || errors.Is(err, ErrNoBinaries) || !strings.Contains(err.Error(), BinDirEnv) {
		t.Fatalf("Start with %s=%s: got %v, want an error naming the variable", BinDirEnv, dir, err)
	}
	t.Log(err)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("Start left files in %s", dir)
	}
}
