// unixmmap FILE - maps FILE with golang.org/x/sys/unix.Mmap (what bbolt and
// mmap-go use: a raw system call, no hook sees it), hints MADV_RANDOM,
// waits, then reads it at random and reports the program's own major faults.
package main

import (
	"os"
	"unsafe"

	"../gotest"
	"golang.org/x/sys/unix"
	_ "runtime/cgo" // dynamic, so LD_PRELOAD applies
)

func main() {
	if len(os.Args) != 2 {
		gotest.Die("usage: unixmmap FILE")
	}
	fd, err := unix.Open(os.Args[1], unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		gotest.Die("open: %v", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		gotest.Die("fstat: %v", err)
	}
	b, err := unix.Mmap(fd, 0, int(st.Size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		gotest.Die("mmap: %v", err)
	}
	gotest.Mapped(uintptr(unsafe.Pointer(&b[0])), len(b))
	if err := unix.Madvise(b, unix.MADV_RANDOM); err != nil {
		gotest.Die("madvise: %v", err)
	}
	unix.Close(fd)
	gotest.Settle(os.Args[1])
	gotest.Report(gotest.ReadRandom(b))
}
