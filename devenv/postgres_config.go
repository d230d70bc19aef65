package devenv

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// The cluster's files: initdb, and the settings the engine writes at every start
// (Dir/enfance.conf, included from postgresql.conf).

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
