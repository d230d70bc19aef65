package devenv

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
