// discbench - measures discovery (run it preloaded, PREFAULT_STATS set):
//
//	discbench -stats PATH -file BIG -small SMALL [-maps 1000] [-idle 10s] [-trials 100]
//
// It maps SMALL -maps times (4 KiB each, with syscall.Mmap: a process with
// that many mappings), then
//   - idle: a child process reads the CPU time of prefault's discovery
//     thread (/proc/PID/task/TID/schedstat, in ns) before and after -idle
//     while this one does nothing (after a second to settle), and it is
//     printed as a share of one core;
//   - latency: -trials times maps BIG with syscall.Mmap after a random pause
//     (-gapmin..-gapmax), keeps it as long (with -wait: until its map record
//     is written, and after the unmap until its unmap record is, at most
//     gotest.Deadline each), unmaps it, and finds in the statistics when the map
//     record (source "discover") and the unmap record of that mapping were
//     queued: latency is that time minus the moment just before the mmap
//     (munmap) system call.
//
// Prints key=value lines: idle_cpu_pct, map_ms_median/p90/max, unmap_ms_*,
// found (trials whose mapping was discovered), trials.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"../gotest"
	_ "runtime/cgo" // dynamic, so LD_PRELOAD applies
)

func discThread() string {
	tasks, _ := filepath.Glob("/proc/self/task/*")
	for _, t := range tasks {
		comm, _ := os.ReadFile(t + "/comm")
		if strings.TrimSpace(string(comm)) == "prefault-disc" {
			return t
		}
	}
	return ""
}


func unixNow() float64 { return float64(time.Now().UnixNano()) / 1e9 }

type record struct {
	Ev     string  `json:"ev"`
	T      float64 `json:"t"`
	Addr   string  `json:"addr"`
	Len    int     `json:"len"`
	Path   string  `json:"path"`
	Source string  `json:"source"`
}

type trial struct {
	addr        uintptr
	mapT, unmT  float64
	mapL, unmL  float64 // ms, -1 when not found
}

func stats(v []float64) (med, p90, max float64) {
	if len(v) == 0 {
		return -1, -1, -1
	}
	sort.Float64s(v)
	return v[len(v)/2], v[len(v)*9/10], v[len(v)-1]
}

