package proctor

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/internal/valid"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newAttempt inserts the smallest program, exam, candidate and attempt the
// foreign keys need, and returns the attempt's id.
func newAttempt(tb testing.TB, db *gorm.DB) string {
	tb.Helper()
	now := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	prog, exam, user, attempt := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO programs (id, slug, name, created_at) VALUES (?, ?, 'P', ?)", []any{prog, "p-" + prog[:8], now}},
		{"INSERT INTO exams (id, program_id, slug, title, duration_seconds, created_at) VALUES (?, ?, 'e', 'E', 3600, ?)", []any{exam, prog, now}},
		{"INSERT INTO users (id, email, name, created_at) VALUES (?, ?, 'C', ?)", []any{user, user + "@example.com", now}},
		{"INSERT INTO attempts (id, exam_id, candidate_id, status, started_at, deadline) VALUES (?, ?, ?, 'in_progress', ?, ?)",
			[]any{attempt, exam, user, now, now.Add(time.Hour)}},
	} {
		if err := db.Exec(q.sql, q.args...).Error; err != nil {
			tb.Fatalf("%s: %v", q.sql, err)
		}
	}
	return attempt
}

func TestEventChainDetectsTampering(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 123456789, time.UTC)}
		log := NewLog(db, clk.Now)
		a := newAttempt(t, db)
		at := clk.Now().Add(-time.Second)
		for i := range 3 {
			if _, err := log.Record(ctx, a, []Event{{Kind: FocusLost, Detail: "x", ClientAt: &at}, {Kind: Heartbeat}}); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			clk.Add(10 * time.Second)
		}
		check, err := log.Verify(ctx, a)
		if err != nil || check.Events != 6 {
			t.Fatalf("Verify = %+v, %v; want 6 events, intact", check, err)
		}
		events, err := log.Events(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range events {
			if e.Seq != int64(i+1) || len(e.Hash) != 64 {
				t.Errorf("event %d: seq %d hash %q, want seq %d and a SHA-256", i, e.Seq, e.Hash, i+1)
			}
		}

		tamper := []struct {
			name string
			sql  string
		}{
			{"edited detail", "UPDATE proctor_events SET detail = 'nothing' WHERE attempt_id = ? AND seq = 3"},
			{"edited kind", "UPDATE proctor_events SET kind = 'heartbeat' WHERE attempt_id = ? AND seq = 1"},
			{"deleted middle", "DELETE FROM proctor_events WHERE attempt_id = ? AND seq = 4"},
			{"deleted tail", "DELETE FROM proctor_events WHERE attempt_id = ? AND seq = 6"},
		}
		for _, tc := range tamper {
			t.Run(tc.name, func(t *testing.T) {
				b := newAttempt(t, db)
				for range 3 {
					if _, err := log.Record(ctx, b, []Event{{Kind: FocusLost, Detail: "x"}, {Kind: Heartbeat}}); err != nil {
						t.Fatal(err)
					}
				}
				if err := db.Exec(tc.sql, b).Error; err != nil {
					t.Fatal(err)
				}
				if _, err := log.Verify(ctx, b); !errors.Is(err, ErrBroken) {
					t.Errorf("Verify after %s = %v, want ErrBroken", tc.name, err)
				}
			})
		}
		if _, err := log.Verify(ctx, a); err != nil {
			t.Errorf("the untouched attempt's chain: %v", err)
		}
	})
}

func TestEventChainConcurrentAppends(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		log := NewLog(db, time.Now)
		a := newAttempt(t, db)
		const writers, each = 8, 5
		recordAtOnce(t, slices.Repeat([]*Log{log}, writers), a, each, []Event{{Kind: Copy}, {Kind: Paste}})
		check, err := log.Verify(ctx, a)
		if err != nil || check.Events != writers*each*2 {
			t.Fatalf("Verify = %+v, %v; want %d events, intact", check, err, writers*each*2)
		}
	})
}

