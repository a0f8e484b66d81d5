// coldread - the seed scenario of prefault as one Go program: random reads from a
// file mapped with syscall.Mmap (as bbolt maps its database) while a ticker
// goroutine measures how long the program as a whole stops.
//
// Design. With GOMAXPROCS=1 a goroutine that takes a major page fault holds the
// only P while its thread sleeps in the kernel: the scheduler sees no system
// call, so no other goroutine runs. The ticker goroutine asks to wake every
// -tick; each wake-up records how late it came (time since the previous wake-up
// minus the period, never below zero). The program
//
//  1. creates the file if it is missing or of another size (pseudo-random bytes,
//     fsynced, so eviction can drop every page);
//  2. makes it cold (POSIX_FADV_DONTNEED over the whole file) or warm (reads it
//     all with read(2)), as -cache says;
//  3. maps it PROT_READ/MAP_SHARED with syscall.Mmap and hints MADV_RANDOM, as
//     bbolt does; a preloaded mmap hook never sees this call;
//  4. sleeps -pause (a program's start-up: prefault may load the file meanwhile);
//  5. reads one byte at each of -reads page-aligned offsets drawn from a fixed
//     seed, with the ticker running, and prints one line of key=value results.
//
// The reader yields (runtime.Gosched) after every -yield reads, as a server
// goroutine returns to the scheduler between requests. Without yields the
// ticker would measure Go's 10 ms preemption of a busy loop, hot or cold;
// with them, a tick comes late only while a read holds the P in a fault.
//
// Page-cache residency is sampled with mincore(2) right after mapping and when
// the reads begin (truthful for files the caller may write, which ours is).
// Major faults are printed twice: getrusage(RUSAGE_SELF), which includes the
// faults of prefault's helper threads, and the sum over the program's own
// threads (/proc/self/task/*/stat field 12, threads whose name starts with
// "prefault" left out). A benchmark: it prints, never judges.
//
// Build dynamic, so LD_PRELOAD applies: go build -ldflags=-linkmode=external
// (see tools/gobench.mk).
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	_ "runtime/cgo" // a cgo binary: the runtime's own mmap goes through libc
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const pageSize = 4096

// sink keeps the compiler from dropping the reads.
var sink byte

func main() {
	path := flag.String("file", "build/gobench/data.bin", "data file (created when missing or of another size)")
	sizeMiB := flag.Int64("size", 512, "file size in MiB")
	cache := flag.String("cache", "cold", "cache state before mapping: cold (evicted) or warm (read in)")
	pause := flag.Duration("pause", 5*time.Second, "start-up pause between mmap and the first read")
	reads := flag.Int("reads", 20000, "random 1-byte reads")
	seed := flag.Int64("seed", 1, "seed of the read offsets")
	tick := flag.Duration("tick", time.Millisecond, "ticker period")
	yield := flag.Int("yield", 1, "reads between yields to the scheduler (0: never)")
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	label := flag.String("label", "", "label echoed on the result line")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)

	size := *sizeMiB << 20
	if err := ensureFile(*path, size); err != nil {
		fail("create %s: %v", *path, err)
	}
	f, err := os.Open(*path)
	if err != nil {
		fail("%v", err)
	}
	switch *cache {
	case "cold":
		if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			fail("fadvise DONTNEED: %v", err)
		}
	case "warm":
		if _, err := io.Copy(io.Discard, f); err != nil {
			fail("warm %s: %v", *path, err)
		}
	default:
		fail("-cache must be cold or warm, not %q", *cache)
	}

	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		fail("mmap: %v", err)
	}
	if err := syscall.Madvise(data, syscall.MADV_RANDOM); err != nil {
		fail("madvise MADV_RANDOM: %v", err)
	}
	residentAtMap := resident(data)
	time.Sleep(*pause)
	residentAtReads := resident(data)

	offsets := make([]int64, *reads)
	rng := rand.New(rand.NewSource(*seed))
	npages := size / pageSize
	for i := range offsets {
		offsets[i] = rng.Int63n(npages) * pageSize
	}

	stop := make(chan struct{})
	lateness := make(chan []time.Duration)
	go measureTicks(*tick, stop, lateness)
	runtime.Gosched() // let the ticker goroutine start its ticker first

	begin := time.Now()
	var sum byte
	for i, off := range offsets {
		sum += data[off]
		if *yield > 0 && (i+1)%*yield == 0 {
			runtime.Gosched()
		}
	}
	readTime := time.Since(begin)
	sink = sum
	close(stop)
	late := <-lateness

	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail("getrusage: %v", err)
	}
	programMajflt, helperMajflt, helpers := threadMajflt()

	fmt.Printf("label=%s cache=%s pause_ms=%d size_mib=%d reads=%d read_s=%.4f "+
		"tick_n=%d tick_p50_ms=%.3f tick_p99_ms=%.3f tick_max_ms=%.3f "+
		"majflt_self=%d majflt_program=%d majflt_helpers=%d helper_threads=%d "+
		"resident_at_map_pct=%.1f resident_at_reads_pct=%.1f preload=%s\n",
		orDash(*label), *cache, pause.Milliseconds(), *sizeMiB, *reads, readTime.Seconds(),
		len(late), ms(quantile(late, 0.50)), ms(quantile(late, 0.99)), ms(quantile(late, 1)),
		ru.Majflt, programMajflt, helperMajflt, helpers,
		residentAtMap, residentAtReads, orDash(os.Getenv("LD_PRELOAD")))
}

