package bench

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Usage is what a group of processes consumed during the run.
type Usage struct {
	Processes  int     `json:"processes"`
	CPUSeconds float64 `json:"cpu_seconds"`
	PeakRSSMB  float64 `json:"peak_rss_mb"` // sum of each process's peak (VmHWM): an upper bound
	// CPUMsPerPaidCart is CPUSeconds per confirmed cart of the run, in ms.
	CPUMsPerPaidCart float64 `json:"cpu_ms_per_paid_cart"`
}

type procSample struct {
	group string
	cpu   float64 // seconds
	hwmKB int64
}

// clkTck is USER_HZ, 100 on every Linux this runs on.
const clkTck = 100

// classify names the part of the stack a process belongs to, from /proc: in
// `enfance dev` the API and the worker share one process; in `enfance cluster`
// each kind has its own processes.
func classify(cmdline, comm string) string {
	switch {
	case strings.Contains(cmdline, "temporal") && strings.Contains(cmdline, "start-dev"):
		return "temporal"
	case strings.Contains(cmdline, "temporal-server"):
		return "temporal server"
	case comm == "postgres" || strings.HasPrefix(cmdline, "postgres:"):
		return "postgresql"
	case !strings.Contains(cmdline, "enfance"):
		return ""
	case strings.HasSuffix(cmdline, " dev "):
		return "enfance (api + worker)"
	case strings.HasSuffix(cmdline, " api "):
		return "enfance api"
	case strings.HasSuffix(cmdline, " worker "):
		return "enfance worker"
	case strings.HasSuffix(cmdline, " cluster "):
		return groupSupervisor
	}
	return ""
}

const (
	groupSupervisor = "enfance cluster (supervisor, balancer, PayFiP simulator)"
	groupBench      = "bench (the parents' HTTP clients: this process)"
)

// stack is where the processes a run measures are found.
type stack struct {
	roots map[int]bool // these processes and their descendants; nil: every process of the machine with a known name
	by    string       // how they were found, for the report
}

// findStack finds the processes of the stack under test from the ports it
// listens on — the API processes, Temporal's frontend, PostgreSQL — and their
// descendants; for an API process run by `enfance cluster`, the cluster's
// processes (its workers among them). The machine is shared (other stacks,
// other engineers' tests run beside it), so processes are never taken by name
// alone unless none of the ports is served here.
func findStack(apiURLs []string, temporalHostPort, databaseURL string) stack {
	ports := map[int]bool{}
	for _, u := range apiURLs {
		if p := portOfURL(u); p > 0 {
			ports[p] = true
		}
	}
	if _, p, err := net.SplitHostPort(temporalHostPort); err == nil {
		if n, _ := strconv.Atoi(p); n > 0 {
			ports[n] = true
		}
	}
	if p := portOfURL(databaseURL); p > 0 {
		ports[p] = true
	}
	procs := readProcs()
	s := stack{roots: map[int]bool{}, by: "listening ports and their process trees"}
	for _, pid := range listeningPIDs(ports) {
		root := pid
		// The cluster's supervisor runs every process of the stack.
		if pp, ok := procs[procs[pid].ppid]; ok && pp.group == groupSupervisor {
			root = procs[pid].ppid
		}
		s.roots[root] = true
	}
	if len(s.roots) == 0 {
		return stack{by: "process names, machine-wide (none of the stack's ports is served on this machine)"}
	}
	return s
}

// members lists the stack's processes now (the roots and their descendants;
// PostgreSQL's backends come and go).
func (s stack) members() map[int]bool {
	if s.roots == nil {
		return nil
	}
	children := map[int][]int{}
	for pid, p := range readProcs() {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	out := map[int]bool{}
	var walk func(int)
	walk = func(pid int) {
		if out[pid] {
			return
		}
		out[pid] = true
		for _, c := range children[pid] {
			walk(c)
		}
	}
	for r := range s.roots {
		walk(r)
	}
	return out
}

func portOfURL(raw string) int {
	u, err := url.Parse(raw)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(u.Port())
	if p == 0 && u.Scheme == "postgres" {
		p = 5432
	}
	return p
}

type procInfo struct {
	ppid  int
	group string
}

// readProcs lists the machine's processes with their parent and group.
func readProcs() map[int]procInfo {
	out := map[int]procInfo{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(fields) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		cmd, _ := os.ReadFile(d + "/cmdline")
		comm, _ := os.ReadFile(d + "/comm")
		out[pid] = procInfo{ppid: ppid, group: classify(strings.ReplaceAll(string(cmd), "\x00", " "), strings.TrimSpace(string(comm)))}
	}
	return out
}

// listeningPIDs returns the processes holding a listening TCP socket on one of
// ports (from /proc/net/tcp{,6} and each process's file descriptors).
func listeningPIDs(ports map[int]bool) []int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 10 || fs[3] != "0A" { // 0A: LISTEN
				continue
			}
			local := fs[1]
			p, err := strconv.ParseInt(local[strings.LastIndexByte(local, ':')+1:], 16, 32)
			if err != nil {
				continue
			}
			if ports[int(p)] {
				inodes[fmt.Sprintf("socket:[%s]", fs[9])] = true
			}
		}
	}
	if len(inodes) == 0 {
		return nil
	}
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		fds, _ := os.ReadDir(d + "/fd")
		for _, fd := range fds {
			if target, err := os.Readlink(d + "/fd/" + fd.Name()); err == nil && inodes[target] {
				pid, _ := strconv.Atoi(filepath.Base(d))
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// sample reads CPU time and peak memory of the stack's processes.
func (s stack) sample() map[int]procSample {
	out := map[int]procSample{}
	members := s.members()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if members != nil && !members[pid] && pid != os.Getpid() {
			continue
		}
		cmd, err := os.ReadFile(d + "/cmdline")
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(d + "/comm")
		group := classify(strings.ReplaceAll(string(cmd), "\x00", " "), strings.TrimSpace(string(comm)))
		if pid == os.Getpid() {
			// The parents' HTTP clients share the machine with the stack.
			group = groupBench
		}
		if group == "" {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: utime is the 14th field overall.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		if len(fields) < 13 {
			continue
		}
		ut, _ := strconv.ParseFloat(fields[11], 64)
		st, _ := strconv.ParseFloat(fields[12], 64)
		ps := procSample{group: group, cpu: (ut + st) / clkTck}
		if status, err := os.ReadFile(d + "/status"); err == nil {
			for _, line := range strings.Split(string(status), "\n") {
				if strings.HasPrefix(line, "VmHWM:") {
					ps.hwmKB, _ = strconv.ParseInt(strings.Fields(line)[1], 10, 64)
				}
			}
		}
		out[pid] = ps
	}
	return out
}

func usageSince(before, after map[int]procSample, paidCarts int) map[string]Usage {
	out := map[string]Usage{}
	for pid, a := range after {
		u := out[a.group]
		u.Processes++
		u.CPUSeconds += a.cpu - before[pid].cpu // a process born during the run counts whole
		u.PeakRSSMB += float64(a.hwmKB) / 1024
		if paidCarts > 0 {
			u.CPUMsPerPaidCart = u.CPUSeconds * 1000 / float64(paidCarts)
		}
		out[a.group] = u
	}
	return out
}