// TestRecordSharesStatementsAcrossAttempts records for many attempts at
// once through one Log, some of whose remembered heads another Log has
// moved: on PostgreSQL the appends share statements, and on both backends
// every chain holds all its events in order.
func TestRecordSharesStatementsAcrossAttempts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
		log, other := NewLog(db, clk.Now), NewLog(db, clk.Now)
		const attempts, moved, rounds = 24, 4, 5
		ids := make([]string, attempts)
		for i := range ids {
			ids[i] = newAttempt(t, db)
			if _, err := log.Record(ctx, ids[i], []Event{{Kind: Heartbeat}}); err != nil {
				t.Fatal(err)
			}
		}
		// Reads: the slow way reads the chain, appends onto a remembered
		// head only write.
		var statements atomic.Int64
		if err := db.Callback().Query().After("gorm:query").Register("test:reads", func(*gorm.DB) { statements.Add(1) }); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids[:moved] {
			if _, err := other.Record(ctx, id, []Event{{Kind: FocusLost}}); err != nil {
				t.Fatal(err)
			}
		}
		slowWay := statements.Swap(0) // the reads of moved appends the slow way
		var before int64
		if log.appends != nil {
			before = log.appends.writer.Batches()
		}
		atOnce(t, len(ids), rounds, func(i int) error {
			_, err := log.Record(ctx, ids[i], []Event{{Kind: Heartbeat}, {Kind: Copy, Detail: ids[i]}})
			return err
		})
		if log.appends != nil {
			if n := log.appends.writer.Batches() - before; n >= attempts*rounds {
				t.Errorf("%d statements for %d appends: want them shared", n, attempts*rounds)
			}
			// Only the appends onto the heads the other Log moved went
			// the slow way: a stale head fails no batch.
			if n := statements.Load(); n != slowWay {
				t.Errorf("%d reads of the chain, want %d: those of %d appends the slow way", n, slowWay, moved)
			}
		}
		sums, err := log.Summaries(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			want := 1 + 2*rounds
			if i < moved {
				want++
			}
			check, err := log.Verify(ctx, id)
			if err != nil || check.Events != want {
				t.Errorf("attempt %d: Verify = %+v, %v; want %d events, intact", i, check, err, want)
			}
			events, err := log.Events(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			for j, e := range events {
				if e.Seq != int64(j+1) {
					t.Errorf("attempt %d: event %d in the order received has seq %d", i, j+1, e.Seq)
					break
				}
				if e.Kind == Copy && e.Detail != id {
					t.Errorf("attempt %d: event %d is another attempt's: %q", i, j+1, e.Detail)
				}
			}
			if c := sums[id].Counts; c[Heartbeat] != 1+rounds || c[Copy] != rounds {
				t.Errorf("attempt %d: counts %v, want %d heartbeats and %d copies", i, c, 1+rounds, rounds)
			}
			if got, ok := log.Written(id); !ok || !reflect.DeepEqual(got, sums[id]) {
				t.Errorf("attempt %d: the Log wrote %+v (%v), the chain's summary is %+v", i, got, ok, sums[id])
			}
		}
	})
}

// TestFirstEventsShareStatements: on PostgreSQL an attempt's first events
// start its chain with one insert and go in the statements shared with
// other attempts, reading nothing; on both backends each chain holds them
// intact.
func TestFirstEventsShareStatements(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		log := NewLog(db, time.Now)
		const attempts = 24
		ids := make([]string, attempts)
		for i := range ids {
			ids[i] = newAttempt(t, db)
		}
		var reads atomic.Int64
		if err := db.Callback().Query().After("gorm:query").Register("test:first-reads", func(*gorm.DB) { reads.Add(1) }); err != nil {
			t.Fatal(err)
		}
		var before int64
		if log.appends != nil {
			before = log.appends.writer.Batches()
		}
		atOnce(t, attempts, 1, func(i int) error {
			_, err := log.Record(ctx, ids[i], []Event{{Kind: Heartbeat}, {Kind: FocusLost, Detail: ids[i]}})
			return err
		})
		if log.appends != nil {
			if n := reads.Load(); n != 0 {
				t.Errorf("first events read the chain %d times, want none", n)
			}
			if n := log.appends.writer.Batches() - before; n == 0 || n >= attempts {
				t.Errorf("%d statements for the first events of %d attempts: want them shared", n, attempts)
			}
		}
		if err := db.Callback().Query().Remove("test:first-reads"); err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			check, err := log.Verify(ctx, id)
			if err != nil || check.Events != 2 {
				t.Errorf("attempt %d: Verify = %+v, %v; want 2 events, intact", i, check, err)
			}
			if got, ok := log.Written(id); !ok || got.Counts[Heartbeat] != 1 || got.Counts[FocusLost] != 1 {
				t.Errorf("attempt %d: the Log wrote %+v (%v), want a heartbeat and a lost focus", i, got, ok)
			}
		}
		// A chain another Log started is not started again: its head is
		// read afresh, and the events go on after it.
		other := NewLog(db, time.Now)
		if _, err := other.Record(ctx, ids[0], []Event{{Kind: Copy}}); err != nil {
			t.Fatal(err)
		}
		if check, err := log.Verify(ctx, ids[0]); err != nil || check.Events != 3 {
			t.Errorf("after another Log's append: Verify = %+v, %v; want 3 events, intact", check, err)
		}
	})
}

