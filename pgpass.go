package pgpipe

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// This file reads libpq's password file (PostgreSQL documentation, "The
// Password File"). The connect code calls lookupPassfile for each host it
// tries when Config.Password is empty.

// lookupPassfile returns the password of the first line of the password file
// at path that matches host, port, dbname and user, or "" when none does.
//
// A line is host:port:database:username:password. A field that is exactly
// "*" matches anything; "\:" and "\\" stand for ":" and "\"; lines starting
// with "#" are comments. host is the Host's Name, or its Addr when Name is
// empty; "" matches "localhost". A Unix socket directory matches itself,
// and the default socket directories ([socketDirs]) match "localhost" as
// libpq's compiled-in directory does. Port 0 means 5432.
//
// A file that does not exist gives "" and no error. Any other problem
// (on Unix, a file that is not a plain file or that group or others may
// read; a read error) gives "" and an error, which the caller logs as a
// warning before carrying on without a password, as libpq does.
func lookupPassfile(path, host string, port uint16, dbname, user string) (string, error) {
	if path == "" {
		return "", nil
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", fmt.Errorf("pgpipe: password file ignored: %w", err)
	}
	if runtime.GOOS != "windows" { // on Windows the directory protects it
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("pgpipe: password file %q ignored: not a plain file", path)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return "", fmt.Errorf("pgpipe: password file %q ignored: it has group or world access; permissions should be u=rw (0600) or less", path)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("pgpipe: password file ignored: %w", err)
	}
	defer f.Close()

	if host == "" || slices.Contains(socketDirs, host) {
		host = "localhost"
	}
	if port == 0 {
		port = 5432
	}
	want := []string{host, strconv.Itoa(int(port)), dbname, user}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if password, ok := matchPassfileLine(line, want); ok {
			return password, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("pgpipe: password file %q ignored: %w", path, err)
	}
	return "", nil
}

// matchPassfileLine matches the four ':'-terminated fields of line against
// want and returns the password after them, read up to the next unescaped
// ':' or the end of the line.
func matchPassfileLine(line string, want []string) (string, bool) {
	for _, w := range want {
		field, rest, ok := cutPassfileField(line)
		if !ok || field != w && line[:len(line)-len(rest)] != "*:" {
			return "", false
		}
		line = rest
	}
	password, _, _ := cutPassfileField(line)
	return password, true
}

// cutPassfileField returns line's first field with its escapes undone and
// what follows the ':' ending it; ok is false when no ':' ends it.
func cutPassfileField(line string) (field, rest string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '\\' && i+1 < len(line):
			i++
			b.WriteByte(line[i])
		case c == ':':
			return b.String(), line[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), "", false
}
