package items_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/items"
)

// threeItems makes a Store with three items, and returns their ids.
func threeItems(t *testing.T, db *gorm.DB) (*items.Store, []string) {
	t.Helper()
	store, program := newStore(t, db)
	var ids []string
	for range 3 {
		it, err := store.Create(context.Background(), "system", program, singleChoice())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
	}
	return store, ids
}

// exposuresOf reads the items' exposure counts.
func exposuresOf(t *testing.T, store *items.Store, ids []string) []int64 {
	t.Helper()
	var out []int64
	for _, id := range ids {
		it, err := store.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, it.Exposures)
	}
	return out
}

// TestExposuresInBatches holds the first writer of exposures in its
// statement while other starts count theirs: they return at once, the
// writer then writes all their deliveries in one more statement, and
// every delivery is counted once. A batch that fails is written by the
// next caller, with its own.
func TestExposuresInBatches(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, ids := threeItems(t, db)

		var (
			writes  atomic.Int64
			hold    = make(chan struct{})
			held    = make(chan struct{}, 1)
			failing atomic.Bool
		)
		err := db.Callback().Update().Before("gorm:update").Register("test:exposures", func(tx *gorm.DB) {
			if !strings.Contains(tx.Statement.SQL.String()+tx.Statement.Table, "items") {
				return
			}
			if failing.Load() {
				tx.AddError(errors.New("the database went away"))
				return
			}
			if writes.Add(1) == 1 {
				held <- struct{}{}
				<-hold
			}
		})
		if err != nil {
			t.Fatal(err)
		}

		const others = 8
		first := make(chan error, 1)
		go func() { first <- store.AddExposures(ctx, ids) }()
		<-held // the first batch is being written
		var wg sync.WaitGroup
		for range others {
			wg.Go(func() {
				if err := store.AddExposures(ctx, ids[:2]); err != nil {
					t.Errorf("a start while a batch is written: %v", err)
				}
			})
		}
		wg.Wait() // they returned without writing
		if n := writes.Load(); n != 1 {
			t.Errorf("%d statements before the first batch ended, want 1", n)
		}
		close(hold)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		if n := writes.Load(); n != 2 {
			t.Errorf("%d statements for %d starts, want 2: the first batch and the one that waited", n, others+1)
		}
		want := []int64{1 + others, 1 + others, 1}
		exposures := func() []int64 { return exposuresOf(t, store, ids) }
		if got := exposures(); !slices.Equal(got, want) {
			t.Errorf("exposures %v, want %v", got, want)
		}

		failing.Store(true)
		if err := store.AddExposures(ctx, ids[2:]); err == nil {
			t.Fatal("a failed batch reported no error")
		}
		failing.Store(false)
		if err := store.AddExposures(ctx, ids[2:]); err != nil {
			t.Fatal(err)
		}
		want[2] += 2
		if got := exposures(); !slices.Equal(got, want) {
			t.Errorf("after a failed batch and the next: exposures %v, want %v", got, want)
		}

		// Inside a transaction, the count is the transaction's.
		rollback := errors.New("roll back")
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := store.In(tx).AddExposures(ctx, ids); err != nil {
				return err
			}
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatal(err)
		}
		if got := exposures(); !slices.Equal(got, want) {
			t.Errorf("after a rolled-back transaction: exposures %v, want %v", got, want)
		}
	})
}

// TestExposuresWrittenBehind: a Store that writes its counts behind
// counts starts in memory and adds them in one statement later, or at
// once on FlushExposures; a write that fails keeps them for the next, and
// the write that comes due by itself writes them.
func TestExposuresWrittenBehind(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		store, ids := threeItems(t, db)
		exposures := func() []int64 { return exposuresOf(t, store, ids) }
		var writes atomic.Int64
		var failing atomic.Bool
		err := db.Callback().Update().Before("gorm:update").Register("test:behind", func(tx *gorm.DB) {
			if !strings.Contains(tx.Statement.SQL.String()+tx.Statement.Table, "items") {
				return
			}
			if failing.Load() {
				tx.AddError(errors.New("the database went away"))
				return
			}
			writes.Add(1)
		})
		if err != nil {
			t.Fatal(err)
		}

		// Not due within the test: only FlushExposures writes.
		store.WriteExposuresBehind(time.Hour)
		const starts = 12
		var wg sync.WaitGroup
		for range starts {
			wg.Go(func() {
				if err := store.AddExposures(ctx, ids[:2]); err != nil {
					t.Errorf("a start counting behind: %v", err)
				}
			})
		}
		wg.Wait()
		if err := store.AddExposures(ctx, ids); err != nil {
			t.Fatal(err)
		}
		if n := writes.Load(); n != 0 {
			t.Errorf("%d statements before the write behind, want none", n)
		}
		if got := exposures(); !slices.Equal(got, []int64{0, 0, 0}) {
			t.Errorf("before the write behind: exposures %v, want none yet", got)
		}
		failing.Store(true)
		if err := store.FlushExposures(ctx); err == nil {
			t.Fatal("a failed write reported no error")
		}
		failing.Store(false)
		if err := store.FlushExposures(ctx); err != nil {
			t.Fatal(err)
		}
		// Two numbers of deliveries (13 and 1): two statements.
		if n := writes.Load(); n != 2 {
			t.Errorf("%d statements for %d starts, want 2", n, starts+1)
		}
		want := []int64{starts + 1, starts + 1, 1}
		if got := exposures(); !slices.Equal(got, want) {
			t.Errorf("after the flush: exposures %v, want %v", got, want)
		}

		// Left to itself, the write comes due.
		store, _ = newStore(t, db)
		store.WriteExposuresBehind(10 * time.Millisecond)
		if err := store.AddExposures(ctx, ids[2:]); err != nil {
			t.Fatal(err)
		}
		want[2]++
		deadline := time.Now().Add(10 * time.Second)
		for got := exposures(); !slices.Equal(got, want); got = exposures() {
			if time.Now().After(deadline) {
				t.Fatalf("10 s after a start counted behind: exposures %v, want %v", got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
