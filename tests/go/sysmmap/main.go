// sysmmap FILE - maps FILE with syscall.Mmap (a raw system call: no libc,
// no hook sees it), hints MADV_RANDOM, waits, then reads it at random and
// reports the program's own major faults.
package main

import (
	"os"
	"syscall"
	"unsafe"

	"../gotest"
	_ "runtime/cgo" // dynamic, so LD_PRELOAD applies
)

func main() {
	if len(os.Args) != 2 {
		gotest.Die("usage: sysmmap FILE")
	}
	f, err := os.Open(os.Args[1])
	if err != nil {
		gotest.Die("%v", err)
	}
	st, err := f.Stat()
	if err != nil {
		gotest.Die("%v", err)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		gotest.Die("mmap: %v", err)
	}
	gotest.Mapped(uintptr(unsafe.Pointer(&b[0])), len(b))
	if err := syscall.Madvise(b, syscall.MADV_RANDOM); err != nil {
		gotest.Die("madvise: %v", err)
	}
	f.Close()
	gotest.Settle(os.Args[1])
	gotest.Report(gotest.ReadRandom(b))
}
