package devenv

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
)

// The private server as a process: starting it and waiting until it answers,
// stopping it (and any server a previous run left behind), its log.

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
