package testenv_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/enfance/enfance/testenv"
)

// TestServersDieWithKilledTestBinary runs this test binary again; that child
// starts PostgreSQL and Temporal, prints their PIDs and SIGKILLs itself, as go
// test -timeout would. Neither server may outlive it.
func TestServersDieWithKilledTestBinary(t *testing.T) {
	if os.Getenv("TESTENV_KILLED_CHILD") == "1" {
		testenv.Database(t)
		testenv.Temporal(t)
		fmt.Printf("PIDS %s\n", strings.Join(childPIDs(os.Getpid()), " "))
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestServersDieWithKilledTestBinary$", "-test.count=1")
	cmd.Env = append(os.Environ(), "TESTENV_KILLED_CHILD=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die of SIGKILL: %v\n%s", err, out.String())
	}
	var pids []string
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(line, "PIDS "); ok {
			pids = strings.Fields(rest)
		}
	}
	if len(pids) != 2 {
		t.Fatalf("want the PIDs of postgres and temporal, got %q\n%s", pids, out.String())
	}
	for _, pid := range pids {
		deadline := time.Now().Add(15 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %s (%s) survived its killed test binary", pid, comm(pid))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// childPIDs lists pid's children that are servers: postgres and temporal.
func childPIDs(pid int) []string {
	var found []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			if c := comm(e.Name()); c == "postgres" || c == "temporal" {
				found = append(found, e.Name())
			}
		}
	}
	return found
}

func comm(pid string) string {
	b, _ := os.ReadFile("/proc/" + pid + "/comm")
	return strings.TrimSpace(string(b))
}

// alive: the process exists and is not a zombie waiting for PID 1 to reap it.
func alive(pid string) bool {
	stat, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	f := strings.Fields(string(stat[i+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}
