// sysmmap FILE - maps FILE with syscall.Mmap (a raw system call: no libc,
// no hook sees it), hints MADV_RANDOM, waits, then reads it at random and
// reports the program's own major faults.
package main

import (
	"os"

	"../gotest"
	_ "runtime/cgo" // dynamic, so LD_PRELOAD applies
)

func main() {
	if len(os.Args) != 2 {
		gotest.Die("usage: sysmmap FILE")
	}
	gotest.ColdRead(os.Args[1])
}
