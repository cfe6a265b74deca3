package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// attemptView is what GET /api/v1/attempts/{id} answers that the tool uses.
type attemptView struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	Deadline         time.Time `json:"deadline"`
	ServerTime       time.Time `json:"server_time"`
	RemainingSeconds int       `json:"remaining_seconds"`
	Items            []struct {
		ItemID  string `json:"item_id"`
		Seq     int64  `json:"seq"`
		Content struct {
			Kind    string `json:"kind"`
			Options []struct {
				ID string `json:"id"`
			} `json:"options"`
		} `json:"content"`
	} `json:"items"`
	Proctoring struct {
		SnapshotSeconds int `json:"snapshot_seconds"`
	} `json:"proctoring"`
}

// answerable returns the attempt's items the tool answers: those whose
// answer is a choice among options.
func (a attemptView) answerable() []itemDesc {
	var out []itemDesc
	for _, it := range a.Items {
		switch it.Content.Kind {
		case "single_choice", "true_false", "multiple_response", "":
		default:
			continue
		}
		if len(it.Content.Options) == 0 {
			continue
		}
		d := itemDesc{ID: it.ItemID, Kind: it.Content.Kind}
		for _, o := range it.Content.Options {
			d.Options = append(d.Options, o.ID)
		}
		out = append(out, d)
	}
	return out
}

// itemDesc is an item the tool answers.
type itemDesc struct {
	ID      string
	Kind    string
	Options []string
}

// answer is the answer a candidate gives to item with sequence number seq
// of attempt: a function of the three, so that the database check can
// tell which change a stored answer came from.
type answer struct {
	Choice  string   `json:"choice,omitempty"`
	Choices []string `json:"choices,omitempty"`
}

func answerFor(attemptID string, it itemDesc, seq int64) answer {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%d", attemptID, it.ID, seq)
	v := h.Sum64()
	if it.Kind != "multiple_response" {
		return answer{Choice: it.Options[v%uint64(len(it.Options))]}
	}
	var out answer
	for i, o := range it.Options {
		if v>>(i+8)&1 == 1 {
			out.Choices = append(out.Choices, o)
		}
	}
	if len(out.Choices) == 0 {
		out.Choices = []string{it.Options[v%uint64(len(it.Options))]}
	}
	return out
}

// change is one save: the item's whole state with its sequence number.
type change struct {
	item    int
	seq     int64
	seconds float64
}

// candidate is one simulated candidate in the exam.
type candidate struct {
	r     *run
	c     *client
	rng   *rand.Rand
	att   attemptView
	items []itemDesc
	book  *attemptBook
	seq   int64
	// queue holds changes not yet acknowledged, one per item, in the
	// order the items were first changed (the player's pending map).
	queue   []change
	started time.Time
	closed  bool
	// seen is when att was read, for the resume check.
	seen time.Time
}

// snapshotJPEG is a webcam-like frame, made once: the size the page
// sends (640 × 480, quality 0.7), with a sensor's noise, which makes it
// about 35 KB, as a real frame.
var snapshotJPEG = sync.OnceValue(func() []byte {
	const w, h = 640, 480
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(7, 7))
	for y := range h {
		for x := range w {
			n := uint8(rng.IntN(24))
			img.Set(x, y, color.RGBA{uint8(60+x*80/w) + n, uint8(50+y*120/h) + n, uint8(90+(x+y)*60/(w+h)) + n, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 70}); err != nil {
		panic(err) // encoding to memory does not fail
	}
	return b.Bytes()
})

// paced runs n candidates through the exam with the configured pacing.
func (r *run) paced(ctx context.Context, n int) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !sleep(ctx, time.Duration(float64(r.cfg.Ramp)*float64(i)/float64(n))) {
				return
			}
			r.takeExam(ctx, i)
		}()
	}
	wg.Wait()
}