func main() {
	statsPath := flag.String("stats", "", "PREFAULT_STATS file")
	file := flag.String("file", "", "file to map in the trials (>= PREFAULT_MIN_SIZE)")
	small := flag.String("small", "", "file mapped -maps times")
	nmaps := flag.Int("maps", 1000, "mappings to hold")
	idle := flag.Duration("idle", 10*time.Second, "idle time measured")
	trials := flag.Int("trials", 100, "mappings timed")
	gapMin := flag.Duration("gapmin", 15*time.Millisecond, "least time between a trial's steps")
	gapMax := flag.Duration("gapmax", 45*time.Millisecond, "most time between a trial's steps")
	wait := flag.Bool("wait", false, "each step waits for its record (a test), instead of a random pause (a benchmark)")
	flag.Parse()
	if *statsPath == "" || *file == "" || *small == "" {
		gotest.Die("usage: discbench -stats PATH -file BIG -small SMALL [-maps N] [-idle D] [-trials N]")
	}

	sf, err := os.Open(*small)
	if err != nil {
		gotest.Die("%v", err)
	}
	var held [][]byte
	for i := 0; i < *nmaps; i++ {
		b, err := syscall.Mmap(int(sf.Fd()), 0, 4096, syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			gotest.Die("mmap small: %v", err)
		}
		held = append(held, b)
	}
	sf.Close()
	time.Sleep(1500 * time.Millisecond) // the first scans are over
	task := discThread()
	if task == "" {
		gotest.Die("no prefault-disc thread: is the library preloaded, discovery on?")
	}
	lines := 0
	if m, err := os.ReadFile("/proc/self/maps"); err == nil {
		lines = strings.Count(string(m), "\n")
	}
	// Reading anything here is activity that speeds discovery up for a
	// while: a child process measures, this one only waits for it.
	tid := filepath.Base(task)
	script := fmt.Sprintf("f=/proc/%d/task/%s/schedstat; sleep 1; date +%%s.%%N; cat $f; sleep %.3f; date +%%s.%%N; cat $f",
		os.Getpid(), tid, idle.Seconds())
	out, err := exec.Command("sh", "-c", script).Output()
	if err != nil {
		gotest.Die("measuring: %v", err)
	}
	v := strings.Fields(string(out)) // t0 cpu0 wait0 runs0 t1 cpu1 wait1 runs1
	if len(v) != 8 {
		gotest.Die("measuring: %q", out)
	}
	num := func(i int) float64 { x, _ := strconv.ParseFloat(v[i], 64); return x }
	wall, cpu := num(4)-num(0), (num(5)-num(1))/1e9
	fmt.Printf("pid=%d\nmaps_lines=%d\nidle_s=%.1f\nidle_wakeups=%.0f\nidle_cpu_ms=%.2f\nidle_cpu_pct=%.3f\n",
		os.Getpid(), lines, wall, num(7)-num(3), cpu*1e3, cpu/wall*100)

	f, err := os.Open(*file)
	if err != nil {
		gotest.Die("%v", err)
	}
	st, _ := f.Stat()
	size := int(st.Size())
	r := gotest.Rand(uint64(time.Now().UnixNano()) | 1)
	pause := func() {
		span := uint64(*gapMax-*gapMin) + 1
		time.Sleep(*gapMin + time.Duration(r.Next()%span))
	}
	ts := make([]trial, *trials)
	for i := range ts {
		pause()
		ts[i].mapT = unixNow()
		b, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
		if err != nil {
			gotest.Die("mmap: %v", err)
		}
		ts[i].addr = uintptr(unsafe.Pointer(&b[0]))
		addr, t0 := ts[i].addr, ts[i].mapT
		if *wait {
			gotest.WaitRecord(func(r gotest.Record) bool {
				return r.Str("ev") == "map" && r.Str("source") == "discover" &&
					r.Addr() == addr && r.Num("t") >= t0
			})
		} else {
			pause()
		}
		ts[i].unmT = unixNow()
		t1 := ts[i].unmT
		if err := syscall.Munmap(b); err != nil {
			gotest.Die("munmap: %v", err)
		}
		if *wait {
			gotest.WaitRecord(func(r gotest.Record) bool {
				return r.Str("ev") == "unmap" && r.Addr() == addr && r.Num("t") >= t1
			})
		}
	}
	f.Close()
	time.Sleep(300 * time.Millisecond) // the last records are written

	var recs []record
	sfile, err := os.Open(*statsPath)
	if err != nil {
		gotest.Die("%v", err)
	}
	sc := bufio.NewScanner(sfile)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec record
		if json.Unmarshal(sc.Bytes(), &rec) == nil {
			recs = append(recs, rec)
		}
	}
	var mapL, unmL []float64
	found := 0
	for i := range ts {
		t := &ts[i]
		t.mapL, t.unmL = -1, -1
		addr := fmt.Sprintf("0x%x", t.addr)
		for _, rec := range recs {
			if rec.Addr != addr || rec.T < t.mapT {
				continue
			}
			if rec.Ev == "map" && rec.Source == "discover" && rec.Path == *file && t.mapL < 0 && rec.T < t.unmT {
				t.mapL = (rec.T - t.mapT) * 1000
			}
			if rec.Ev == "unmap" && rec.T >= t.unmT && t.unmL < 0 {
				t.unmL = (rec.T - t.unmT) * 1000
			}
		}
		if t.mapL >= 0 {
			found++
			mapL = append(mapL, t.mapL)
		}
		if t.unmL >= 0 {
			unmL = append(unmL, t.unmL)
		}
	}
	med, p90, max := stats(mapL)
	fmt.Printf("trials=%d\nfound=%d\nmap_ms_median=%.2f\nmap_ms_p90=%.2f\nmap_ms_max=%.2f\n", len(ts), found, med, p90, max)
	med, p90, max = stats(unmL)
	fmt.Printf("unmapped=%d\nunmap_ms_median=%.2f\nunmap_ms_p90=%.2f\nunmap_ms_max=%.2f\n", len(unmL), med, p90, max)
	runtimeKeep(held)
}

func runtimeKeep(x [][]byte) {
	if len(x) < 0 {
		fmt.Println(x)
	}
}
