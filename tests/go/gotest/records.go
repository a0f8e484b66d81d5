package gotest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Deadline bounds every wait for a record: long enough for the slowest
// machine (a record comes in well under a second here).  GOTEST_DEADLINE
// (seconds) shortens it, to see a test fail quickly on a broken library.
var Deadline = deadline()

func deadline() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("GOTEST_DEADLINE")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 300 * time.Second
}

// Record is one statistics record, decoded.
type Record map[string]interface{}

// Str and Num read a field ("" and -1 when absent).
func (r Record) Str(k string) string {
	s, _ := r[k].(string)
	return s
}

func (r Record) Num(k string) float64 {
	if v, ok := r[k].(float64); ok {
		return v
	}
	return -1
}

// Addr reads the "addr" field (a hex string).
func (r Record) Addr() uintptr {
	var a uintptr
	fmt.Sscanf(r.Str("addr"), "0x%x", &a)
	return a
}

// statsFile is the report PREFAULT_STATS names, when it is a plain file.
func statsFile() string {
	p := os.Getenv("PREFAULT_STATS")
	if p == "" || p == "stderr" || strings.HasPrefix(p, "fd:") {
		return ""
	}
	return strings.ReplaceAll(p, "%p", fmt.Sprint(os.Getpid()))
}

// Records reads the report as it is now (nil without one).
func Records() []Record {
	path := statsFile()
	if path == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// WaitRecord waits until the report holds a record match accepts, at most
// Deadline; false without a report or when none came.
func WaitRecord(match func(Record) bool) bool {
	if statsFile() == "" {
		return false
	}
	for end := time.Now().Add(Deadline); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		for _, r := range Records() {
			if match(r) {
				return true
			}
		}
	}
	return false
}

// Settle is the program's start-up between mapping path and reading it:
// Pause, and then, with GOTEST_SETTLE=done and a report, until prefault says
// it is done with the file (so that what the reads then fault on says what
// prefault brought in, on a disk of any speed).  Prints settle_ms.
func Settle(path string) {
	t := time.Now()
	time.Sleep(Pause)
	if os.Getenv("GOTEST_SETTLE") == "done" && !WaitRecord(func(r Record) bool {
		return r.Str("ev") == "done" && r.Str("path") == path
	}) {
		fmt.Printf("settle_timeout=1\n")
	}
	fmt.Printf("settle_ms=%.0f\n", float64(time.Since(t).Microseconds())/1000)
}
