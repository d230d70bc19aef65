package devenv

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// ProcessOptions configures StartProcess.
type ProcessOptions struct {
	// Name names the process in logs and errors ("temporal server", "api-1").
	Name   string
	Binary string
	Args   []string
	// Env is the child's whole environment; nil inherits this process's.
	Env []string
	// Dir is the working directory; "" inherits this process's.
	Dir string
	// LogFile receives the child's stdout and stderr (appended); "" discards them
	// (their tail is still quoted in errors).
	LogFile string
	// StopTimeout is how long Stop waits after SIGTERM before SIGKILL; 0 means 10 s.
	StopTimeout time.Duration
	// Logger defaults to a no-op logger.
	Logger *zap.Logger
}

// Process is a child process in its own process group, so that a Ctrl-C typed in
// the terminal reaches this process only, and with a parent-death signal, so that
// it does not outlive this process when this one is killed.
type Process struct {
	name    string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error // valid once exited is closed
	logFile *os.File
	tail    *TailBuffer
	timeout time.Duration
	log     *zap.Logger

	stopOnce sync.Once
	stopErr  error
}

// StartProcess starts opts.Binary and returns at once; Exited tells when it ends.
func StartProcess(opts ProcessOptions) (*Process, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	if st, err := os.Stat(opts.Binary); err != nil || st.IsDir() {
		return nil, fmt.Errorf("%s: no executable at %s", opts.Name, opts.Binary)
	}
	p := &Process{name: opts.Name, exited: make(chan struct{}), tail: NewTailBuffer(4096), timeout: opts.StopTimeout, log: log}
	if p.timeout <= 0 {
		p.timeout = 10 * time.Second
	}
	var out io.Writer = p.tail
	if opts.LogFile != "" {
		if err := os.MkdirAll(filepath.Dir(opts.LogFile), 0o755); err != nil {
			return nil, fmt.Errorf("%s: create log dir: %w", opts.Name, err)
		}
		f, err := os.OpenFile(opts.LogFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, fmt.Errorf("%s: open log file: %w", opts.Name, err)
		}
		p.logFile = f
		out = io.MultiWriter(f, p.tail)
	}
	cmd := exec.Command(opts.Binary, opts.Args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env, cmd.Dir = opts.Env, opts.Dir
	log.Debug("starting "+opts.Name, zap.String("binary", opts.Binary), zap.Strings("args", opts.Args))
	if err := cmd.Start(); err != nil {
		p.closeLog()
		return nil, fmt.Errorf("%s: run %s: %w", opts.Name, opts.Binary, err)
	}
	p.cmd = cmd
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	return p, nil
}

// PID returns the process ID (also its process group ID).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Err is how the process ended; valid once Exited is closed.
func (p *Process) Err() error { return p.waitErr }

// Output returns the last few KiB the process printed.
func (p *Process) Output() string { return p.tail.String() }

// Stop sends SIGTERM to the process group, waits for the process to exit and
// sends SIGKILL after the stop timeout; then whatever it left in its group goes
// too. Calling Stop again returns the first call's result.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		defer p.closeLog()
		pgid := p.cmd.Process.Pid
		select {
		case <-p.exited: // already gone
			_ = killGroupAndWait(pgid)
			return
		default:
		}
		if err := killGroup(pgid, syscall.SIGTERM); err != nil {
			p.stopErr = err
		}
		select {
		case <-p.exited:
		case <-time.After(p.timeout):
			p.log.Warn(p.name+" did not stop in time, killing it", zap.Duration("after", p.timeout))
			_ = killGroup(pgid, syscall.SIGKILL)
			select {
			case <-p.exited:
			case <-time.After(5 * time.Second):
				p.stopErr = fmt.Errorf("stop %s: pid %d still running after SIGKILL", p.name, pgid)
				return
			}
		}
		if err := killGroupAndWait(pgid); err != nil && p.stopErr == nil {
			p.stopErr = err
		}
		if p.stopErr == nil {
			p.log.Info(p.name + " stopped")
		}
	})
	return p.stopErr
}

// exitError describes an early exit, quoting the end of the output.
func (p *Process) exitError(hint string) error {
	err := p.waitErr
	if err == nil {
		err = errors.New("exit status 0")
	}
	return fmt.Errorf("%s exited (%v)%s; output:\n%s", p.name, err, hint, p.tail)
}

func (p *Process) closeLog() {
	if p.logFile != nil {
		_ = p.logFile.Close()
	}
}
