// remap F G - keeps discovery's table true through raw system calls: maps
// 8 MiB of F with syscall.Mmap, unmaps its third and fourth MiB with a raw
// munmap, then maps 4 MiB of G over its second half with a raw
// mmap(MAP_FIXED) (VmSize does not change), then unmaps F's first 2 MiB and
// at once maps them again from F (the same file, offset and address).  With
// PREFAULT_STATS set, each step waits for the record that shows discovery
// saw it (gotest.Deadline at most; missed=STEP when it did not come).
// Prints addr=, the start of the mapping of F.
package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"

	"../gotest"
	_ "runtime/cgo" // dynamic, so LD_PRELOAD applies
)

const mib = 1 << 20

func main() {
	if len(os.Args) != 3 {
		gotest.Die("usage: remap F G")
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		gotest.Die("%v", err)
	}
	g, err := os.Open(os.Args[2])
	if err != nil {
		gotest.Die("%v", err)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, 8*mib, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		gotest.Die("mmap: %v", err)
	}
	a := uintptr(unsafe.Pointer(&b[0]))
	fmt.Printf("addr=0x%x\n", a)
	step("map F", func(r gotest.Record) bool {
		return r.Str("ev") == "map" && r.Addr() == a && r.Num("len") == 8*mib
	})
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, a+2*mib, 2*mib, 0); e != 0 {
		gotest.Die("munmap: %v", e)
	}
	step("munmap", func(r gotest.Record) bool {
		return r.Str("ev") == "unmap" && r.Addr() == a+2*mib
	})
	fixed(a+4*mib, 4*mib, g.Fd())
	step("map G", func(r gotest.Record) bool {
		return r.Str("ev") == "map" && r.Addr() == a+4*mib && r.Str("path") == os.Args[2]
	})
	// What is left of F, unmapped and mapped again at once, from the same
	// file at the same offset: a new mapping that looks like the old one.
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, a, 2*mib, 0); e != 0 {
		gotest.Die("munmap: %v", e)
	}
	fixed(a, 2*mib, f.Fd())
	step("map F again", func(r gotest.Record) bool {
		return r.Str("ev") == "map" && r.Addr() == a && r.Num("len") == 2*mib
	})
}

// fixed maps len bytes of fd at addr with a raw mmap(MAP_FIXED).
func fixed(addr, len, fd uintptr) {
	r, _, e := syscall.Syscall6(syscall.SYS_MMAP, addr, len, syscall.PROT_READ,
		syscall.MAP_SHARED|syscall.MAP_FIXED, fd, 0)
	if e != 0 || r != addr {
		gotest.Die("mmap fixed: %v", e)
	}
}

// step waits for the record that says discovery saw the step (with a
// report), or 200 ms (without); says which.
func step(what string, match func(gotest.Record) bool) {
	if os.Getenv("PREFAULT_STATS") == "" {
		time.Sleep(200 * time.Millisecond)
		return
	}
	if !gotest.WaitRecord(match) {
		fmt.Printf("missed=%s\n", what)
	}
}
