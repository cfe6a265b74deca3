package groupcommit_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/internal/groupcommit"
)

// gated is a Writer whose batches are recorded and whose first batch
// waits until release is closed, so that a test can queue requests behind
// it. A request's result is its item times ten; item 13 fails its batch.
type gated struct {
	writer  groupcommit.Writer[int, int, int]
	release chan struct{}
	started chan struct{} // closed when the first batch is being written

	mu      sync.Mutex
	batches [][]int
}

func newGated(max int, key func(int) int) *gated {
	g := &gated{release: make(chan struct{}), started: make(chan struct{})}
	g.writer = groupcommit.Writer[int, int, int]{Max: max, Key: key,
		Write: func(ctx context.Context, batch []int) ([]int, error) {
			g.mu.Lock()
			first := len(g.batches) == 0
			g.batches = append(g.batches, slices.Clone(batch))
			g.mu.Unlock()
			if first {
				close(g.started)
				<-g.release
			}
			if slices.Contains(batch, 13) {
				return nil, errors.New("thirteen")
			}
			out := make([]int, len(batch))
			for i, v := range batch {
				out[i] = v * 10
			}
			return out, nil
		}}
	return g
}

func identity(v int) int { return v }

// queue starts Do for each item in turn after the first batch (item 0) is
// being written, waits until they all wait, then releases the first batch and
// returns every request's result and error by item.
func (g *gated) queue(t *testing.T, ctx context.Context, items ...int) (map[int]int, map[int]error) {
	t.Helper()
	results, errs := map[int]int{}, map[int]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	do := func(ctx context.Context, v int) {
		defer wg.Done()
		r, err := g.writer.Do(ctx, v)
		mu.Lock()
		results[v], errs[v] = r, err
		mu.Unlock()
	}
	wg.Add(1)
	go do(context.Background(), 0)
	<-g.started
	for i, v := range items {
		wg.Add(1)
		go do(ctx, v)
		waitFor(t, func() bool { return groupcommit.Waiting(&g.writer) == i+1 }) // queued in order
	}
	close(g.release)
	wg.Wait()
	return results, errs
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWriterBatchesWhatWaits(t *testing.T) {
	g := newGated(0, identity)
	results, errs := g.queue(t, context.Background(), 1, 2, 3, 4, 5)
	if got, want := fmt.Sprint(g.batches), "[[0] [1 2 3 4 5]]"; got != want {
		t.Errorf("batches %s, want %s", got, want)
	}
	for v := range 6 {
		if results[v] != v*10 || errs[v] != nil {
			t.Errorf("item %d: got %d, %v; want %d, nil", v, results[v], errs[v], v*10)
		}
	}
	if n := g.writer.Batches(); n != 2 {
		t.Errorf("Batches() = %d, want 2", n)
	}
}

func TestWriterKeepsKeysApartAndBatchesSmall(t *testing.T) {
	g := newGated(3, func(v int) int { return v % 4 })
	g.queue(t, context.Background(), 1, 5, 2, 3, 6, 7)
	// 1 and 5 share a key, as do 2 and 6, 3 and 7; at most three a batch.
	if got, want := fmt.Sprint(g.batches), "[[0] [1 2 3] [5 6 7]]"; got != want {
		t.Errorf("batches %s, want %s", got, want)
	}
}

func TestWriterFailsTheWholeBatchOnly(t *testing.T) {
	g := newGated(2, identity)
	results, errs := g.queue(t, context.Background(), 12, 13, 14)
	if errs[12] == nil || errs[13] == nil {
		t.Errorf("the batch with 13: errors %v, %v; want both to fail", errs[12], errs[13])
	}
	if results[14] != 140 || errs[14] != nil {
		t.Errorf("the next batch: got %d, %v; want 140, nil", results[14], errs[14])
	}
}

func TestWriterLetsAWaitingCallerGiveUp(t *testing.T) {
	g := newGated(0, identity)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := g.writer.Do(context.Background(), 0); done <- err }()
	<-g.started
	go func() { _, err := g.writer.Do(ctx, 1); done <- err }()
	waitFor(t, func() bool { return groupcommit.Waiting(&g.writer) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("the cancelled request: %v, want context.Canceled", err)
	}
	close(g.release)
	if err := <-done; err != nil {
		t.Errorf("the first request: %v", err)
	}
	if got, want := fmt.Sprint(g.batches), "[[0]]"; got != want {
		t.Errorf("batches %s, want %s: a request given up is not written", got, want)
	}
}

func TestWriterRefusesAShortAnswer(t *testing.T) {
	w := groupcommit.Writer[int, int, int]{Key: identity,
		Write: func(context.Context, []int) ([]int, error) { return nil, nil }}
	if _, err := w.Do(context.Background(), 1); err == nil {
		t.Error("a Write that returned no result for the request: no error")
	}
}

// written returns the batches g has written so far.
func (g *gated) written() [][]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.batches)
}

func TestWriterWritesRequestsOneAfterAnotherAtOnce(t *testing.T) {
	g := newGated(0, identity)
	g.writer.Linger = time.Hour
	close(g.release)
	w, batches := &g.writer, g.written
	done := make(chan error)
	go func() {
		for v := range 3 {
			if _, err := w.Do(context.Background(), v); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if want := [][]int{{0}, {1}, {2}}; err != nil || !slices.EqualFunc(batches(), want, slices.Equal) {
			t.Fatalf("Do = %v, batches %v; want %v", err, batches(), want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a request with no other in sight waited for company")
	}
}

func TestWriterLingersUnderLoad(t *testing.T) {
	g := newGated(0, identity)
	g.writer.Linger = 2 * time.Second
	w, batches := &g.writer, g.written
	var wg sync.WaitGroup
	do := func(v int) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := w.Do(context.Background(), v); err != nil {
				t.Error(err)
			}
		}()
	}
	// 2 finds the lane busy with 1: the writer is crowded.
	do(1)
	waitFor(t, func() bool { return len(batches()) == 1 })
	do(2)
	waitFor(t, func() bool { return groupcommit.Waiting(w) == 1 })
	close(g.release)
	wg.Wait()
	// So the next request to find the lane free waits for the two after it.
	for i, v := range []int{3, 4, 5} {
		do(v)
		waitFor(t, func() bool { return groupcommit.Waiting(w) == i+1 })
	}
	wg.Wait()
	if got, want := batches(), [][]int{{1}, {2}, {3, 4, 5}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("batches = %v, want %v", got, want)
	}
}