// begin signs candidate i in, starts the attempt and loads it as the
// player does; nil when that failed (the failure is recorded).
func (r *run) begin(ctx context.Context, i int) *candidate {
	n := r.cfg.FirstAccount + i
	k := &candidate{r: r, c: r.newClient(n), rng: rand.New(rand.NewPCG(r.cfg.Seed, uint64(n)))}
	if err := k.c.login(ctx, AccountEmail(n), r.cfg.Password); err != nil {
		return nil
	}
	var a attemptView
	if err := k.c.callJSON(ctx, EndpointStart, http.MethodPost, "/api/v1/exams/"+r.exam.ID+"/attempts", nil, http.StatusCreated, &a); err != nil {
		return nil
	}
	// The player's page then loads the attempt (GET, as load() does).
	if err := k.c.callJSON(ctx, EndpointView, http.MethodGet, "/api/v1/attempts/"+a.ID, nil, http.StatusOK, &k.att); err != nil {
		return nil
	}
	k.seen, k.started = time.Now(), time.Now()
	if k.att.Status != "in_progress" {
		r.problem("%s: attempt %s is %s right after the start", AccountEmail(n), a.ID, k.att.Status)
		return nil
	}
	if left := time.Duration(k.att.RemainingSeconds) * time.Second; r.cfg.Mode == ModePaced && left < r.cfg.Duration {
		r.problem("%s: the exam leaves %s, less than --duration %s: the attempt would close under the candidate", AccountEmail(n), left, r.cfg.Duration)
		return nil
	}
	k.items = k.att.answerable()
	if len(k.items) == 0 {
		r.problem("exam %s: no item answered by a choice among options", r.exam.Title)
		return nil
	}
	// As the player: numbers continue above every one the server holds.
	for _, it := range k.att.Items {
		k.seq = max(k.seq, it.Seq)
	}
	k.book = r.acks.attempt(k.att.ID, k.items)
	return k
}

// takeExam is one paced candidate's whole exam.
func (r *run) takeExam(ctx context.Context, i int) {
	k := r.begin(ctx, i)
	if k == nil {
		return
	}
	if r.inExam.up() == int64(r.cfg.Candidates) {
		r.rec.beginSteady(time.Now())
	}
	defer func() {
		r.inExam.down()
		r.rec.endSteady(time.Now()) // when the candidate left early
	}()
	cfg := r.cfg
	end := time.Now().Add(cfg.Duration)
	var streamDone sync.WaitGroup
	stopStream := func() {}
	startStream := func() {
		if !cfg.Live {
			return
		}
		streamCtx, cancel := context.WithCancel(ctx)
		stopStream = cancel
		streamDone.Add(1)
		go func() { defer streamDone.Done(); k.listen(streamCtx) }()
	}
	startStream()
	defer func() { stopStream(); streamDone.Wait() }()

	snapEvery := cfg.SnapshotEvery
	// snapGap is the least time from one snapshot's answer to the next
	// snapshot: the server takes one at most every half interval, counted
	// between the times it receives them, and a slow answer or the jitter
	// must not bring two closer than that.
	var snapGap time.Duration
	if s := k.att.Proctoring.SnapshotSeconds; s > 0 {
		snapGap = time.Duration(s)*time.Second/2 + time.Second
		snapEvery = max(snapEvery, snapGap)
	} else {
		r.snapshotsOff.Store(true)
		snapEvery = 0
	}
	now := time.Now()
	nextSave := now.Add(time.Duration(k.rng.Float64() * float64(cfg.SaveEvery)))
	nextEvents := now.Add(time.Duration(k.rng.Float64() * float64(cfg.EventEvery)))
	var nextSnap time.Time
	if snapEvery > 0 {
		nextSnap = now.Add(time.Duration(k.rng.Float64() * float64(snapEvery)))
	}
	var dropAt, backAt time.Time
	if k.rng.Float64() < cfg.Disconnect {
		dropAt = now.Add(time.Duration((0.3 + 0.3*k.rng.Float64()) * float64(cfg.Duration)))
	}
	offline := false
	for !k.closed {
		next := end
		for _, t := range []time.Time{nextSave, nextEvents, nextSnap, dropAt, backAt} {
			if !t.IsZero() && t.Before(next) {
				next = t
			}
		}
		if !sleep(ctx, time.Until(next)) {
			return
		}
		now := time.Now()
		if !now.Before(end) {
			break
		}
		switch {
		case !dropAt.IsZero() && !now.Before(dropAt):
			// The connection drops: the stream ends, answers queue.
			dropAt, backAt, offline = time.Time{}, now.Add(cfg.Offline), true
			stopStream()
			streamDone.Wait()
			r.disconnects.Add(1)
		case !backAt.IsZero() && !now.Before(backAt):
			backAt, offline = time.Time{}, false
			if !k.resume(ctx) {
				return
			}
			startStream()
			k.flush(ctx)
		case !now.Before(nextSave):
			nextSave = now.Add(jitter(k.rng, cfg.SaveEvery))
			k.answer()
			if !offline {
				k.flush(ctx)
			}
		case !now.Before(nextEvents):
			nextEvents = now.Add(jitter(k.rng, cfg.EventEvery))
			if !offline {
				k.events(ctx)
			}
		case !nextSnap.IsZero() && !now.Before(nextSnap):
			nextSnap = now.Add(jitter(k.rng, snapEvery))
			if !offline {
				k.snapshot(ctx)
				if earliest := time.Now().Add(snapGap); nextSnap.Before(earliest) {
					nextSnap = earliest
				}
			}
		}
	}
	// Time is up: the first candidate to get here ends the steady window,
	// before its last saves and its submit.
	r.rec.endSteady(time.Now())
	if k.closed {
		return
	}
	if offline {
		if !k.resume(ctx) {
			return
		}
	}
	// Before submitting, the player waits for its queue to drain.
	for range 5 {
		if k.flush(ctx); len(k.queue) == 0 || k.closed {
			break
		}
		if !sleep(ctx, time.Second) {
			return
		}
	}
	stopStream()
	streamDone.Wait()
	k.submit(ctx)
}

