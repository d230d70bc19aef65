package devenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.uber.org/zap"
)

// pgSuperuser is the cluster's superuser; every URL connects as this role.
const pgSuperuser = "enfance"

// maxSocketPath is the longest Unix socket path the kernel accepts (sun_path is
// 108 bytes with the terminating NUL).
const maxSocketPath = 107

// PostgresOptions configures StartPostgres.
type PostgresOptions struct {
	// Dir is the cluster's data directory; created and initialised if it holds no
	// cluster yet. Its parent directories must be reachable by the postgres user
	// when running as root.
	Dir string
	// Port on 127.0.0.1.
	Port int
	// Database is created if missing; "" creates none.
	Database string
	// Ephemeral is for throwaway clusters (tests): fsync, synchronous_commit and
	// full_page_writes are off, and the server dies with this process (it is a
	// direct child with a parent-death signal instead of a pg_ctl daemon).
	Ephemeral bool
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
}

// Postgres is a running private PostgreSQL cluster.
type Postgres struct {
	dir       string
	port      int
	binDir    string
	ephemeral bool
	log       *zap.Logger
	cred      *syscall.Credential // run as the postgres user; nil unless root
	sockDir   string
	tmpSock   bool // sockDir is a temporary directory to remove on Stop

	pid    int           // postmaster
	cmd    *exec.Cmd     // Ephemeral: the postmaster, our child
	exited chan struct{} // Ephemeral: closed once cmd has been waited for

	stopOnce sync.Once
	stopErr  error
}

// StartPostgres initialises opts.Dir with initdb if it holds no cluster yet
// (superuser "enfance", trust authentication, UTF8, locale C), starts the server
// on 127.0.0.1:opts.Port, waits until it accepts connections and creates
// opts.Database if missing.
//
// The server's settings (port, addresses, socket directory, durability) live in
// Dir/enfance.conf, rewritten at every start and included from postgresql.conf.
// The Unix socket is in Dir, or in a short temporary directory when Dir is too
// long for a socket path. Server output goes to Dir/server.log.
//
// As root the PostgreSQL binaries refuse to run, so they run as the "postgres"
// user and Dir is chowned to it.
//
// A postmaster.pid left by a dead server is removed. If a server from a previous
// run is still running on Dir, it is stopped (pg_ctl stop -m fast) and started
// again with this call's settings: reusing it would leave its port and settings
// unknown, and the caller owning the new *Postgres must be able to stop it.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	start := time.Now()
	if opts.Dir == "" {
		return nil, errors.New("start postgres: PostgresOptions.Dir is empty")
	}
	if opts.Port <= 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("start postgres: invalid port %d", opts.Port)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("start postgres: data dir %q: %w", opts.Dir, err)
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	binDir, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	p := &Postgres{dir: dir, port: opts.Port, binDir: binDir, ephemeral: opts.Ephemeral, log: log.With(zap.String("dir", dir), zap.Int("port", opts.Port))}
	if os.Geteuid() == 0 {
		if p.cred, err = postgresCredential(); err != nil {
			return nil, err
		}
	}
	if err := p.prepareDir(); err != nil {
		return nil, err
	}
	if err := p.stopLeftover(); err != nil {
		return nil, err
	}
	if err := p.initdb(); err != nil {
		return nil, err
	}
	if err := p.writeConfig(); err != nil {
		p.removeTmpSock()
		return nil, err
	}
	if err := p.start(ctx); err != nil {
		_ = p.Stop()
		return nil, err
	}
	if opts.Database != "" {
		if err := p.EnsureDatabase(ctx, opts.Database); err != nil {
			_ = p.Stop()
			return nil, err
		}
	}
	p.log.Info("postgres ready", zap.Int("pid", p.pid), zap.Bool("ephemeral", p.ephemeral), zap.Duration("took", time.Since(start)))
	return p, nil
}

// URL returns the connection URL of database on this server.
func (p *Postgres) URL(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", pgSuperuser, p.port, url.PathEscape(database))
}

