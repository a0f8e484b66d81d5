// coldmap - a static Go program (built with CGO_ENABLED=0, so LD_PRELOAD never
// applies) for the companion's tests (tests/companion.bats). It maps a file the
// way bbolt does (syscall.Mmap, PROT_READ, MAP_SHARED, then MADV_RANDOM) and,
// by -mode:
//
//	read   pauses (-pause, then also until SIGUSR1 with -wait-usr1), then reads one
//	       byte at each of -reads random pages and prints key=value lines:
//	       majflt (getrusage RUSAGE_SELF around the read loop), read_ms, pid
//	exit   exits with -code -pause after mapping (then also once SIGUSR1
//	       came, with -wait-usr1; nothing read)
//	spawn  runs itself in read mode as a child (fork+exec) and exits with the
//	       child's status; the child's output is passed through
//	trap   no file: prints ready=1 and waits; SIGTERM exits 42, SIGINT 43
//
// With -ready PATH, "pid=N" is written to PATH once the file is mapped (or
// the traps set), so a test knows when to act.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

func die(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "coldmap: "+format+"\n", a...)
	os.Exit(99)
}

func majflt() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		die("getrusage: %v", err)
	}
	return ru.Majflt
}

func ready(path string) {
	if path == "" {
		return
	}
	if err := os.WriteFile(path+".tmp", []byte(fmt.Sprintf("pid=%d\n", os.Getpid())), 0o644); err != nil {
		die("%v", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		die("%v", err)
	}
}

func main() {
	mode := flag.String("mode", "read", "read, exit, spawn or trap")
	file := flag.String("file", "", "file to map")
	pause := flag.Duration("pause", time.Second, "pause between mapping and reading")
	waitUsr1 := flag.Bool("wait-usr1", false, "after -pause, also wait for SIGUSR1 (it may come earlier)")
	reads := flag.Int("reads", 20000, "random 1-byte reads")
	code := flag.Int("code", 0, "exit status of -mode exit")
	readyPath := flag.String("ready", "", "file written once mapped")
	flag.Parse()

	switch *mode {
	case "trap":
		c := make(chan os.Signal, 2)
		signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
		fmt.Println("ready=1")
		ready(*readyPath)
		select {
		case s := <-c:
			if s == syscall.SIGTERM {
				os.Exit(42)
			}
			os.Exit(43)
		case <-time.After(30 * time.Second):
			os.Exit(1)
		}
	case "spawn":
		args := []string{"-mode", "read", "-file", *file, "-pause", pause.String(),
			"-reads", fmt.Sprint(*reads)}
		if *readyPath != "" {
			args = append(args, "-ready", *readyPath)
		}
		if *waitUsr1 {
			args = append(args, "-wait-usr1")
		}
		cmd := exec.Command("/proc/self/exe", args...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		fmt.Printf("parent=%d\n", os.Getpid())
		if err := cmd.Run(); err != nil {
			if e, ok := err.(*exec.ExitError); ok {
				os.Exit(e.ExitCode())
			}
			die("spawn: %v", err)
		}
		os.Exit(0)
	case "read", "exit":
	default:
		die("unknown -mode %q", *mode)
	}

	var usr1 chan os.Signal
	if *waitUsr1 {
		usr1 = make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
	}
	f, err := os.Open(*file)
	if err != nil {
		die("%v", err)
	}
	st, err := f.Stat()
	if err != nil {
		die("%v", err)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		die("mmap: %v", err)
	}
	if err := syscall.Madvise(data, syscall.MADV_RANDOM); err != nil {
		die("madvise: %v", err)
	}
	f.Close()
	ready(*readyPath)
	if *mode == "exit" {
		time.Sleep(*pause)
		if *waitUsr1 {
			<-usr1
		}
		os.Exit(*code)
	}
	time.Sleep(*pause)
	if *waitUsr1 {
		<-usr1
	}

	pages := uint64(len(data) / 4096)
	x := uint64(0x9e3779b97f4a7c15)
	var sum byte
	before := majflt()
	t := time.Now()
	for i := 0; i < *reads; i++ {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		sum += data[(x*2685821657736338717)%pages*4096]
	}
	took := time.Since(t)
	after := majflt()
	fmt.Printf("pid=%d\nmajflt=%d\nread_ms=%.1f\nsum=%d\n", os.Getpid(), after-before,
		float64(took.Microseconds())/1000, sum)
}
