package devenv

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// Running as root: PostgreSQL refuses to run as root, so its binaries run as the
// "postgres" user, which must own the data directory and reach every directory
// above it.

// command builds a PostgreSQL tool invocation: its own process group, run as the
// postgres user when we are root, in the data directory (the tools complain when
// they cannot read the working directory).
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.binDir, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.cred}
	if _, err := os.Stat(p.dir); err == nil {
		cmd.Dir = p.dir
	} else {
		cmd.Dir = "/"
	}
	return cmd
}

// prepareDir creates the data directory (mode 0700) and, as root, hands it to the
// postgres user after checking that user can reach it.
func (p *Postgres) prepareDir() error {
	if err := os.MkdirAll(filepath.Dir(p.dir), 0o755); err != nil {
		return fmt.Errorf("start postgres: create %s: %w", filepath.Dir(p.dir), err)
	}
	if err := os.Mkdir(p.dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("start postgres: create data dir: %w", err)
	}
	if p.cred == nil {
		return nil
	}
	if err := checkReachable(p.dir, p.cred); err != nil {
		return err
	}
	st, err := os.Stat(p.dir)
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && sys.Uid == p.cred.Uid && sys.Gid == p.cred.Gid {
		return nil
	}
	uid, gid := int(p.cred.Uid), int(p.cred.Gid)
	err = filepath.WalkDir(p.dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("start postgres: chown %s to the postgres user: %w", p.dir, err)
	}
	return nil
}

// checkReachable fails with a clear message when a parent of dir cannot be
// traversed by the postgres user (e.g. a 0700 directory owned by root, such as
// the one testing.T.TempDir creates).
func checkReachable(dir string, cred *syscall.Credential) error {
	inGroup := func(gid uint32) bool {
		if gid == cred.Gid {
			return true
		}
		for _, g := range cred.Groups {
			if g == gid {
				return true
			}
		}
		return false
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("start postgres: %w", err)
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		perm := st.Mode().Perm()
		var x fs.FileMode
		switch {
		case sys.Uid == cred.Uid:
			x = 0o100
		case inGroup(sys.Gid):
			x = 0o010
		default:
			x = 0o001
		}
		if perm&x == 0 {
			return fmt.Errorf("start postgres: the postgres user cannot reach %s because %s is mode %v (owner uid %d): put the data dir somewhere it can reach (the repo's .data/, or a directory made with os.MkdirTemp rather than t.TempDir) or run chmod o+x %s",
				dir, d, perm, sys.Uid, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func (p *Postgres) chown(path string) error {
	if p.cred == nil {
		return nil
	}
	if err := os.Chown(path, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
		return fmt.Errorf("start postgres: chown %s to the postgres user: %w", path, err)
	}
	return nil
}

// postgresCredential returns the postgres user's identity, for running the
// PostgreSQL binaries when we are root.
func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL must run as the \"postgres\" user, which is missing (%w): create it (useradd --system postgres) or run as another user", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres user ids: %w", err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if gids, err := u.GroupIds(); err == nil {
		for _, g := range gids {
			if n, err := strconv.ParseUint(g, 10, 32); err == nil {
				cred.Groups = append(cred.Groups, uint32(n))
			}
		}
	}
	return cred, nil
}
