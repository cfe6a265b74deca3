package items

import (
	"context"
	"fmt"
	"slices"
	"sync"

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

// exposureCounter holds the deliveries not yet written.
type exposureCounter struct {
	mu      sync.Mutex
	pending map[string]int64
	writing bool // a caller is writing batches until none is pending
}

// AddExposures counts one more delivery of each item in itemIDs. When
// another call of the process is writing, the deliveries join its next
// batch and AddExposures returns at once; otherwise it writes, and keeps
// writing what arrives meanwhile. A batch that fails stays pending for the
// next writer, and the error is returned. A Store from In counts inside its
// transaction.
func (s *Store) AddExposures(ctx context.Context, itemIDs []string) error {
	if len(itemIDs) == 0 {
		return nil
	}
	deliveries := map[string]int64{}
	for _, id := range itemIDs {
		deliveries[id]++
	}
	if s.inTx {
		return writeExposures(s.db.WithContext(ctx), deliveries)
	}
	c := s.exposures
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, n := range deliveries {
		c.pending[id] += n
	}
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