// TestRecordAfterAFailedBatch: when a batch's statement fails (a deadlock
// with another instance's, say), each of its appends takes the slow way
// and is recorded once.
func TestRecordAfterAFailedBatch(t *testing.T) {
	db := dbtest.Postgres(t)
	ctx := t.Context()
	log := NewLog(db, time.Now)
	ids := make([]string, 4)
	for i := range ids {
		ids[i] = newAttempt(t, db)
		if _, err := log.Record(ctx, ids[i], []Event{{Kind: Heartbeat}}); err != nil {
			t.Fatal(err)
		}
	}
	// Batches of one and larger ones alike run on a closed pool.
	closed, err := sql.Open("pgx", "postgres://127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	gclosed, err := gorm.Open(postgres.New(postgres.Config{Conn: closed}), &gorm.Config{DisableAutomaticPing: true})
	if err != nil {
		t.Fatal(err)
	}
	log.appends.db, log.appends.gdb = closed, gclosed
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			for range 3 {
				if _, err := log.Record(ctx, id, []Event{{Kind: Paste}}); err != nil {
					t.Errorf("Record with every batch failing: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if check, err := log.Verify(ctx, id); err != nil || check.Events != 4 {
			t.Errorf("Verify = %+v, %v; want 4 events, intact", check, err)
		}
	}
}

// recordAtOnce records events each times through every log at once, one
// goroutine a log, and fails t on any error.
func recordAtOnce(t *testing.T, logs []*Log, attemptID string, each int, events []Event) {
	t.Helper()
	atOnce(t, len(logs), each, func(i int) error {
		_, err := logs[i].Record(t.Context(), attemptID, events)
		return err
	})
}

// atOnce calls record(i) each times in goroutine i of n, all at once, and
// fails t on any error.
func atOnce(t *testing.T, n, each int, record func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n*each)
	for i := range n {
		wg.Go(func() {
			for range each {
				errs <- record(i)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent record: %v", err)
		}
	}
}

func TestRecordRefusesServerKindsAndRecordsHeartbeatGaps(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
		log := NewLog(db, clk.Now)
		a := newAttempt(t, db)
		for _, kind := range []string{NoFace, SnapshotTaken, HeartbeatGap, "nonsense"} {
			_, err := log.Record(ctx, a, []Event{{Kind: Heartbeat}, {Kind: kind}})
			var fe *valid.Error
			if !errors.As(err, &fe) || fe.Field != "events[1].kind" {
				t.Errorf("Record(%s) = %v, want a field error on events[1].kind", kind, err)
			}
		}
		if _, err := log.Record(ctx, a, []Event{{Kind: Heartbeat}}); err != nil {
			t.Fatal(err)
		}
		clk.Add(30 * time.Second)
		if _, err := log.Record(ctx, a, []Event{{Kind: Heartbeat}}); err != nil {
			t.Fatal(err)
		}
		clk.Add(3 * time.Minute)
		got, err := log.Record(ctx, a, []Event{{Kind: Heartbeat}})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Kind != HeartbeatGap || got[0].Detail != "180 seconds without a heartbeat" {
			t.Fatalf("after three silent minutes Record = %+v, want a heartbeat gap of 180 s first", got)
		}
		sums, err := log.Summaries(ctx, []string{a})
		if err != nil {
			t.Fatal(err)
		}
		if s := sums[a]; s.Counts[HeartbeatGap] != 1 || s.Incidents != 1 {
			t.Errorf("summary %+v, want one heartbeat gap, the only incident", s)
		}
	})
}

func testImage(tb testing.TB, format string, w, h int) []byte {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{R: 200, A: 255})
	}
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, nil)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestCheckImage(t *testing.T) {
	jpg := testImage(t, "jpeg", 64, 48)
	cases := []struct {
		name string
		img  []byte
		want string // content type, or "" for refused
	}{
		{"jpeg", jpg, "image/jpeg"},
		{"png", testImage(t, "png", 32, 32), "image/png"},
		{"empty", nil, ""},
		{"html", []byte("<html><script>alert(1)</script></html>"), ""},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), ""},
		{"truncated jpeg", jpg[:20], ""},
		{"too wide", testImage(t, "png", MaxImageDimension+1, 1), ""},
		{"too large", append(append([]byte{}, jpg...), make([]byte, MaxImageBytes)...), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckImage(tc.img)
			if tc.want != "" {
				if err != nil || got.Type() != tc.want {
					t.Fatalf("CheckImage = %q, %v; want %s", got.Type(), err, tc.want)
				}
				return
			}
			var fe *valid.Error
			if !errors.As(err, &fe) || fe.Field != "image" {
				t.Fatalf("CheckImage = %q, %v; want a field error on image", got, err)
			}
		})
	}
}

