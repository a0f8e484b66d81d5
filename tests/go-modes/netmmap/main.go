// netmmap FILE - the program of tests/gomodes.bats's internal, external and
// PIE builds (tests/gomodes.mk builds it three ways).  It uses cgo only as
// the standard library does: it imports "net" and has no `import "C"`, so
// with CGO_ENABLED=1 Go links it internally unless told otherwise.  It maps
// FILE with syscall.Mmap (a raw system call: no hook sees it), hints
// MADV_RANDOM, waits, then reads it at random and reports the program's own
// major faults (tests/go/gotest).
package main

import (
	"fmt"
	"net"
	"os"

	"../../go/gotest"
)

func main() {
	if len(os.Args) != 2 {
		gotest.Die("usage: netmmap FILE")
	}
	// The use of "net" that keeps the import (and its cgo) in the binary.
	ip := net.ParseIP("127.0.0.1")
	if ip == nil || !ip.IsLoopback() {
		gotest.Die("net.ParseIP: %v", ip)
	}
	fmt.Printf("ip=%s\n", ip)
	gotest.ColdRead(os.Args[1])
}