// answer changes one item's answer: a new sequence number, queued.
func (k *candidate) answer() {
	i := k.rng.IntN(len(k.items))
	k.seq++
	ch := change{item: i, seq: k.seq, seconds: float64(time.Since(k.started).Milliseconds()/100) / 10}
	k.book.sent(i, k.seq)
	for j := range k.queue {
		if k.queue[j].item == i {
			k.queue[j] = ch
			return
		}
	}
	k.queue = append(k.queue, ch)
}

// flush sends the queue in order, one request at a time, as the player's
// pump does; a change the server may take later stays queued.
func (k *candidate) flush(ctx context.Context) {
	for len(k.queue) > 0 && !k.closed {
		ch := k.queue[0]
		if !k.save(ctx, ch) {
			return
		}
		k.queue = k.queue[1:]
	}
}

// save sends one change; it reports whether the change is done with
// (acknowledged, or refused for good).
func (k *candidate) save(ctx context.Context, ch change) bool {
	it := k.items[ch.item]
	body := saveBody{Answer: answerFor(k.att.ID, it, ch.seq), Seconds: ch.seconds, Seq: ch.seq}
	var out struct {
		Seq     int64 `json:"seq"`
		Applied bool  `json:"applied"`
	}
	err := k.c.callJSON(ctx, EndpointSave, http.MethodPut, "/api/v1/attempts/"+k.att.ID+"/responses/"+url.PathEscape(it.ID), body, http.StatusOK, &out)
	var ce *callError
	switch {
	case err == nil:
		if out.Applied && out.Seq == ch.seq {
			k.book.ack(ch.item, ch.seq)
			k.r.saves.Add(1)
		} else if out.Seq < ch.seq {
			k.r.problem("attempt %s item %s: seq %d answered seq %d applied=%v: a newer change must be applied", k.att.ID, it.ID, ch.seq, out.Seq, out.Applied)
		}
		return true
	case errors.As(err, &ce) && ce.Status == http.StatusConflict && (ce.Reason == "409 closed" || ce.Reason == "409 attempt_closed"):
		k.closed = true
		return true
	case errors.As(err, &ce) && ce.Status >= 400 && ce.Status < 500 && ce.Status != 401 && ce.Status != 408 && ce.Status != 429 && ce.Reason != "409 held":
		return true // the server will never take it
	}
	return false // retried at the next flush
}

// events posts a batch of proctoring signals: the heartbeat, and now and
// then a focus lost and regained.
func (k *candidate) events(ctx context.Context) {
	now := time.Now().UTC()
	batch := eventsBody{Events: []pageEvent{{Kind: "heartbeat", At: now}}}
	if k.rng.IntN(10) == 0 {
		batch.Events = append(batch.Events, pageEvent{Kind: "focus_lost", At: now.Add(-2 * time.Second)},
			pageEvent{Kind: "focus_gained", At: now.Add(-time.Second)})
	}
	_ = k.c.callJSON(ctx, EndpointEvents, http.MethodPost, "/api/v1/attempts/"+k.att.ID+"/events", batch, http.StatusNoContent, nil)
}

// saveBody, eventsBody and pageEvent are the bodies the player sends,
// as types: encoding a map costs the tool several times more, and its
// CPU is the machine's it measures.
type saveBody struct {
	Answer  answer  `json:"answer"`
	Flagged bool    `json:"flagged"`
	Seconds float64 `json:"seconds"`
	Seq     int64   `json:"seq"`
}

type eventsBody struct {
	Events []pageEvent `json:"events"`
}