// User is the role every URL connects as: the cluster's superuser, trusted
// without a password.
func (p *Postgres) User() string { return pgSuperuser }

// Port returns the TCP port the server listens on.
func (p *Postgres) Port() int { return p.port }

// PID returns the postmaster's process ID.
func (p *Postgres) PID() int { return p.pid }

// CreateDatabase creates database name, copied from template ("" = the server's
// default, template1). It fails if name exists.
func (p *Postgres) CreateDatabase(ctx context.Context, name, template string) error {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return fmt.Errorf("create database %s: connect: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (pg_ctl stop -m fast; for an Ephemeral cluster,
// SIGINT, which is the same fast shutdown) and makes sure no process of it is
// left: after 30 s it escalates to an immediate shutdown, then SIGKILL of the
// server's process group. Calling Stop again returns the first call's result.
func (p *Postgres) Stop() error {
	p.stopOnce.Do(func() {
		if p.cmd != nil {
			p.stopErr = p.stopChild()
		} else {
			p.stopErr = p.stopDaemon()
		}
		p.removeTmpSock()
		if p.stopErr == nil {
			p.log.Info("postgres stopped")
		}
	})
	return p.stopErr
}

// stopChild stops an Ephemeral server, which is our child.
func (p *Postgres) stopChild() error {
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, 30 * time.Second}, {syscall.SIGQUIT, 5 * time.Second}, {syscall.SIGKILL, 5 * time.Second}}
	for _, s := range steps {
		if err := p.cmd.Process.Signal(s.sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("stop postgres (pid %d): %w", p.pid, err)
		}
		select {
		case <-p.exited:
			// Backends leave with the postmaster; make sure of it.
			return killGroupAndWait(p.pid)
		case <-time.After(s.wait):
			p.log.Warn("postgres did not stop in time, escalating", zap.Int("pid", p.pid), zap.Stringer("after", s.sig))
		}
	}
	_ = killGroup(p.pid, syscall.SIGKILL)
	return fmt.Errorf("stop postgres: pid %d still running after SIGKILL", p.pid)
}

// stopDaemon stops a server started with pg_ctl (its own session and group).
// When the data dir's postmaster.pid names another server (this one was already
// replaced by a later StartPostgres on the same dir), that one is left alone.
func (p *Postgres) stopDaemon() error {
	if !p.isOurPostmaster() {
		return nil // gone already (its backends leave with it); the PID may be recycled, signal nothing
	}
	if pid, _ := readPostmasterPID(p.dir); pid == p.pid {
		out, err := p.command("pg_ctl", "stop", "-D", p.dir, "-m", "fast", "-w", "-t", "30", "-s").CombinedOutput()
		if err != nil {
			p.log.Warn("pg_ctl stop failed, signalling the server", zap.Error(err), zap.String("output", strings.TrimSpace(string(out))))
		}
	} else {
		_ = syscall.Kill(p.pid, syscall.SIGINT) // what pg_ctl stop -m fast sends
	}
	if waitDead(p.pid, 30*time.Second) {
		return killGroupAndWait(p.pid)
	}
	p.log.Warn("postgres did not stop in time, escalating to an immediate shutdown", zap.Int("pid", p.pid))
	_ = syscall.Kill(p.pid, syscall.SIGQUIT)
	if !waitDead(p.pid, 5*time.Second) {
		_ = killGroup(p.pid, syscall.SIGKILL)
		if !waitDead(p.pid, 5*time.Second) {
			return fmt.Errorf("stop postgres: pid %d still running after SIGKILL", p.pid)
		}
	}
	return killGroupAndWait(p.pid)
}

// isOurPostmaster reports whether p.pid still runs and is a PostgreSQL process
// (not a recycled PID).
func (p *Postgres) isOurPostmaster() bool {
	if !processAlive(p.pid) {
		return false
	}
	name := processName(p.pid)
	return name == "" || name == "postgres" || name == "postmaster"
}

