package pgpipe

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func writePassfile(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pgpass")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLookupPassfileFollowsLibpqRules(t *testing.T) {
	path := writePassfile(t, strings.Join([]string{
		"# comment:*:*:*:nope",
		"",
		"db.example:5432:app:alice:exact",
		"db.example:*:app:alice:anyport",
		`we\:ird\\host:5432:*:*:esc\:aped\\pw:trailing`,
		"localhost:5432:*:bob:local",
		"/sockets:5432:*:bob:socketdir",
		"star*:5432:*:*:notwild",
		"windows:5432:*:*:crlf\r",
		"short:5432:app:carol",
		"*:*:*:carol:anyhost",
		`\*:*:*:dave:literal`,
		"*:*:*:*:",
	}, "\n"), 0o600)
	for _, tc := range []struct {
		host       string
		port       uint16
		db, user   string
		want       string
		whyMatches string
	}{
		{"db.example", 5432, "app", "alice", "exact", "all four fields equal"},
		{"db.example", 5433, "app", "alice", "anyport", "* matches any port"},
		{"db.example", 0, "app", "alice", "exact", "port 0 means 5432"},
		{`we:ird\host`, 5432, "x", "y", `esc:aped\pw`, `\: and \\ escapes, password ends at an unescaped :`},
		{"", 5432, "x", "bob", "local", "no host means localhost"},
		{"/var/run/postgresql", 5432, "x", "bob", "local", "a default socket directory means localhost"},
		{"/tmp", 5432, "x", "bob", "local", "a default socket directory means localhost"},
		{"/sockets", 5432, "x", "bob", "socketdir", "another socket directory matches itself"},
		{"starfish", 5432, "x", "y", "", "a * inside a field is literal (last line gives an empty password)"},
		{"star*", 5432, "x", "y", "notwild", "a * inside a field is literal"},
		{"windows", 5432, "x", "y", "crlf", "a trailing CR is dropped"},
		{"short", 5432, "app", "carol", "anyhost", "a line without a password field does not match"},
		{"*", 5432, "x", "dave", "literal", `\* is a literal star`},
		{"# comment", 5432, "x", "z", "", "comments are skipped"},
	} {
		got, err := lookupPassfile(path, tc.host, tc.port, tc.db, tc.user)
		if err != nil || got != tc.want {
			t.Errorf("lookupPassfile(%q, %d, %q, %q) = %q, %v; want %q (%s)", tc.host, tc.port, tc.db, tc.user, got, err, tc.want, tc.whyMatches)
		}
	}
}

func TestLookupPassfileIgnoresMissingFile(t *testing.T) {
	for _, path := range []string{"", filepath.Join(t.TempDir(), "none")} {
		if got, err := lookupPassfile(path, "h", 5432, "d", "u"); got != "" || err != nil {
			t.Errorf("lookupPassfile(%q) = %q, %v; want nothing and no error", path, got, err)
		}
	}
}

func TestLookupPassfileRejectsFilesOthersCanRead(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("libpq checks permissions on Unix only")
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o610} {
		path := writePassfile(t, "*:*:*:*:pw\n", mode)
		got, err := lookupPassfile(path, "h", 5432, "d", "u")
		if got != "" || err == nil || !strings.Contains(err.Error(), "0600") || !strings.HasPrefix(err.Error(), "pgpipe: ") {
			t.Errorf("mode %o: lookupPassfile = %q, %v; want no password and an error", mode, got, err)
		}
	}
	path := writePassfile(t, "*:*:*:*:pw\n", 0o400)
	if got, err := lookupPassfile(path, "h", 5432, "d", "u"); got != "pw" || err != nil {
		t.Errorf("mode 0400: lookupPassfile = %q, %v; want pw", got, err)
	}
}

func TestLookupPassfileRejectsDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("libpq checks the file type on Unix only")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if got, err := lookupPassfile(dir, "h", 5432, "d", "u"); got != "" || err == nil || !strings.Contains(err.Error(), "not a plain file") {
		t.Errorf("lookupPassfile(directory) = %q, %v; want an error", got, err)
	}
}