// TestCheckImageRefusesEveryTruncation cuts a JPEG and a PNG at every
// length: no prefix is a whole image.
func TestCheckImageRefusesEveryTruncation(t *testing.T) {
	for _, format := range []string{"jpeg", "png"} {
		img := testImage(t, format, 40, 30)
		for n := 1; n < len(img); n++ {
			if _, err := CheckImage(img[:n]); err == nil {
				t.Fatalf("%s cut to %d of %d bytes was taken", format, n, len(img))
			}
		}
	}
}

func TestCheckImageStructure(t *testing.T) {
	jpg, pngImg := testImage(t, "jpeg", 64, 48), testImage(t, "png", 32, 32)
	changed := func(img []byte, change func([]byte) []byte) []byte {
		return change(append([]byte{}, img...))
	}
	// The PNG's first IDAT chunk: its data starts 8 bytes after its length.
	idat := bytes.Index(pngImg, []byte("IDAT")) + 4
	// The JPEG's scan: its entropy-coded data follows the SOS segment.
	sos := bytes.Index(jpg, []byte{0xFF, 0xDA})
	scan := sos + 2 + (int(jpg[sos+2])<<8 | int(jpg[sos+3]))
	cases := []struct {
		name string
		img  []byte
		ok   bool
	}{
		{"jpeg with bytes after its end", append(append([]byte{}, jpg...), "trailer"...), true},
		{"jpeg whose end marker is gone", jpg[:len(jpg)-2], false},
		{"jpeg whose scan is cut short but ended (pixels are not decoded)", changed(jpg, func(b []byte) []byte { return append(b[:scan+len(b[scan:])/2], 0xFF, 0xD9) }), true},
		{"jpeg with a segment longer than the file", changed(jpg, func(b []byte) []byte { b[4], b[5] = 0xFF, 0xF0; return b }), false},
		{"jpeg with data where a marker belongs", changed(jpg, func(b []byte) []byte { return append(b[:2], append([]byte{0x12}, b[2:]...)...) }), false},
		{"png with a byte of image data changed", changed(pngImg, func(b []byte) []byte { b[idat+2] ^= 0x40; return b }), false},
		{"png without its end", pngImg[:len(pngImg)-12], false},
		{"png with bytes after its end", append(append([]byte{}, pngImg...), "trailer"...), false},
		{"png without image data", changed(pngImg, func(b []byte) []byte { return append(b[:idat-8], b[len(b)-12:]...) }), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CheckImage(tc.img)
			var fe *valid.Error
			switch {
			case tc.ok && err != nil:
				t.Fatalf("CheckImage = %v; want the image taken", err)
			case !tc.ok && (!errors.As(err, &fe) || fe.Field != "image"):
				t.Fatalf("CheckImage = %v; want a field error on image", err)
			}
		})
	}
}

// FuzzCheckImage feeds CheckImage's structure walkers arbitrary bytes
// behind a valid header: they must refuse or take them, never panic, and
// whatever they take has the type its content shows.
func FuzzCheckImage(f *testing.F) {
	f.Add(testImage(f, "jpeg", 16, 8))
	f.Add(testImage(f, "png", 16, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := CheckImage(b)
		if err != nil {
			return
		}
		if img.Type() != http.DetectContentType(b) {
			t.Fatalf("taken as %s, content shows %s", img.Type(), http.DetectContentType(b))
		}
	})
}

