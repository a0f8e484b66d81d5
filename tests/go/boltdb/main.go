// boltdb create DB MIB - writes a bbolt database of about MIB MiB: values of
//                        1 MiB in bucket "v", a few transactions, NoSync.
// boltdb read DB       - opens it read-only (bbolt maps it with syscall.Mmap
//                        and hints MADV_RANDOM), waits, then reads 20k random
//                        bytes of random values and reports the program's own
//                        major faults.
// boltdb grow DB MIB   - opens it read-write (as etcd does after a restart),
//                        settles, then adds MIB values of 1 MiB: bbolt maps
//                        the file again, larger, past its mapping's size;
//                        with GOTEST_SETTLE=done it waits for prefault's done
//                        record of the new mapping; then reads as "read"
//                        does.  Prints addr= (first mapping), addr2= (last).
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"time"

	"../gotest"
	bolt "go.etcd.io/bbolt"
	_ "runtime/cgo" // dynamic, so LD_PRELOAD applies
)

const valueSize = 1 << 20

func key(i int) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(i))
	return k[:]
}

func create(path string, mib int) {
	os.Remove(path)
	db, err := bolt.Open(path, 0o644, &bolt.Options{NoSync: true, NoFreelistSync: true})
	if err != nil {
		gotest.Die("open: %v", err)
	}
	put(db, 0, mib)
	if err := db.Sync(); err != nil {
		gotest.Die("sync: %v", err)
	}
	if err := db.Close(); err != nil {
		gotest.Die("close: %v", err)
	}
}

func read(path string) {
	db, err := bolt.Open(path, 0, &bolt.Options{ReadOnly: true})
	if err != nil {
		gotest.Die("open: %v", err)
	}
	tx, err := db.Begin(false)
	if err != nil {
		gotest.Die("begin: %v", err)
	}
	bk := tx.Bucket([]byte("v"))
	if bk == nil {
		gotest.Die("no bucket v")
	}
	n := bk.Stats().KeyN
	gotest.Mapped(db.Info().Data, db.Info().PageSize)
	gotest.Settle(path)

	r := gotest.Rand(0x9e3779b97f4a7c15)
	var sum uint64
	t := time.Now()
	for i := 0; i < gotest.Reads; i++ {
		x := r.Next()
		v := bk.Get(key(int(x % uint64(n))))
		if v == nil {
			gotest.Die("missing key")
		}
		sum += uint64(v[(x>>32)%uint64(len(v))])
	}
	took := time.Since(t)
	gotest.Report(sum, took)
	tx.Rollback()
	db.Close()
}

// put adds values [from, to) to bucket "v", 32 a transaction.
func put(db *bolt.DB, from, to int) {
	val := make([]byte, valueSize)
	r := gotest.Rand(42)
	for i := range val {
		val[i] = byte(r.Next())
	}
	for i := from; i < to; i += 32 {
		err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("v"))
			if err != nil {
				return err
			}
			for j := i; j < i+32 && j < to; j++ {
				binary.BigEndian.PutUint64(val, uint64(j))
				if err := b.Put(key(j), val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			gotest.Die("update: %v", err)
		}
	}
}

func grow(path string, mib int) {
	db, err := bolt.Open(path, 0o644, &bolt.Options{NoSync: true, NoFreelistSync: true})
	if err != nil {
		gotest.Die("open: %v", err)
	}
	first := db.Info().Data
	fmt.Printf("addr=0x%x\n", first)
	gotest.Settle(path)
	n := 0
	db.View(func(tx *bolt.Tx) error { n = tx.Bucket([]byte("v")).Stats().KeyN; return nil })
	put(db, n, n+mib)
	last := db.Info().Data
	fmt.Printf("addr2=0x%x\n", last)
	if os.Getenv("GOTEST_SETTLE") == "done" {
		var id float64 = -1
		if !gotest.WaitRecord(func(r gotest.Record) bool {
			if r.Str("ev") == "map" && r.Addr() == last {
				id = r.Num("id")
			}
			return id >= 0 && r.Str("ev") == "done" && r.Num("id") == id
		}) {
			fmt.Printf("settle_timeout=1\n")
		}
	}
	db.Close()
	read(path)
}

func main() {
	switch {
	case len(os.Args) == 4 && os.Args[1] == "create":
		mib, err := strconv.Atoi(os.Args[3])
		if err != nil || mib <= 0 {
			gotest.Die("bad size %q", os.Args[3])
		}
		create(os.Args[2], mib)
	case len(os.Args) == 4 && os.Args[1] == "grow":
		mib, err := strconv.Atoi(os.Args[3])
		if err != nil || mib <= 0 {
			gotest.Die("bad size %q", os.Args[3])
		}
		grow(os.Args[2], mib)
	case len(os.Args) == 3 && os.Args[1] == "read":
		read(os.Args[2])
	default:
		gotest.Die("usage: boltdb create DB MIB | boltdb read DB | boltdb grow DB MIB")
	}
}
