package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/devenv"
)

// pgEnv is the PostgreSQL server of this test binary: a private cluster, or the
// server of TEST_DATABASE_URL.
type pgEnv struct {
	server   *devenv.Postgres // nil with TEST_DATABASE_URL
	dir      string           // the private cluster's temporary directory
	base     *url.URL         // any database's URL is base with another path
	admin    *pgxpool.Pool    // CREATE / DROP DATABASE
	template string           // migrated once; each test's database is a copy
}

var (
	pgMu  sync.Mutex
	pg    *pgEnv
	pgErr error
)

// tempDirPrefix names the private clusters' directories in os.TempDir().
const tempDirPrefix = "enfance-testenv-"

// Database returns a pool on a brand-new database, migrated with db.Migrate, and
// its DSN. The database is dropped and the pool closed in t.Cleanup.
//
// The test binary's PostgreSQL cluster (private, Ephemeral, in a temporary
// directory, on a free port) starts on the first call; migrations run once into a
// template database and each test's database is a copy of it (CREATE DATABASE …
// TEMPLATE), which takes milliseconds. With TEST_DATABASE_URL set, that server is
// used instead (the role needs CREATEDB); the template and the test databases
// are created and dropped there.
func Database(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	requireMain(t)
	env, err := postgres()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	name := databaseName(t)
	if err := env.createDatabase(ctx, name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { // runs after pool.Close below (cleanups run last-in first-out)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := env.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	dsn := env.url(name)
	pool, err := db.NewPool(ctx, dsn) // the processes' pool, as they open it
	if err != nil {
		t.Fatalf("testenv: pool on %s: %v", name, err)
	}
	t.Cleanup(pool.Close)
	return pool, dsn
}

func postgres() (*pgEnv, error) {
	pgMu.Lock()
	defer pgMu.Unlock()
	if pg == nil && pgErr == nil {
		pg, pgErr = startPostgres()
	}
	return pg, pgErr
}

func startPostgres() (*pgEnv, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := &pgEnv{}
	if dsn := os.Getenv("TEST_DATABASE_URL"); dsn != "" {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, fmt.Errorf("TEST_DATABASE_URL: %w", err)
		}
		env.base = u
	} else {
		if err := env.startCluster(ctx); err != nil {
			return nil, err
		}
	}
	var err error
	if env.admin, err = pgxpool.New(ctx, env.base.String()); err != nil {
		env.stop(ctx)
		return nil, fmt.Errorf("connect to %s: %w", env.base.Redacted(), err)
	}
	if err := env.prepareTemplate(ctx); err != nil {
		env.stop(ctx)
		return nil, err
	}
	return env, nil
}

// startCluster starts the private, ephemeral cluster of this test binary.
func (env *pgEnv) startCluster(ctx context.Context) error {
	removeAbandonedDirs()
	dir, err := os.MkdirTemp("", tempDirPrefix)
	if err != nil {
		return fmt.Errorf("temporary dir for PostgreSQL: %w", err)
	}
	env.dir = dir
	// The postgres user (we may be root) must reach dir/pg; the owner file lets a
	// later run remove this directory if this process dies without cleaning up.
	err = errors.Join(
		os.Chmod(dir, 0o755),
		os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644),
	)
	if err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("temporary dir for PostgreSQL: %w", err)
	}
	// A free port may be taken before the server binds it: try a few.
	for attempt := 1; ; attempt++ {
		port, err := devenv.FreePort()
		if err != nil {
			_ = os.RemoveAll(dir)
			return err
		}
		env.server, err = devenv.StartPostgres(ctx, devenv.PostgresOptions{
			Dir: filepath.Join(dir, "pg"), Port: port, Ephemeral: true, Logger: log().Named("postgres"),
		})
		if err == nil {
			break
		}
		if attempt == 3 || ctx.Err() != nil {
			_ = os.RemoveAll(dir)
			return fmt.Errorf("start the tests' PostgreSQL: %w", err)
		}
	}
	env.base, err = url.Parse(env.server.URL("postgres"))
	if err != nil {
		env.stop(ctx)
		return err
	}
	return nil
}

// removeAbandonedDirs deletes the private clusters of test binaries that died
// without running Main's cleanup (killed by go test -timeout, say); their servers
// died with them.
func removeAbandonedDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}

// prepareTemplate creates the template database and applies the migrations to it.
func (env *pgEnv) prepareTemplate(ctx context.Context) error {
	env.template = "enfance_template_" + randomHex(6)
	if _, err := env.admin.Exec(ctx, "CREATE DATABASE "+ident(env.template)); err != nil {
		return fmt.Errorf("create the template database: %w", err)
	}
	if err := db.Migrate(ctx, env.url(env.template)); err != nil {
		return fmt.Errorf("migrate the template database: %w", err)
	}
	return nil
}

// createDatabase copies the template. A copy fails while another session is
// connected to the template (the migration's just-closed connection, for a few
// milliseconds): PostgreSQL waits up to 5 s itself, and we retry on top.
func (env *pgEnv) createDatabase(ctx context.Context, name string) error {
	for attempt := 1; ; attempt++ {
		_, err := env.admin.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(env.template))
		if err == nil {
			return nil
		}
		if attempt == 3 || ctx.Err() != nil || !strings.Contains(err.Error(), "SQLSTATE 55006") {
			return fmt.Errorf("create database %s from the migrated template: %w", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (env *pgEnv) url(database string) string {
	u := *env.base
	u.Path = "/" + database
	u.RawPath = ""
	return u.String()
}

// stop drops the template (on a shared server) and stops the private cluster.
func (env *pgEnv) stop(ctx context.Context) error {
	var errs []error
	if env.admin != nil {
		if env.server == nil && env.template != "" {
			if _, err := env.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(env.template)+" WITH (FORCE)"); err != nil {
				errs = append(errs, fmt.Errorf("drop the template database %s: %w", env.template, err))
			}
		}
		env.admin.Close()
	}
	if env.server != nil {
		if err := env.server.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if env.dir != "" {
		if err := os.RemoveAll(env.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func stopPostgres(ctx context.Context) error {
	pgMu.Lock()
	defer pgMu.Unlock()
	if pg == nil {
		return nil
	}
	err := pg.stop(ctx)
	pg, pgErr = nil, errors.New("testenv: PostgreSQL already stopped (Main has returned)")
	return err
}

// databaseName is unique and hints at the test: t_<test name>_<random>.
func databaseName(t testing.TB) string {
	var b strings.Builder
	for _, r := range strings.ToLower(t.Name()) {
		if b.Len() >= 40 {
			break
		}
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return "t_" + b.String() + "_" + randomHex(5)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }
