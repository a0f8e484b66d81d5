// Package main is libgocold.so (-buildmode=c-shared), the Go half of
// tests/gomodes.bats's c-shared test: a C program (../main.c) calls
// ColdRead, which does what the other Go test programs do in main.  The
// program is C; the Go runtime, and Go's build-id note, are in this library.
package main

import "C"

import "../../../go/gotest"

// ColdRead maps path with syscall.Mmap (a raw system call: no hook sees it),
// hints MADV_RANDOM, waits, reads it at random and prints the report
// (key=value lines).  It returns 0, or exits with 1 on an error.
//
//export ColdRead
func ColdRead(path *C.char) C.int {
	gotest.ColdRead(C.GoString(path))
	return 0
}

func main() {}
