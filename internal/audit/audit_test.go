package audit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)

func appendN(t *testing.T, db *gorm.DB, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		err := db.Transaction(func(tx *gorm.DB) error {
			return audit.Append(tx, audit.Entry{
				Actor: "user-1", Action: "item.update", Subject: fmt.Sprintf("item:%d", i),
				Before: map[string]int{"v": i}, After: map[string]int{"v": i + 1}, At: t0.Add(time.Duration(i) * time.Second),
			})
		})
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	place(t, db)
}

// place runs the chainer once and checks that nothing is left unplaced.
func place(t *testing.T, db *gorm.DB) {
	t.Helper()
	if _, err := audit.Chain(context.Background(), db); err != nil {
		t.Fatalf("Chain: %v", err)
	}
	if n, err := audit.Unplaced(db); err != nil || n != 0 {
		t.Fatalf("Unplaced after Chain = %d, %v; want 0", n, err)
	}
}

func TestChain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		appendN(t, db, 5)
		if err := audit.Verify(db); err != nil {
			t.Fatalf("Verify on an intact log: %v", err)
		}
		got, err := audit.List(db, "item:3", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Seq != 4 || got[0].After != `{"v":4}` {
			t.Fatalf("List(item:3) = %+v, want the 4th entry with after {\"v\":4}", got)
		}
	})
}

func TestRolledBackChangeLeavesNoEntry(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		appendN(t, db, 2)
		boom := errors.New("boom")
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := audit.Append(tx, audit.Entry{Actor: "a", Action: "x", Subject: "s", At: t0}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("transaction error %v, want boom", err)
		}
		appendN(t, db, 1)
		if err := audit.Verify(db); err != nil {
			t.Fatalf("Verify after a rollback: %v", err)
		}
	})
}

func TestVerifyDetectsTampering(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		appendN(t, db, 3)
		// The log refuses UPDATE; a tamperer with raw access drops the
		// trigger first. Verify must still notice.
		drop := "DROP TRIGGER audit_log_no_update"
		if db.Dialector.Name() == "postgres" {
			drop += " ON audit_log"
		}
		if err := db.Exec(drop).Error; err != nil {
			t.Fatal(err)
		}
		for _, tamper := range []string{
			"UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2",
			// Taking an entry out of the chain leaves a hole in it.
			"UPDATE audit_log SET actor = 'a', pos = NULL, prev_hash = NULL, hash = NULL WHERE seq = 2",
		} {
			if err := db.Exec(tamper).Error; err != nil {
				t.Fatal(err)
			}
			if err := audit.Verify(db); !errors.Is(err, audit.ErrBroken) {
				t.Fatalf("Verify after %s = %v, want ErrBroken", tamper, err)
			}
		}
	})
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs <- db.Transaction(func(tx *gorm.DB) error {
					return audit.Append(tx, audit.Entry{Actor: "a", Action: "x", Subject: fmt.Sprint(i), At: t0})
				})
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("append: %v", err)
			}
		}
		place(t, db)
		if err := audit.Verify(db); err != nil {
			t.Fatalf("Verify after concurrent appends: %v", err)
		}
		if got, _ := audit.List(db, "", 100); len(got) != 20 {
			t.Fatalf("%d entries, want 20", len(got))
		}
	})
}

// TestAppendTakesNoTurnOnPostgres: on PostgreSQL an append is one INSERT
// that waits for no other decision, even one whose transaction is still
// open, and entries are placed in the order their transactions committed,
// whatever order they were written in.
func TestAppendTakesNoTurnOnPostgres(t *testing.T) {
	db := dbtest.Postgres(t)
	appendN(t, db, 2)

	first := db.Begin()
	if err := audit.Append(first, audit.Entry{Actor: "a", Action: "x", Subject: "first", At: t0}); err != nil {
		t.Fatal(err)
	}
	var statements int
	dbtest.OnStatements(t, db, func(*gorm.DB) { statements++ })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return audit.Append(tx, audit.Entry{Actor: "a", Action: "x", Subject: "second", At: t0})
	})
	if err != nil {
		t.Fatalf("an append beside an open one: %v", err)
	}
	if statements != 1 {
		t.Errorf("an append made %d statements, want 1", statements)
	}
	if n, err := audit.Chain(ctx, db); err != nil || n != 1 {
		t.Fatalf("Chain with the first append still open placed %d, %v; want 1", n, err)
	}
	if err := first.Commit().Error; err != nil {
		t.Fatal(err)
	}
	place(t, db)
	if err := audit.Verify(db); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	for subject, want := range map[string]int64{"second": 3, "first": 4} {
		got, err := audit.List(db, subject, 10)
		if err != nil || len(got) != 1 || !got[0].Placed() || *got[0].Pos != want {
			t.Fatalf("List(%s) = %+v, %v; want one entry placed at %d", subject, got, err, want)
		}
	}
}