// framesKept counts the webcam frames of an attempt whose image its
// record keeps.
func framesKept(t *testing.T, db *gorm.DB, attemptID string) int {
	t.Helper()
	var n int64
	if err := db.Raw("SELECT COUNT(*) FROM proctor_snapshots WHERE attempt_id = ? AND image IS NOT NULL AND blob_key = ''", attemptID).
		Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// snapshotsIn returns a Log on db and Snapshots that keep its images in a
// new directory, and that store.
func snapshotsIn(t *testing.T, db *gorm.DB, clk *clock) (*Log, *Snapshots, *blob.Local) {
	t.Helper()
	blobs, err := blob.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	log := NewLog(db, clk.Now)
	return log, NewSnapshots(log, blobs), blobs
}

func TestSnapshotsStoreFlagAndPurge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
		log, snaps, blobs := snapshotsIn(t, db, clk)
		a := newAttempt(t, db)
		img := testImage(t, "jpeg", 64, 48)
		zero, two, away := 0, 2, true
		cases := []struct {
			faces *int
			away  *bool
			want  []string
		}{
			{nil, nil, []string{SnapshotTaken}},
			{&zero, nil, []string{SnapshotTaken, NoFace}},
			{&two, nil, []string{SnapshotTaken, MultipleFaces}},
			{nil, &away, []string{SnapshotTaken, LookingAway}},
		}
		var ids []string
		for i, tc := range cases {
			s, events, err := snaps.Put(ctx, NewSnapshot{AttemptID: a, Kind: Webcam, Image: checked(t, img), Faces: tc.faces,
				LookingAway: tc.away, Retention: 24 * time.Hour})
			if err != nil {
				t.Fatalf("put %d: %v", i, err)
			}
			ids = append(ids, s.ID)
			var kinds []string
			for _, e := range events {
				kinds = append(kinds, e.Kind)
			}
			if len(kinds) != len(tc.want) || !equal(kinds, tc.want) {
				t.Errorf("put %d recorded %v, want %v", i, kinds, tc.want)
			}
			clk.Add(time.Minute)
		}
		if _, err := log.Verify(ctx, a); err != nil {
			t.Fatalf("chain after snapshots: %v", err)
		}
		s, body, err := snaps.Open(ctx, ids[1])
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(body)
		body.Close()
		if !bytes.Equal(got, img) || s.ContentType != "image/jpeg" || s.Faces == nil || *s.Faces != 0 {
			t.Errorf("Open = %+v and %d bytes, want the stored JPEG with 0 faces", s, len(got))
		}
		latest, err := snaps.Latest(ctx, []string{a})
		if err != nil || latest[a].ID != ids[3] {
			t.Errorf("Latest = %v, %v; want snapshot %s", latest, err, ids[3])
		}
		if n := framesKept(t, db, a); n != 4 {
			t.Errorf("%d images kept in their records, want 4", n)
		}

		// A day later the images are deleted; the records stay.
		clk.Add(24 * time.Hour)
		n, err := snaps.Purge(ctx)
		if err != nil || n != 4 {
			t.Fatalf("Purge = %d, %v; want 4", n, err)
		}
		if _, _, err := snaps.Open(ctx, ids[0]); !errors.Is(err, ErrSnapshotDeleted) {
			t.Errorf("Open after purge = %v, want ErrSnapshotDeleted", err)
		}
		if n := framesKept(t, db, a); n != 0 {
			t.Errorf("%d images kept after the purge, want none", n)
		}
		if files, err := blobs.List(ctx, "", time.Time{}); err != nil || len(files) != 0 {
			t.Errorf("webcam frames in the blob store: %v, %v", files, err)
		}
		list, err := snaps.OfAttempt(ctx, a)
		if err != nil || len(list) != 4 || list[0].DeletedAt == nil {
			t.Errorf("OfAttempt after purge = %d records, %v; want 4, marked deleted", len(list), err)
		}
		if n, err := snaps.Purge(ctx); err != nil || n != 0 {
			t.Errorf("second Purge = %d, %v; want 0", n, err)
		}
		entries, err := audit.List(db, "proctor_snapshots", 10)
		if err != nil || len(entries) != 1 || entries[0].Action != "proctoring.purge" || entries[0].Actor != "system:retention" {
			t.Errorf("audit of the purge = %+v, %v; want one proctoring.purge by system:retention", entries, err)
		}

		if _, _, err := snaps.Put(ctx, NewSnapshot{AttemptID: a, Kind: Webcam, Retention: time.Hour}); err == nil {
			t.Error("Put accepted an image CheckImage never saw")
		}
		if _, _, err := snaps.Open(ctx, "not-a-uuid"); !errors.Is(err, ErrSnapshotNotFound) {
			t.Errorf("Open(bad id) = %v, want ErrSnapshotNotFound", err)
		}
	})
}

