package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoBinaries is returned (wrapped) by [Start] when no directory with the
// PostgreSQL server binaries was found. Callers that can fall back to another
// kind of server (a container, say) test for it with errors.Is.
var ErrNoBinaries = errors.New("pgcluster: no PostgreSQL server binaries found " +
	"(looked at PGPIPE_PG_BINDIR, pg_config --bindir, /usr/lib/postgresql/*/bin and PATH); " +
	"install them with `apt-get install postgresql` or set PGPIPE_PG_BINDIR")

// ErrNoPgBouncer is returned (wrapped) by [Cluster.StartPgBouncer] when the
// pgbouncer binary is not installed.
var ErrNoPgBouncer = errors.New("pgcluster: pgbouncer not found in PATH, /usr/sbin or /usr/local/bin; " +
	"install it with `apt-get install pgbouncer`")

// BinDirEnv names the environment variable that, when set, is the only place
// [Start] looks for the PostgreSQL binaries.
const BinDirEnv = "PGPIPE_PG_BINDIR"

// debianBinDirGlob matches the bin directories of Debian's and Ubuntu's
// PostgreSQL packages (a variable so that tests can hide them).
var debianBinDirGlob = "/usr/lib/postgresql/*/bin"

// serverBinaries are the programs a bin directory must hold to be usable.
var serverBinaries = []string{"initdb", "pg_ctl", "postgres", "psql"}

// findBinDir returns the first usable PostgreSQL bin directory: the one named
// by PGPIPE_PG_BINDIR (which must then be usable), `pg_config --bindir`, the
// highest version under /usr/lib/postgresql, and the directory of initdb in
// PATH.
func findBinDir() (string, error) {
	if dir := os.Getenv(BinDirEnv); dir != "" {
		if err := checkBinDir(dir); err != nil {
			return "", fmt.Errorf("pgcluster: %s=%s is not a PostgreSQL bin directory (%w); "+
				"point it at one or unset it", BinDirEnv, dir, err)
		}
		return dir, nil
	}
	for _, dir := range binDirCandidates() {
		if checkBinDir(dir) == nil {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

// binDirCandidates lists the places to look, in order, without checking them.
func binDirCandidates() []string {
	var dirs []string
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		if out, err := exec.Command(pgConfig, "--bindir").Output(); err == nil {
			dirs = append(dirs, strings.TrimSpace(string(out)))
		}
	}
	dirs = append(dirs, debianBinDirs()...)
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(initdb))
	}
	return dirs
}

// debianBinDirs returns /usr/lib/postgresql/<version>/bin directories, the
// highest version first.
func debianBinDirs() []string {
	dirs, _ := filepath.Glob(debianBinDirGlob)
	version := func(dir string) float64 {
		v, err := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		if err != nil {
			return -1
		}
		return v
	}
	sort.SliceStable(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	return dirs
}

// checkBinDir reports whether dir holds every program in serverBinaries.
func checkBinDir(dir string) error {
	for _, name := range serverBinaries {
		if err := checkExecutable(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// pgBouncerPaths are where pgbouncer is looked for when it is not in PATH
// (Debian puts it in /usr/sbin, which a non-root PATH often lacks).
var pgBouncerPaths = []string{"/usr/sbin/pgbouncer", "/usr/local/bin/pgbouncer"}

// findPgBouncer returns the path of the pgbouncer binary.
func findPgBouncer() (string, error) {
	if path, err := exec.LookPath("pgbouncer"); err == nil {
		return path, nil
	}
	for _, path := range pgBouncerPaths {
		if checkExecutable(path) == nil {
			return path, nil
		}
	}
	return "", ErrNoPgBouncer
}
