package items

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"gorm.io/gorm"
)

// Every start of an exam counts a delivery of each item on the form, and
// every start of an exam sharing a bank counts on the same rows. Written
// by each start in turn, those rows were the one place where all starts
// met: under load every database connection waited on them, and PostgreSQL,
// reading the rows in whatever order its plan chose, let two starts lock
// them in opposite orders and deadlock. So a Store counts in batches: the
// deliveries that arrive while one batch is written wait in memory and go
// in the next, one writer at a time in a process.
//
// A batch gathers only what arrives during a write, and starts spread over
// a ramp of sign-ins seldom meet one: each still paid a transaction of its
// own. A server therefore writes its counts behind (WriteExposuresBehind):
// a start only counts in memory, and a second later one statement adds
// what every start counted meanwhile. The counts are statistics of item
// exposure, recomputable from the responses; a crash loses at most that
// second of them, never an answer.

// exposureCounter holds the deliveries not yet written.
type exposureCounter struct {
	mu      sync.Mutex
	pending map[string]int64
	writing bool          // a caller is writing batches until none is pending
	behind  time.Duration // how long after a delivery it is written; zero is at once
	timer   *time.Timer   // the write behind that is due, if any
}

// WriteExposuresBehind makes AddExposures count in memory and return at
// once, and a write d later add every delivery counted meanwhile, in one
// statement (per number of deliveries); a write that fails is tried again
// d later. FlushExposures writes them at once, as a server shutting down
// does. It is set before the Store is used.
func (s *Store) WriteExposuresBehind(d time.Duration) {
	s.exposures.behind = d
}

// AddExposures counts one more delivery of each item in itemIDs. Written
// behind (WriteExposuresBehind), it only counts. Otherwise, when another
// call of the process is writing, the deliveries join its next batch and
// AddExposures returns at once; otherwise it writes, and keeps writing
// what arrives meanwhile. A batch that fails stays pending for the next
// writer, and the error is returned. A Store from In counts inside its
// transaction.
func (s *Store) AddExposures(ctx context.Context, itemIDs []string) error {
	if len(itemIDs) == 0 {
		return nil
	}
	if s.inTx {
		deliveries := map[string]int64{}
		for _, id := range itemIDs {
			deliveries[id]++
		}
		return writeExposures(s.db.WithContext(ctx), deliveries)
	}
	c := s.exposures
	c.mu.Lock()
	for _, id := range itemIDs {
		c.pending[id]++
	}
	if c.behind > 0 {
		if c.timer == nil {
			c.timer = time.AfterFunc(c.behind, s.writeBehind)
		}
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return s.FlushExposures(ctx)
}

// FlushExposures writes the deliveries counted and not yet written, and
// keeps writing what arrives meanwhile. When another call of the process
// is writing, it leaves them to that one and returns at once. A batch that
// fails stays pending, and the error is returned.
func (s *Store) FlushExposures(ctx context.Context) error {
	c := s.exposures
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing {
		return nil
	}
	c.writing = true
	defer func() { c.writing = false }()
	// The batch holds other candidates' deliveries: the caller leaving
	// must not cancel it.
	ctx = context.WithoutCancel(ctx)
	for len(c.pending) > 0 {
		batch := c.pending
		c.pending = map[string]int64{}
		c.mu.Unlock()
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error { return writeExposures(tx, batch) })
		c.mu.Lock()
		if err != nil {
			for id, n := range batch {
				c.pending[id] += n
			}
			return err
		}
	}
	return nil
}

// exposureWriteTimeout bounds a write behind, which no request waits for.
const exposureWriteTimeout = 30 * time.Second

// writeBehind is the write behind that is due: it writes what is pending,
// and when some is left (a failed write, or deliveries counted while
// another caller wrote) it is due again later.
func (s *Store) writeBehind() {
	ctx, cancel := context.WithTimeout(context.Background(), exposureWriteTimeout)
	defer cancel()
	_ = s.FlushExposures(ctx) // what fails stays pending, for the next
	c := s.exposures
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = nil
	if len(c.pending) > 0 {
		c.timer = time.AfterFunc(c.behind, s.writeBehind)
	}
}

// writeExposures adds the deliveries to the items' counts: a statement for
// each number of deliveries, usually one.
func writeExposures(db *gorm.DB, deliveries map[string]int64) error {
	byCount := map[int64][]string{}
	for id, n := range deliveries {
		byCount[n] = append(byCount[n], id)
	}
	for n, ids := range byCount {
		slices.Sort(ids)
		// UpdateColumn: a delivery is not a change of the item.
		err := db.Model(&itemRow{}).Where("id IN ?", ids).UpdateColumn("exposure_count", gorm.Expr("exposure_count + ?", n)).Error
		if err != nil {
			return fmt.Errorf("items: exposures: %w", err)
		}
	}
	return nil
}