// measureTicks records, for every tick until stop closes, how much later than
// one period after the previous tick it was received, and sends the list.
func measureTicks(period time.Duration, stop <-chan struct{}, out chan<- []time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	late := make([]time.Duration, 0, 1<<16)
	prev := time.Now()
	for {
		select {
		case <-stop:
			out <- late
			return
		case <-t.C:
			now := time.Now()
			d := now.Sub(prev) - period
			if d < 0 {
				d = 0
			}
			late = append(late, d)
			prev = now
		}
	}
}

// ensureFile leaves path alone when it already has size bytes, and otherwise
// writes size pseudo-random bytes to it and syncs them to disk.
func ensureFile(path string, size int64) error {
	if st, err := os.Stat(path); err == nil && st.Size() == size {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if _, err := io.CopyN(w, rand.New(rand.NewSource(42)), size); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// resident is the share of data's pages in the page cache, in percent.
func resident(data []byte) float64 {
	vec := make([]byte, (len(data)+pageSize-1)/pageSize)
	// x/sys/unix has no Mincore on linux/amd64 in the Debian package.
	_, _, errno := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(&data[0])),
		uintptr(len(data)), uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		return -1
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return 100 * float64(n) / float64(len(vec))
}

// threadMajflt sums field 12 (majflt) of /proc/self/task/*/stat, separately for
// prefault's helpers (name starting with "prefault") and the program's threads.
func threadMajflt() (program, helpers uint64, helperThreads int) {
	dirs, err := filepath.Glob("/proc/self/task/*")
	if err != nil {
		return 0, 0, 0
	}
	for _, dir := range dirs {
		comm, err1 := os.ReadFile(dir + "/comm")
		stat, err2 := os.ReadFile(dir + "/stat")
		if err1 != nil || err2 != nil {
			continue // the thread has gone
		}
		// Fields after the last ')' start at field 3 (state): majflt, field
		// 12, is the tenth of them.
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 10 {
			continue
		}
		n, err := strconv.ParseUint(fields[9], 10, 64)
		if err != nil {
			continue
		}
		if strings.HasPrefix(string(comm), "prefault") {
			helpers += n
			helperThreads++
		} else {
			program += n
		}
	}
	return program, helpers, helperThreads
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.5) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "coldread: "+format+"\n", args...)
	os.Exit(1)
}
