package audit_test

import (
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
		if err := db.Exec("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2").Error; err != nil {
			t.Fatal(err)
		}
		if err := audit.Verify(db); !errors.Is(err, audit.ErrBroken) {
			t.Fatalf("Verify after tampering = %v, want ErrBroken", err)
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
		if err := audit.Verify(db); err != nil {
			t.Fatalf("Verify after concurrent appends: %v", err)
		}
	})
}

// TestAppendHoldsTheHeadForOneStatementOnPostgres: every appender of the
// deployment waits on the head while another holds it, so on PostgreSQL an
// append is one statement (take the place, write the entry, move the head),
// and the chain it writes, hashed by the database, verifies like the other
// dialect's.
func TestAppendHoldsTheHeadForOneStatementOnPostgres(t *testing.T) {
	db := dbtest.Postgres(t)
	appendN(t, db, 2)
	var statements int
	dbtest.OnStatements(t, db, func(*gorm.DB) { statements++ })
	appendN(t, db, 1)
	if statements != 1 {
		t.Errorf("an append made %d statements, want 1", statements)
	}
	if err := audit.Verify(db); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	got, err := audit.List(db, "item:0", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].At.IsZero() || got[1].At.IsZero() || got[0].Hash == got[1].Hash {
		t.Fatalf("List(item:0) = %+v, want two distinct entries", got)
	}
}

// The hash of an entry is the same whoever computes it (Go on SQLite, the
// database on PostgreSQL) for any text: several bytes to a character,
// empty fields, newlines and colons inside a field.
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
		if err := audit.Verify(db); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})
}
