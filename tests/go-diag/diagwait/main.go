// diagwait FILE - a Go program for tests/diag.bats: maps FILE with
// syscall.Mmap (a raw system call: only discovery sees it), reads a few
// random pages, then waits until its statistics ($PREFAULT_STATS, a path,
// %p for the pid) hold the mapping's done record and a proc record after
// it, and leaves the way Go programs do: exit_group, no exit handlers, so
// prefault's destructor never runs.  Prints majflt=N (its reads' faults
// are not measured here: the report is what the test checks).
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "runtime/cgo" // dynamic, so LD_PRELOAD applies
)

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "diagwait: "+format+"\n", a...)
	os.Exit(99)
}

func main() {
	if len(os.Args) != 2 {
		die("usage: diagwait FILE")
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		die("%v", err)
	}
	st, err := f.Stat()
	if err != nil {
		die("%v", err)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		die("mmap: %v", err)
	}
	f.Close()
	time.Sleep(50 * time.Millisecond) // discovery finds it
	var sum uint64
	x := uint64(0x9e3779b97f4a7c15)
	for i := 0; i < 200; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		sum += uint64(b[x%uint64(len(b))])
	}
	path := strings.ReplaceAll(os.Getenv("PREFAULT_STATS"), "%p", strconv.Itoa(os.Getpid()))
	for i := 0; ; i++ {
		data, _ := os.ReadFile(path)
		s := string(data)
		if d := strings.Index(s, `"ev":"done"`); d >= 0 && strings.Contains(s[d:], `"ev":"proc"`) {
			break
		}
		if i == 600 {
			die("no done and proc records in %s after 60 s", path)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fmt.Printf("sum=%d\n", sum)
	os.Exit(0)
}
