// Package main is libgocold.so (-buildmode=c-shared), the Go half of
// tests/gomodes.bats's c-shared test: a C program (../main.c) calls
// ColdRead, which does what the other Go test programs do in main.  The
// program is C; the Go runtime, and Go's build-id note, are in this library.
package main

import "C"

import (
	"os"
	"syscall"
	"unsafe"

	"../../../go/gotest"
)

// ColdRead maps path with syscall.Mmap (a raw system call: no hook sees it),
// hints MADV_RANDOM, waits, reads it at random and prints the report
// (key=value lines).  It returns 0, or exits with 1 on an error.
//
//export ColdRead
func ColdRead(path *C.char) C.int {
	f, err := os.Open(C.GoString(path))
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
	gotest.Settle(C.GoString(path))
	gotest.Report(gotest.ReadRandom(b))
	return 0
}

func main() {}