// TestSnapshotsShareStatementsWithEvents puts webcam snapshots of many
// attempts at once, while their pages report events, through one Log,
// some of whose remembered heads another Log has moved: on PostgreSQL a
// snapshot's row and findings share statements with other attempts'
// appends, and on both backends every snapshot is recorded once, with its
// image and its findings in its attempt's chain.
func TestSnapshotsShareStatementsWithEvents(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
		log, snaps, _ := snapshotsIn(t, db, clk)
		other := NewLog(db, clk.Now)
		const attempts, moved, rounds = 16, 3, 3
		ids := make([]string, attempts)
		for i := range ids {
			ids[i] = newAttempt(t, db)
			if _, err := log.Record(ctx, ids[i], []Event{{Kind: Heartbeat}}); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids[:moved] {
			if _, err := other.Record(ctx, id, []Event{{Kind: FocusLost}}); err != nil {
				t.Fatal(err)
			}
		}
		img := checked(t, testImage(t, "jpeg", 32, 24))
		noFace := 0
		var mu sync.Mutex
		taken := map[string][]string{} // attempt → snapshot ids, as acknowledged
		snapshot := func(id string) error {
			s, events, err := snaps.Put(ctx, NewSnapshot{AttemptID: id, Kind: Webcam, Image: img, Faces: &noFace, Retention: time.Hour})
			if err != nil {
				return err
			}
			if got := kindsOf(events); !equal(got, []string{SnapshotTaken, NoFace}) || !strings.Contains(events[0].Detail, s.ID) {
				return fmt.Errorf("snapshot %s recorded %v (%q), want its %s and %s", s.ID, got, events[0].Detail, SnapshotTaken, NoFace)
			}
			mu.Lock()
			defer mu.Unlock()
			taken[id] = append(taken[id], s.ID)
			return nil
		}
		// Snapshots alone, then with a page's events on each attempt.
		var before int64
		if log.appends != nil {
			before = log.appends.writer.Batches()
		}
		atOnce(t, attempts, rounds, func(i int) error { return snapshot(ids[i]) })
		if log.appends != nil {
			if n := log.appends.writer.Batches() - before; n == 0 || n >= attempts*rounds-moved {
				t.Errorf("%d statements for %d snapshots onto remembered heads: want them shared", n, attempts*rounds-moved)
			}
		}
		atOnce(t, 2*attempts, rounds, func(i int) error {
			if i >= attempts {
				_, err := log.Record(ctx, ids[i-attempts], []Event{{Kind: Copy}})
				return err
			}
			return snapshot(ids[i])
		})
		for i, id := range ids {
			list, err := snaps.OfAttempt(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var stored []string
			for _, s := range list {
				stored = append(stored, s.ID)
				if _, body, err := snaps.Open(ctx, s.ID); err != nil {
					t.Errorf("attempt %d: snapshot %s has no image: %v", i, s.ID, err)
				} else {
					body.Close()
				}
			}
			slices.Sort(stored)
			want := slices.Sorted(slices.Values(taken[id]))
			if !slices.Equal(stored, want) {
				t.Errorf("attempt %d: snapshots stored %v, acknowledged %v", i, stored, want)
			}
			wantEvents := 1 + 5*rounds
			if i < moved {
				wantEvents++
			}
			if check, err := log.Verify(ctx, id); err != nil || check.Events != wantEvents {
				t.Errorf("attempt %d: Verify = %+v, %v; want %d events, intact", i, check, err, wantEvents)
			}
			sums, err := log.Summaries(ctx, []string{id})
			if err != nil {
				t.Fatal(err)
			}
			if c := sums[id].Counts; c[SnapshotTaken] != 2*rounds || c[NoFace] != 2*rounds || c[Copy] != rounds {
				t.Errorf("attempt %d: counts %v, want %d snapshots and faceless frames, %d copies", i, c, 2*rounds, rounds)
			}
		}
	})
}

