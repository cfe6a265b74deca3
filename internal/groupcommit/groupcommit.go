// Package groupcommit writes concurrent requests together.
//
// Under load most of a small write's cost is the database's per statement
// and per commit, not the row. Requests that arrive while others are being
// written therefore wait for them and then go together, as one statement
// in one commit: an idle server writes each at once, a busy one several
// per round trip. Each request learns its outcome only after the commit
// that holds it.
//
// There is no background goroutine: the first request to find a free lane
// writes its batch, and when it is done hands the lane to the oldest
// request still waiting, which writes the next batch with everything
// queued by then. A Writer may also linger: while requests keep finding
// every lane busy, the one that finds a lane free waits a moment for
// company first.
package groupcommit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMax is the most requests in one batch of a Writer whose Max is
// zero.
const DefaultMax = 64

// CrowdMemory is how long a Writer that lingers goes on lingering after a
// request last found every lane busy: long enough to span the gaps between
// batches under load, short enough that a server past its peak soon
// writes each request at once again.
const CrowdMemory = time.Second

// WriteTimeout bounds the statement of one batch. It runs to its end even
// when the request of the caller writing it is cancelled: the other
// requests in it are not that caller's to give up.
const WriteTimeout = 30 * time.Second

// Writer gathers concurrent requests of type T into batches and writes
// each batch with Write. Requests whose keys are equal never share a batch:
// a later one goes in a later batch, so that one statement never changes a
// row twice. Its configuration must not change once it is in use.
type Writer[K comparable, T, R any] struct {
	// Lanes is how many batches are written at once; zero is one. With
	// more, batches are smaller, and the database spends on planning each
	// nearly what it spends on running it.
	Lanes int
	// Max is the most requests in one batch; zero is DefaultMax.
	Max int
	// Linger is how long a request that finds a free lane waits for others
	// before it writes, when some request found every lane busy less than
	// CrowdMemory ago: under load a batch then holds several requests
	// where it would hold one, and the database's cost per statement and
	// per commit is shared, while an idle server, or a caller that sends
	// one request after another, still has each written at once. Zero
	// never waits.
	Linger time.Duration
	// Key names what a request changes.
	Key func(T) K
	// Write writes a batch in one commit and returns each request's
	// result by its index in the batch; an error is every request's.
	Write func(ctx context.Context, batch []T) ([]R, error)

	mu          sync.Mutex
	waiting     []*queued[T, R]
	busy        int       // lanes held
	lastCrowded time.Time // when a request last found every lane busy, when Linger is set

	batches atomic.Int64
}

// queued is a request waiting for its batch. done receives its outcome,
// and before it, when the request is handed a lane (leading), a lead
// message: two at most, which its buffer holds.
type queued[T, R any] struct {
	item    T
	leading bool // guarded by the Writer's mu
	done    chan outcome[R]
}

type outcome[R any] struct {
	lead   bool // take the lane: write batches until this request is written
	result R
	err    error
}

// Do writes item together with whatever other requests are waiting and
// returns its result once the batch that holds it has committed. When ctx
// ends before the request is written, Do returns ctx's error, and a batch
// may still write the request, as with any statement cut short.
func (w *Writer[K, T, R]) Do(ctx context.Context, item T) (R, error) {
	q := &queued[T, R]{item: item, done: make(chan outcome[R], 2)}
	linger := false
	w.mu.Lock()
	w.waiting = append(w.waiting, q)
	if w.busy < max(w.Lanes, 1) {
		w.busy++
		q.leading = true
	}
	lead := q.leading
	if w.Linger > 0 {
		now := time.Now()
		if !lead {
			w.lastCrowded = now
		}
		linger = lead && now.Sub(w.lastCrowded) < CrowdMemory
	}
	w.mu.Unlock()
	if linger {
		// Company is likely: wait for it, whatever ctx says, as the lane
		// is this request's to write.
		time.Sleep(w.Linger)
	}
	if !lead {
		select {
		case o := <-q.done:
			if !o.lead {
				return o.result, o.err
			}
		case <-ctx.Done():
			if w.abandon(q) {
				var zero R
				return zero, ctx.Err()
			}
			<-q.done // the lane was handed to it meanwhile: it must write
		}
	}
	for {
		batch, taken := w.take(q)
		w.write(ctx, batch)
		if taken {
			break
		}
	}
	o := <-q.done // from its own batch, or from another lane's
	w.handOn()
	return o.result, o.err
}

// Batches is how many batches w has written.
func (w *Writer[K, T, R]) Batches() int64 { return w.batches.Load() }

// abandon removes q, whose caller gives up, from the waiting, unless a
// lane was handed to it; it reports whether it did.
func (w *Writer[K, T, R]) abandon(q *queued[T, R]) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if q.leading {
		return false
	}
	w.waiting = slices.DeleteFunc(w.waiting, func(x *queued[T, R]) bool { return x == q })
	return true
}

// take removes the next batch from the waiting: the oldest requests, at
// most one per key. It reports whether q is no longer waiting.
func (w *Writer[K, T, R]) take(q *queued[T, R]) (batch []*queued[T, R], taken bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	most := w.Max
	if most <= 0 {
		most = DefaultMax
	}
	seen := make(map[K]bool, min(len(w.waiting), most))
	batch = make([]*queued[T, R], 0, min(len(w.waiting), most))
	rest := w.waiting[:0]
	taken = true
	for _, x := range w.waiting {
		k := w.Key(x.item)
		if len(batch) == most || seen[k] {
			rest = append(rest, x)
			taken = taken && x != q
			continue
		}
		seen[k] = true
		batch = append(batch, x)
	}
	clear(w.waiting[len(rest):])
	w.waiting = rest
	return batch, taken
}

// handOn gives the lane to the oldest waiting request that holds none, or
// frees it.
func (w *Writer[K, T, R]) handOn() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, x := range w.waiting {
		if !x.leading {
			x.leading = true
			x.done <- outcome[R]{lead: true}
			return
		}
	}
	w.busy--
}

// write runs one batch and answers each of its requests.
func (w *Writer[K, T, R]) write(ctx context.Context, batch []*queued[T, R]) {
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), WriteTimeout)
	defer cancel()
	items := make([]T, len(batch))
	for i, q := range batch {
		items[i] = q.item
	}
	results, err := w.Write(ctx, items)
	if err == nil && len(results) != len(batch) {
		err = fmt.Errorf("groupcommit: %d results for a batch of %d", len(results), len(batch))
	}
	w.batches.Add(1)
	for i, q := range batch {
		o := outcome[R]{err: err}
		if err == nil {
			o.result = results[i]
		}
		q.done <- o
	}
}