type pageEvent struct {
	Kind   string    `json:"kind"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
}

// snapshot posts a webcam frame with a face check that found one face.
func (k *candidate) snapshot(ctx context.Context) {
	q := url.Values{"faces": {"1"}, "looking_away": {"false"}, "taken_at": {time.Now().UTC().Format(time.RFC3339)}}
	_ = k.c.call(ctx, EndpointSnapshot, http.MethodPost, "/api/v1/attempts/"+k.att.ID+"/snapshots?"+q.Encode(), "image/jpeg", snapshotJPEG(), http.StatusCreated, nil)
}

// resume comes back after a disconnection: it re-reads the attempt and
// checks that its clock ran on as it should and that every acknowledged
// answer is there. It reports whether the candidate carries on.
func (k *candidate) resume(ctx context.Context) bool {
	var a attemptView
	if err := k.r.retry(ctx, func() error {
		return k.c.callJSON(ctx, EndpointResume, http.MethodGet, "/api/v1/attempts/"+k.att.ID, nil, http.StatusOK, &a)
	}); err != nil {
		return false
	}
	if a.Status != "in_progress" {
		k.r.problem("attempt %s is %s after a disconnection", k.att.ID, a.Status)
		return false
	}
	// The time left is what it was less the time away, to within the
	// whole seconds both readings are rounded to and the calls' latency.
	want := time.Duration(k.att.RemainingSeconds)*time.Second - time.Since(k.seen)
	got := time.Duration(a.RemainingSeconds) * time.Second
	if d := got - want; d > 3*time.Second || d < -3*time.Second {
		k.r.problem("attempt %s after a disconnection: %s left, want about %s", k.att.ID, got, want.Round(time.Second))
	}
	stored := map[string]int64{}
	for _, it := range a.Items {
		stored[it.ItemID] = it.Seq
	}
	for i, it := range k.items {
		if acked := k.book.acked(i); stored[it.ID] < acked {
			k.r.problem("attempt %s after a disconnection: item %s holds seq %d, below acknowledged %d", k.att.ID, it.ID, stored[it.ID], acked)
		}
	}
	k.att.RemainingSeconds, k.att.Status = a.RemainingSeconds, a.Status
	k.seen = time.Now()
	k.r.resumed.Add(1)
	return true
}

// submit ends the attempt as the candidate's Submit button does.
func (k *candidate) submit(ctx context.Context) {
	if err := k.r.retry(ctx, func() error {
		return k.c.callJSON(ctx, EndpointSubmit, http.MethodPost, "/api/v1/attempts/"+k.att.ID+"/submit", nil, http.StatusOK, nil)
	}); err == nil {
		k.r.completed.Add(1)
	}
	k.closed = true
}

// listen holds the attempt's event stream open until ctx is done,
// reopening it a second after the server ends it (the stream's retry);
// each time it opens it re-reads the attempt and the messages, as the
// player's syncWithProctor does.
func (k *candidate) listen(ctx context.Context) {
	r := k.r
	failures := 0
	for ctx.Err() == nil {
		var counted bool
		opened, err := k.c.stream(ctx, "/api/v1/attempts/"+k.att.ID+"/live", func() {
			counted = true
			r.streamsOpened.Add(1)
			r.openStreams.up()
			go func() {
				var a attemptView
				_ = k.c.callJSON(ctx, EndpointView, http.MethodGet, "/api/v1/attempts/"+k.att.ID, nil, http.StatusOK, &a)
				_ = k.c.callJSON(ctx, EndpointMessages, http.MethodGet, "/api/v1/attempts/"+k.att.ID+"/messages", nil, http.StatusOK, nil)
			}()
		})
		if counted {
			r.openStreams.down()
		}
		wait := time.Second
		if opened && err == nil {
			failures = 0
		} else {
			failures++
			wait = min(30*time.Second, time.Second<<min(failures, 5))
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// saturate has n candidates save answers back to back for the configured
// duration, once all have started; it returns how long they saved.
func (r *run) saturate(ctx context.Context, n int) time.Duration {
	ks := make([]*candidate, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); ks[i] = r.begin(ctx, i) }()
	}
	wg.Wait()
	start := time.Now()
	stop := start.Add(r.cfg.Duration)
	for _, k := range ks {
		if k == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) && ctx.Err() == nil && !k.closed {
				k.answer()
				k.flush(ctx)
			}
		}()
	}
	wg.Wait()
	saving := time.Since(start)
	for _, k := range ks {
		if k == nil || k.closed {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); k.flush(ctx); k.submit(ctx) }()
	}
	wg.Wait()
	return saving
}