// TestSnapshotsOnlyWhileOpen: a webcam frame with OpenUntil is recorded
// without asking Admit while its attempt is plainly open (on PostgreSQL;
// elsewhere Admit always decides), and through Admit when the attempt is
// held or past its deadline: recorded when Admit agrees, and when it
// refuses, not recorded and its image kept nowhere.
func TestSnapshotsOnlyWhileOpen(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
		log, snaps, blobs := snapshotsIn(t, db, clk)
		a := newAttempt(t, db) // in progress until 10:00
		img := checked(t, testImage(t, "jpeg", 32, 24))
		var asked int
		put := func(verdict error) error {
			_, _, err := snaps.Put(ctx, NewSnapshot{AttemptID: a, Kind: Webcam, Image: img, Retention: time.Hour,
				OpenUntil: clk.Now().Add(-time.Minute),
				Admit:     func(context.Context) error { asked++; return verdict }})
			return err
		}
		want := func(when string, recorded, wantAsked int) {
			t.Helper()
			if asked != wantAsked {
				t.Errorf("%s: Admit asked %d times, want %d", when, asked, wantAsked)
			}
			list, err := snaps.OfAttempt(ctx, a)
			if err != nil || len(list) != recorded {
				t.Errorf("%s: %d snapshots recorded (%v), want %d", when, len(list), err, recorded)
			}
			if n := framesKept(t, db, a); n != recorded {
				t.Errorf("%s: %d images kept, want %d", when, n, recorded)
			}
			if files, err := blobs.List(ctx, "", time.Time{}); err != nil || len(files) != 0 {
				t.Errorf("%s: webcam frames in the blob store: %v, %v", when, files, err)
			}
		}
		fast := log.appends != nil
		for range 2 {
			if err := put(nil); err != nil {
				t.Fatal(err)
			}
		}
		if fast {
			want("open", 2, 0)
		} else {
			want("open", 2, 2)
		}
		base := asked
		if err := db.Exec("UPDATE attempts SET held_at = ? WHERE id = ?", clk.Now(), a).Error; err != nil {
			t.Fatal(err)
		}
		if err := put(nil); err != nil {
			t.Fatal(err)
		}
		want("held", 3, base+1)
		if err := db.Exec("UPDATE attempts SET held_at = NULL WHERE id = ?", a).Error; err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Hour + 2*time.Minute) // past the deadline and the minute of grace
		closed := errors.New("closed")
		if err := put(closed); !errors.Is(err, closed) {
			t.Errorf("Put past the deadline = %v, want Admit's refusal", err)
		}
		want("past the deadline", 3, base+2)
		if check, err := log.Verify(ctx, a); err != nil || check.Events != 3 {
			t.Errorf("Verify = %+v, %v; want 3 events, intact", check, err)
		}
	})
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestRecordAcrossLogs: two Logs on one database, as two instances, append
// to one attempt's chain in turn and at once. Each appends onto the head it
// remembers without reading the chain (no query) while nobody else moved
// it, and reads afresh when someone did: the chain stays whole, and a
// heartbeat the other instance received is never mistaken for silence.
func TestRecordAcrossLogs(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := t.Context()
		var queries sync.Map // queries made by each Log, by its tag
		tagged := func(name string) *gorm.DB {
			return db.Session(&gorm.Session{NewDB: true}).Set("log", name)
		}
		if err := db.Callback().Query().After("gorm:query").Register("test:count", func(tx *gorm.DB) {
			if name, ok := tx.Get("log"); ok {
				n, _ := queries.LoadOrStore(name, new(int))
				*n.(*int)++
			}
		}); err != nil {
			t.Fatal(err)
		}
		readsBy := func(name string) int {
			n, ok := queries.Load(name)
			if !ok {
				return 0
			}
			return *n.(*int)
		}
		clk := &clock{t: time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)}
		a, b := NewLog(tagged("a"), clk.Now), NewLog(tagged("b"), clk.Now)
		attempt := newAttempt(t, db)
		// What a Log wrote last is the chain's summary right after it
		// wrote (read here by a Log of its own: the tagged ones count).
		wantWritten := func(l *Log, name string) {
			t.Helper()
			sums, err := NewLog(db, clk.Now).Summaries(ctx, []string{attempt})
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := l.Written(attempt); !ok || !reflect.DeepEqual(got, sums[attempt]) {
				t.Errorf("%s wrote %+v (known %v); the chain's summary is %+v", name, got, ok, sums[attempt])
			}
		}
		record := func(l *Log, name string, wantReads bool) []Event {
			t.Helper()
			before := readsBy(name)
			got, err := l.Record(ctx, attempt, []Event{{Kind: Heartbeat}})
			if err != nil {
				t.Fatal(err)
			}
			if read := readsBy(name) > before; read != wantReads {
				t.Errorf("%s at %s: read the chain %v, want %v", name, clk.Now().Format(time.TimeOnly), read, wantReads)
			}
			wantWritten(l, name)
			return got
		}
		// The first append starts the chain: on PostgreSQL with one insert
		// and no read, elsewhere the slow way.
		record(a, "a", a.appends == nil)
		clk.Add(40 * time.Second)
		record(a, "a", false) // its own head
		clk.Add(40 * time.Second)
		record(b, "b", true)
		clk.Add(40 * time.Second)
		// a last saw a heartbeat 80 s ago, but b got one 40 s ago.
		if got := record(a, "a", true); len(got) != 1 || got[0].Kind != Heartbeat {
			t.Errorf("a after b's heartbeat: %+v, want the heartbeat alone (no gap)", got)
		}
		clk.Add(90 * time.Second)
		if got := record(a, "a", false); len(got) != 2 || got[0].Kind != HeartbeatGap {
			t.Errorf("a after 90 silent seconds: %+v, want a gap, then the heartbeat", got)
		}
		// What the server records in another transaction moves the head too.
		if err := db.Transaction(func(tx *gorm.DB) error {
			_, _, err := appendChain(tx, attempt, []Event{{Kind: NoFace}}, clk.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Second)
		record(a, "a", true)
		// A snapshot through a's Snapshots moves the head a remembers.
		blobs, err := blob.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		before := readsBy("a")
		faces, away, taken := 2, true, clk.Now().Add(-time.Second)
		snap, found, err := NewSnapshots(a, blobs).Put(ctx, NewSnapshot{AttemptID: attempt, Kind: Webcam,
			Image: checked(t, testImage(t, "jpeg", 64, 48)), Faces: &faces, LookingAway: &away, TakenAt: &taken, Retention: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if readsBy("a") != before {
			t.Error("a snapshot read the chain that a remembers")
		}
		// As JSON: the same instants, whatever their locations.
		stored, err := NewSnapshots(b, blobs).Snapshot(ctx, snap.ID)
		if got, want := asJSON(t, stored), asJSON(t, snap); err != nil || got != want {
			t.Errorf("stored snapshot %s, %v; want %s", got, err, want)
		}
		if kinds := kindsOf(found); !slices.Equal(kinds, []string{SnapshotTaken, MultipleFaces, LookingAway}) {
			t.Errorf("snapshot recorded %v", kinds)
		}
		wantWritten(a, "a")
		if got, ok := b.Written(attempt); !ok || got.Counts[SnapshotTaken] != 0 {
			t.Errorf("b, which did not write the snapshot, knows %+v (%v); want its own last write, without it", got, ok)
		}
		clk.Add(time.Second)
		record(a, "a", false)

		at := time.Date(2026, 12, 4, 8, 59, 58, 123456789, time.UTC) // as the browser said, past microseconds
		recordAtOnce(t, []*Log{a, b}, attempt, 20, []Event{{Kind: Heartbeat}, {Kind: Copy, Detail: "selection: 'x'", ClientAt: &at}})
		check, err := a.Verify(ctx, attempt)
		// Seven heartbeats, a gap, the face check, the snapshot and its
		// two findings, then 40 × 2.
		if want := 7 + 1 + 1 + 3 + 80; err != nil || check.Events != want {
			t.Fatalf("Verify = %+v, %v; want %d events, intact", check, err, want)
		}
	})
}

// checked is img through CheckImage, which must take it.
func checked(t *testing.T, img []byte) Image {
	t.Helper()
	out, err := CheckImage(img)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func kindsOf(events []Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Kind
	}
	return out
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// BenchmarkCheckImage checks a player-sized webcam frame (640 × 480), and
// for scale decodes it as CheckImage once did.
func BenchmarkCheckImage(b *testing.B) {
	jpg := testImage(b, "jpeg", 640, 480)
	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			if _, err := CheckImage(jpg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("full-decode", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := image.Decode(bytes.NewReader(jpg)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRecordOnPostgres records a heartbeat for each of 8 attempts per
// core at once, as candidates' pages do, with and without batches (each
// append alone, as many at once as there are attempts).
func BenchmarkRecordOnPostgres(b *testing.B) {
	db := dbtest.Postgres(b)
	for _, batched := range []bool{false, true} {
		b.Run(fmt.Sprintf("batched=%v", batched), func(b *testing.B) {
			log := NewLog(db, time.Now)
			if !batched {
				log.appends.writer.Lanes, log.appends.writer.Max = 1000, 1
			}
			var next atomic.Int64
			ids := make([]string, 8*runtime.GOMAXPROCS(0))
			for i := range ids {
				ids[i] = newAttempt(b, db)
				if _, err := log.Record(b.Context(), ids[i], []Event{{Kind: Heartbeat}}); err != nil {
					b.Fatal(err)
				}
			}
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				id := ids[next.Add(1)-1]
				for pb.Next() {
					if _, err := log.Record(b.Context(), id, []Event{{Kind: Heartbeat}}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