// readPostmasterPID returns the PID on the first line of dir/postmaster.pid.
func readPostmasterPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Join(dir, "postmaster.pid"), err)
	}
	return pid, nil
}

func (p *Postgres) removeTmpSock() {
	if p.tmpSock {
		_ = os.RemoveAll(p.sockDir)
	}
}

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

// stopLeftover deals with a postmaster.pid left by a previous run: removed when
// its process is gone (or the PID now belongs to something else), otherwise that
// server is stopped.
func (p *Postgres) stopLeftover() error {
	pidFile := filepath.Join(p.dir, "postmaster.pid")
	pid, err := readPostmasterPID(p.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	old := &Postgres{dir: p.dir, binDir: p.binDir, cred: p.cred, log: p.log, pid: pid}
	if err != nil || !old.isOurPostmaster() {
		p.log.Info("removing stale postmaster.pid", zap.Int("stale_pid", pid))
		if err := os.Remove(pidFile); err != nil {
			return fmt.Errorf("start postgres: remove stale %s: %w", pidFile, err)
		}
		return nil
	}
	p.log.Warn("a PostgreSQL server from a previous run is still running on this data dir; stopping it", zap.Int("old_pid", pid))
	if err := old.stopDaemon(); err != nil {
		return fmt.Errorf("start postgres: stop the server still running on %s (pid %d): %w; stop it by hand: pg_ctl stop -D %s", p.dir, pid, err, p.dir)
	}
	return nil
}

// initdb creates the cluster unless Dir already holds one.
func (p *Postgres) initdb() error {
	if _, err := os.Stat(filepath.Join(p.dir, "PG_VERSION")); err == nil {
		return nil
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("start postgres: %s is not empty but holds no PostgreSQL cluster (no PG_VERSION): remove it or choose another directory", p.dir)
	}
	args := []string{"-D", p.dir, "-U", pgSuperuser, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions"}
	if p.ephemeral {
		args = append(args, "--no-sync")
	}
	t := time.Now()
	if out, err := p.command("initdb", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("start postgres: initdb %s: %w: %s", p.dir, err, strings.TrimSpace(string(out)))
	}
	p.log.Info("initialised postgres cluster", zap.Duration("took", time.Since(t)))
	return nil
}

const includeLine = "include_if_exists 'enfance.conf'"

// writeConfig writes Dir/enfance.conf and makes sure postgresql.conf includes it.
func (p *Postgres) writeConfig() error {
	p.sockDir = p.dir
	if len(filepath.Join(p.dir, fmt.Sprintf(".s.PGSQL.%d", p.port))) > maxSocketPath {
		d, err := os.MkdirTemp("/tmp", "pgsock-")
		if err != nil {
			return fmt.Errorf("start postgres: socket dir: %w", err)
		}
		if err := p.chown(d); err != nil {
			_ = os.Remove(d)
			return err
		}
		p.sockDir, p.tmpSock = d, true
	}
	settings := map[string]string{
		"listen_addresses":        "'127.0.0.1'",
		"port":                    strconv.Itoa(p.port),
		"unix_socket_directories": quoteConf(p.sockDir),
		"max_connections":         "200",
		"logging_collector":       "off",
	}
	if p.ephemeral {
		settings["fsync"] = "off"
		settings["synchronous_commit"] = "off"
		settings["full_page_writes"] = "off"
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Written by enfance (package devenv) at every start: edits are overwritten.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s = %s\n", k, settings[k])
	}
	if err := p.writeFile("enfance.conf", []byte(b.String())); err != nil {
		return err
	}

	confPath := filepath.Join(p.dir, "postgresql.conf")
	conf, err := os.ReadFile(confPath)
	if err != nil {
		return fmt.Errorf("start postgres: read postgresql.conf: %w", err)
	}
	if !strings.Contains(string(conf), includeLine) {
		f, err := os.OpenFile(confPath, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("start postgres: %w", err)
		}
		_, err = fmt.Fprintf(f, "\n# Settings of enfance's devenv (port, socket, durability).\n%s\n", includeLine)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("start postgres: update postgresql.conf: %w", err)
		}
	}
	return nil
}

func quoteConf(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// writeFile writes a file into the data dir, owned by the server's user.
func (p *Postgres) writeFile(name string, data []byte) error {
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("start postgres: write %s: %w", path, err)
	}
	return p.chown(path)
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

func (p *Postgres) logPath() string { return filepath.Join(p.dir, "server.log") }

// start launches the server and waits until it accepts connections.
func (p *Postgres) start(ctx context.Context) error {
	logFile, err := os.OpenFile(p.logPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("start postgres: open server log: %w", err)
	}
	defer logFile.Close()
	if err := p.chown(p.logPath()); err != nil {
		return err
	}

	if p.ephemeral {
		cmd := p.command("postgres", "-D", p.dir)
		cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT // immediate shutdown if we die first
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start postgres: %w", err)
		}
		p.cmd, p.pid, p.exited = cmd, cmd.Process.Pid, make(chan struct{})
		go func() { _ = cmd.Wait(); close(p.exited) }()
	} else {
		out, err := p.command("pg_ctl", "start", "-D", p.dir, "-l", p.logPath(), "-w", "-t", "60", "-s").CombinedOutput()
		// Even when pg_ctl gives up waiting, a postmaster may be running: know its
		// PID so that Stop can end it.
		pid, pidErr := readPostmasterPID(p.dir)
		if pidErr == nil {
			p.pid = pid
		}
		if err != nil {
			return fmt.Errorf("start postgres: pg_ctl start: %w: %s\n%s", err, strings.TrimSpace(string(out)), p.logTail())
		}
		if pidErr != nil {
			return fmt.Errorf("start postgres: %w", pidErr)
		}
	}
	return p.waitReady(ctx)
}

func (p *Postgres) logTail() string {
	if t := fileTail(p.logPath(), 2048); t != "" {
		return "server log (" + p.logPath() + "):\n" + t
	}
	return ""
}

// waitReady pings the server until it answers, it exits, ctx ends or 60 s pass.
func (p *Postgres) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var lastErr error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attempt, p.URL("postgres"))
		if err == nil {
			err = conn.Ping(attempt)
			_ = conn.Close(attempt)
		}
		cancelAttempt()
		if err == nil {
			return nil
		}
		lastErr = err
		select {
		case <-p.exited: // nil, never ready, for a pg_ctl daemon

			return fmt.Errorf("start postgres: the server exited during startup (port %d taken? see the log below):\n%s", p.port, p.logTail())
		case <-ctx.Done():
			return fmt.Errorf("start postgres: not accepting connections on 127.0.0.1:%d: %w (last error: %v)\n%s", p.port, ctx.Err(), lastErr, p.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// EnsureDatabase creates database name unless it exists.
func (p *Postgres) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return fmt.Errorf("database %s: connect: %w", name, err)
	}
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	_ = conn.Close(ctx)
	if err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	err = p.CreateDatabase(ctx, name, "")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: created meanwhile
		return nil
	}
	return err
}

// postgresBinDir finds the directory of initdb, pg_ctl and postgres: $PG_BIN_DIR,
// else the newest /usr/lib/postgresql/*/bin (Debian, Ubuntu), else pg_ctl on PATH.
func postgresBinDir() (string, error) {
	if d := os.Getenv("PG_BIN_DIR"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err != nil {
			return "", fmt.Errorf("PG_BIN_DIR=%s has no pg_ctl: %w", d, err)
		}
		return d, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	best, bestVersion := "", -1
	for _, m := range matches {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(m))))
		if err == nil && v > bestVersion {
			best, bestVersion = filepath.Dir(m), v
		}
	}
	if best != "" {
		return best, nil
	}
	if path, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(path), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install PostgreSQL (e.g. apt-get install postgresql) or set PG_BIN_DIR to their directory")
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
