// remap F G - keeps discovery's table true through raw system calls: maps
// 8 MiB of F with syscall.Mmap, unmaps its third and fourth MiB with a raw
// munmap, then maps 4 MiB of G over its second half with a raw
// mmap(MAP_FIXED) (VmSize does not change: only a full scan can see it),
// pausing between steps and 1.5 s at the end.  Prints addr=, the start of
// the mapping of F.
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
	time.Sleep(200 * time.Millisecond)
	if _, _, e := syscall.Syscall(syscall.SYS_MUNMAP, a+2*mib, 2*mib, 0); e != 0 {
		gotest.Die("munmap: %v", e)
	}
	time.Sleep(200 * time.Millisecond)
	r, _, e := syscall.Syscall6(syscall.SYS_MMAP, a+4*mib, 4*mib, syscall.PROT_READ,
		syscall.MAP_SHARED|syscall.MAP_FIXED, g.Fd(), 0)
	if e != 0 || r != a+4*mib {
		gotest.Die("mmap fixed: %v", e)
	}
	time.Sleep(1500 * time.Millisecond)
}
