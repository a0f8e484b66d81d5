// Package gotest holds what the Go test programs share: cold random reads of
// a mapping and the program's own major faults, apart from prefault's.
package gotest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// Pause is how long a program waits between mapping its file and reading it:
// the time prefault has to bring the file in.
const Pause = 500 * time.Millisecond

// Reads is the number of random reads.
const Reads = 20000

// Rand is a small deterministic generator (xorshift64*).
type Rand uint64

func (r *Rand) Next() uint64 {
	x := uint64(*r)
	x ^= x >> 12
	x ^= x << 25
	x ^= x >> 27
	*r = Rand(x)
	return x * 2685821657736338717
}

// Mapped prints when and where a mapping was made (for discovery latency).
func Mapped(addr uintptr, length int) {
	fmt.Printf("mapped_at=%.6f\naddr=0x%x\nlen=%d\n",
		float64(time.Now().UnixNano())/1e9, addr, length)
}

// ReadRandom touches Reads random bytes of b and returns their sum.
func ReadRandom(b []byte) (sum uint64, took time.Duration) {
	r := Rand(0x9e3779b97f4a7c15)
	t := time.Now()
	for i := 0; i < Reads; i++ {
		sum += uint64(b[r.Next()%uint64(len(b))])
	}
	return sum, time.Since(t)
}

// statField returns field n (1-based, as in proc(5)) of a stat file.
func statField(path string, n int) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no ')'", path)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3
	if n-3 >= len(f) {
		return 0, fmt.Errorf("%s: short", path)
	}
	return strconv.ParseUint(f[n-3], 10, 64)
}

// Faults sums the major faults of the process's threads, those of
// prefault's own threads (named prefault*) apart.
func Faults() (program, helpers uint64, nprog, nhelp int) {
	tasks, _ := filepath.Glob("/proc/self/task/*")
	for _, t := range tasks {
		comm, err := os.ReadFile(t + "/comm")
		if err != nil {
			continue
		}
		mf, err := statField(t+"/stat", 12)
		if err != nil {
			continue
		}
		if strings.HasPrefix(string(comm), "prefault") {
			helpers += mf
			nhelp++
		} else {
			program += mf
			nprog++
		}
	}
	return
}

// Report prints the results as key=value lines.
func Report(sum uint64, took time.Duration) {
	p, h, np, nh := Faults()
	fmt.Printf("sum=%d\nread_ms=%.1f\nmajflt=%d\nthreads=%d\nhelper_majflt=%d\nhelper_threads=%d\n",
		sum, float64(took.Microseconds())/1000, p, np, h, nh)
}

// Die prints an error and exits.
func Die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, format+"\n", a...)
	os.Exit(1)
}

// ColdRead is what the syscall.Mmap programs do: maps path whole with
// syscall.Mmap (a raw system call: no hook sees it), hints MADV_RANDOM,
// settles, reads it at random and prints the report.
func ColdRead(path string) {
	f, err := os.Open(path)
	if err != nil {
		Die("%v", err)
	}
	st, err := f.Stat()
	if err != nil {
		Die("%v", err)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		Die("mmap: %v", err)
	}
	Mapped(uintptr(unsafe.Pointer(&b[0])), len(b))
	if err := syscall.Madvise(b, syscall.MADV_RANDOM); err != nil {
		Die("madvise: %v", err)
	}
	f.Close()
	Settle(path)
	Report(ReadRandom(b))
}
