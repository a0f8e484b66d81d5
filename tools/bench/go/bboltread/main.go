// bboltread - random Gets from a cold bbolt database after a start-up pause,
// for tools/bench/compare (issue 6).  bbolt (Debian's go.etcd.io/bbolt) maps
// the database with syscall.Mmap and hints MADV_RANDOM, so a preloaded mmap
// hook never sees the mapping: prefault finds it by discovery.
//
//	bboltread -db PATH -create -entries N      writes the database once:
//	    N values of 1000 pseudo-random bytes under 8-byte big-endian keys,
//	    FillPercent 1.0, NoSync, then one Sync.
//	bboltread -db PATH [-pause 300ms] [-gets 20000] [-seed 42] [-populate]
//	    opens it read-only (with -populate: Options.MmapFlags =
//	    syscall.MAP_POPULATE, so the mmap call reads the whole file), sleeps
//	    -pause, then does -gets Gets of random keys, each in its own read
//	    transaction, as a server would.  Prints one line of key=value:
//	    setup_ms (the Open), total_ms (the Gets), worst_ms, p99_ms, majflt
//	    (the program's own threads, prefault's left out, during the Gets).
//
// The harness makes the file cold or hot before it starts this program.
// Build dynamic so LD_PRELOAD applies: go build -ldflags=-linkmode=external.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "runtime/cgo" // dynamic, so LD_PRELOAD applies

	bolt "go.etcd.io/bbolt"
)

const valueSize = 1000

var bucket = []byte("v")

func key(i uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], i)
	return k[:]
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "bboltread: "+format+"\n", args...)
	os.Exit(1)
}

func create(path string, entries uint64) {
	os.Remove(path)
	db, err := bolt.Open(path, 0o644, &bolt.Options{NoSync: true, NoFreelistSync: true})
	if err != nil {
		fail("open: %v", err)
	}
	rng := rand.New(rand.NewSource(7))
	val := make([]byte, valueSize)
	const perTx = 20000
	for i := uint64(0); i < entries; i += perTx {
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			b.FillPercent = 1.0
			for j := i; j < i+perTx && j < entries; j++ {
				rng.Read(val)
				if err := b.Put(key(j), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			fail("update: %v", err)
		}
	}
	if err := db.Sync(); err != nil {
		fail("sync: %v", err)
	}
	if err := db.Close(); err != nil {
		fail("close: %v", err)
	}
}

// programMajflt sums field 12 (majflt) of /proc/self/task/*/stat over the
// program's threads (those whose name does not start with "prefault").
func programMajflt() uint64 {
	dirs, _ := filepath.Glob("/proc/self/task/*")
	var n uint64
	for _, dir := range dirs {
		comm, err1 := os.ReadFile(dir + "/comm")
		stat, err2 := os.ReadFile(dir + "/stat")
		if err1 != nil || err2 != nil || strings.HasPrefix(string(comm), "prefault") {
			continue
		}
		s := string(stat)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 10 {
			continue
		}
		v, _ := strconv.ParseUint(f[9], 10, 64)
		n += v
	}
	return n
}

func main() {
	path := flag.String("db", "", "database file")
	doCreate := flag.Bool("create", false, "write the database")
	entries := flag.Uint64("entries", 240000, "values to write with -create")
	pause := flag.Duration("pause", 300*time.Millisecond, "start-up pause between Open and the Gets")
	gets := flag.Int("gets", 20000, "random Gets")
	seed := flag.Int64("seed", 42, "seed of the keys")
	populate := flag.Bool("populate", false, "Options.MmapFlags = syscall.MAP_POPULATE")
	flag.Parse()
	if *path == "" {
		fail("-db is required")
	}
	if *doCreate {
		create(*path, *entries)
		return
	}

	opts := &bolt.Options{ReadOnly: true}
	if *populate {
		opts.MmapFlags = syscall.MAP_POPULATE
	}
	t0 := time.Now()
	db, err := bolt.Open(*path, 0o444, opts)
	if err != nil {
		fail("open: %v", err)
	}
	var n uint64
	if err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return fmt.Errorf("no bucket %q", bucket)
		}
		k, _ := b.Cursor().Last()
		if k == nil {
			return fmt.Errorf("empty bucket")
		}
		n = binary.BigEndian.Uint64(k) + 1
		return nil
	}); err != nil {
		fail("%v", err)
	}
	setup := time.Since(t0)
	time.Sleep(*pause)

	rng := rand.New(rand.NewSource(*seed))
	keys := make([]uint64, *gets)
	for i := range keys {
		keys[i] = uint64(rng.Int63n(int64(n)))
	}
	lat := make([]time.Duration, 0, *gets)
	var sum byte
	m0 := programMajflt()
	begin := time.Now()
	for _, k := range keys {
		g0 := time.Now()
		err := db.View(func(tx *bolt.Tx) error {
			v := tx.Bucket(bucket).Get(key(k))
			if len(v) != valueSize {
				return fmt.Errorf("key %d: %d bytes", k, len(v))
			}
			sum += v[valueSize/2]
			return nil
		})
		if err != nil {
			fail("get: %v", err)
		}
		lat = append(lat, time.Since(g0))
	}
	total := time.Since(begin)
	m1 := programMajflt()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := time.Duration(0)
	worst := time.Duration(0)
	if len(lat) > 0 {
		p99 = lat[(len(lat)*99+99)/100-1]
		worst = lat[len(lat)-1]
	}
	st, _ := os.Stat(*path)
	fmt.Printf("workload=bbolt size=%d entries=%d gets=%d pause_ms=%d populate=%t setup_ms=%.3f"+
		" total_ms=%.3f worst_ms=%.3f p99_ms=%.3f majflt=%d sum=%d\n",
		st.Size(), n, *gets, pause.Milliseconds(), *populate, ms(setup),
		ms(total), ms(worst), ms(p99), m1-m0, sum)
	db.Close()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