// TestVerifyWhilePlacing: entries are placed while Verify reads the chain,
// and an intact chain reads as intact whenever Verify looks.
func TestVerifyWhilePlacing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		appendN(t, db, 3)
		stop := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				err := db.Transaction(func(tx *gorm.DB) error {
					return audit.Append(tx, audit.Entry{Actor: "a", Action: "x", Subject: fmt.Sprint(i), At: t0})
				})
				if err == nil {
					_, err = audit.Chain(context.Background(), db)
				}
				if err != nil {
					done <- err
					return
				}
			}
		}()
		for i := 0; i < 50; i++ {
			if err := audit.Verify(db); err != nil {
				close(stop)
				<-done
				t.Fatalf("Verify %d while entries are placed: %v", i, err)
			}
		}
		close(stop)
		if err := <-done; err != nil {
			t.Fatalf("appending: %v", err)
		}
	})
}

// TestVerifyFindsEntriesBeyondTheHead: an entry written placed after the
// last one, the head left as it was, is a break.
func TestVerifyFindsEntriesBeyondTheHead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		appendN(t, db, 2)
		if err := db.Exec(`INSERT INTO audit_log (seq, pos, at, actor, action, subject, prev_hash, hash) VALUES (100, 3, ?, 'a', 'x', 'forged', 'h', 'i')`, t0).Error; err != nil {
			t.Fatal(err)
		}
		if err := audit.Verify(db); !errors.Is(err, audit.ErrBroken) {
			t.Fatalf("Verify with an entry beyond the head = %v, want ErrBroken", err)
		}
	})
}

// TestChainerPlacesWhatIsWritten: the loop every PostgreSQL server runs
// places entries shortly after they commit.
func TestChainerPlacesWhatIsWritten(t *testing.T) {
	db := dbtest.Postgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		audit.RunChainer(ctx, db, 10*time.Millisecond, func(err error) { t.Errorf("chainer: %v", err) })
	}()
	defer func() { cancel(); <-done }()
	for i := 0; i < 5; i++ {
		if err := db.Transaction(func(tx *gorm.DB) error {
			return audit.Append(tx, audit.Entry{Actor: "a", Action: "x", Subject: fmt.Sprint(i), At: t0})
		}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := audit.Unplaced(db)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries still unplaced after 10 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := audit.Verify(db); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// TestRestoredUnplacedEntriesAreChained: a backup taken on PostgreSQL may
// hold entries not yet placed; restored into either dialect, Chain places
// them and later appends follow them.
func TestRestoredUnplacedEntriesAreChained(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		appendN(t, db, 2)
		for _, seq := range []int{7, 5} {
			if err := db.Exec(`INSERT INTO audit_log (seq, at, actor, action, subject) VALUES (?, ?, 'a', 'x', ?)`,
				seq, t0, fmt.Sprint("restored-", seq)).Error; err != nil {
				t.Fatal(err)
			}
		}
		if db.Dialector.Name() == "postgres" { // what a load does after inserting rows
			if err := db.Exec(`SELECT setval(pg_get_serial_sequence('audit_log', 'seq'), 8, false)`).Error; err != nil {
				t.Fatal(err)
			}
		}
		if n, err := audit.Unplaced(db); err != nil || n != 2 {
			t.Fatalf("Unplaced = %d, %v; want 2", n, err)
		}
		place(t, db)
		appendN(t, db, 1)
		if err := audit.Verify(db); err != nil {
			t.Fatalf("Verify: %v", err)
		}
		got, err := audit.List(db, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, r := range got {
			order = append(order, fmt.Sprintf("%d@%d", r.Seq, *r.Pos))
		}
		if fmt.Sprint(order) != "[8@5 7@4 5@3 2@2 1@1]" {
			t.Fatalf("entries (seq@pos, newest first) %v, want [8@5 7@4 5@3 2@2 1@1]", order)
		}
	})
}

// The hash of an entry holds for any text read back from either database:
// several bytes to a character, empty fields, newlines and colons inside a
// field.
func TestChainHoldsForAnyText(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		for i, e := range []audit.Entry{
			{Actor: "", Action: "x", Subject: "", At: t0},
			{Actor: "Zoë Ångström 田中", Action: "item.update", Subject: "item:é", Before: "line 1\nline 2: more", After: map[string]string{"ключ": "值"}, At: t0.Add(time.Nanosecond * 1500)},
			{Actor: "a:b", Action: "3:abc\n", Subject: "😀", After: []int{1, 2}, At: t0.Add(time.Hour)},
		} {
			if err := db.Transaction(func(tx *gorm.DB) error { return audit.Append(tx, e) }); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		place(t, db)
		if err := audit.Verify(db); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})
}
