package bench

import (
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
		return "enfance cluster (supervisor, balancer, PayFiP simulator)"
	}
	return ""
}

// sampleProcesses reads CPU time and peak memory of the stack's processes.
func sampleProcesses() map[int]procSample {
	out := map[int]procSample{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		cmd, err := os.ReadFile(d + "/cmdline")
		if err != nil {
			continue
		}
		comm, _ := os.ReadFile(d + "/comm")
		group := classify(strings.ReplaceAll(string(cmd), "\x00", " "), strings.TrimSpace(string(comm)))
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
		s := procSample{group: group, cpu: (ut + st) / clkTck}
		if status, err := os.ReadFile(d + "/status"); err == nil {
			for _, line := range strings.Split(string(status), "\n") {
				if strings.HasPrefix(line, "VmHWM:") {
					s.hwmKB, _ = strconv.ParseInt(strings.Fields(line)[1], 10, 64)
				}
			}
		}
		out[pid] = s
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
