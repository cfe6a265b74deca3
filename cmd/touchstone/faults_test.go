package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"
)

// saveAnswer is the body of a save of a multiple-choice answer.
func saveAnswer(choice string, seq int64) map[string]any {
	return map[string]any{"answer": map[string]string{"choice": choice}, "seq": seq}
}

type savedReply struct {
	Applied bool  `json:"applied"`
	Seq     int64 `json:"seq"`
}

// sentLog records, per item, the choice sent with each seq and the
// highest seq the server acknowledged as applied.
type sentLog struct {
	mu    sync.Mutex
	sent  map[string]map[int64]string
	acked map[string]int64
}

func newSentLog() *sentLog {
	return &sentLog{sent: map[string]map[int64]string{}, acked: map[string]int64{}}
}

func (l *sentLog) send(item string, seq int64, choice string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent[item] == nil {
		l.sent[item] = map[int64]string{}
	}
	l.sent[item][seq] = choice
}

func (l *sentLog) ack(item string, seq int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.acked[item] = max(l.acked[item], seq)
}

// check compares what the server holds with what was acknowledged: every
// acknowledged save is there or overtaken by a later one that was sent
// (a save in flight may be committed without its answer arriving).
func (l *sentLog) check(t *testing.T, a contractAttempt) (acked int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, it := range a.Items {
		want := l.acked[it.ItemID]
		if want == 0 {
			continue
		}
		acked++
		var got struct {
			Choice string `json:"choice"`
		}
		_ = json.Unmarshal(it.Answer, &got)
		switch {
		case it.Seq < want:
			t.Errorf("item %s: the server holds seq %d, but seq %d was acknowledged: an acknowledged answer was lost", it.ItemID, it.Seq, want)
		case l.sent[it.ItemID][it.Seq] == "":
			t.Errorf("item %s: the server holds seq %d, which was never sent", it.ItemID, it.Seq)
		case got.Choice != l.sent[it.ItemID][it.Seq]:
			t.Errorf("item %s: the server holds %s at seq %d, but %q was sent with it", it.ItemID, it.Answer, it.Seq, l.sent[it.ItemID][it.Seq])
		}
	}
	return acked
}

// saveLoad runs workers that save answers to the attempt's items until
// stop is closed or the server stops answering, each worker on its own
// items with growing seqs and alternating choices. It returns the
// statuses seen.
func saveLoad(s *server, token string, a contractAttempt, workers int, log *sentLog, stop <-chan struct{}, onReply func(reply)) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var seq int64
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				// Worker w owns items w, w+workers, …
				i := w + (n%((len(a.Items)-w+workers-1)/workers))*workers
				it := a.Items[i]
				seq++
				choice := it.Content.Options[int(seq)%len(it.Content.Options)].ID
				log.send(it.ItemID, seq, choice)
				r, err := s.try("PUT", "/api/v1/attempts/"+a.ID+"/responses/"+it.ItemID, token, saveAnswer(choice, seq))
				if onReply != nil {
					onReply(r)
				}
				if err != nil {
					if onReply == nil {
						return // the server is gone
					}
					time.Sleep(50 * time.Millisecond)
					continue
				}
				var out savedReply
				if r.Status == http.StatusOK && json.Unmarshal(r.Body, &out) == nil && out.Applied {
					log.ack(it.ItemID, seq)
				}
			}
		}()
	}
	return &wg
}

// A server killed with SIGKILL while candidates save answers loses none it
// acknowledged: after a restart on the same database every save answered
// "applied" is stored, the deadline has not moved, the remaining time is
// deadline − now, and the attempt goes on to its result.
func TestKillMidExamLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9: starts the whole server as a process twice (-short skips it)")
	}
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			s := newServer(t, backend, nil)
			s.launchProcess(t)
			s.addr = s.URL[len("http://"):]
			token := s.login(t, "candidate@example.com")
			e := s.exam(t, token, "Formulas")
			var started attempt
			if st := s.call(t, "POST", "/api/v1/exams/"+e.ID+"/attempts", token, nil, &started); st != http.StatusCreated {
				t.Fatalf("start: status %d", st)
			}
			before := s.attempt(t, token, started.ID)

			log := newSentLog()
			stop := make(chan struct{})
			wg := saveLoad(s, token, before, 6, log, stop, nil)
			// Let the load run, then kill the server in the middle of it.
			deadline := time.Now().Add(20 * time.Second)
			for {
				log.mu.Lock()
				n := len(log.acked)
				log.mu.Unlock()
				if n >= len(before.Items)/2 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
			s.Kill()
			close(stop)
			wg.Wait()

			s.launchProcess(t)
			token = s.login(t, "candidate@example.com")
			after := s.attempt(t, token, started.ID)
			now := time.Now()
			acked := log.check(t, after)
			if acked == 0 {
				t.Fatal("no save was acknowledged before the kill: the test measured nothing")
			}
			t.Logf("%d items had acknowledged saves before SIGKILL; all kept", acked)
			if after.Status != "in_progress" {
				t.Fatalf("attempt after the restart: status %q, want in_progress", after.Status)
			}
			if !after.Deadline.Equal(before.Deadline) {
				t.Errorf("deadline moved across the kill: %s, was %s", after.Deadline, before.Deadline)
			}
			want := after.Deadline.Sub(now).Seconds()
			if math.Abs(after.RemainingSeconds-want) > 2 || after.RemainingSeconds <= 0 {
				t.Errorf("remaining after the restart: %.1f s, want deadline − now = %.1f s (± 2 s)", after.RemainingSeconds, want)
			}
			// The attempt goes on: a new answer is taken, a replay is not,
			// and the submit scores it.
			it := after.Items[0]
			next := it.Seq + 1
			var got savedReply
			if st := s.call(t, "PUT", "/api/v1/attempts/"+started.ID+"/responses/"+it.ItemID, token, saveAnswer(it.Content.Options[0].ID, next), &got); st != http.StatusOK || !got.Applied {
				t.Fatalf("save after the restart: status %d, %+v; want applied", st, got)
			}
			if st := s.call(t, "PUT", "/api/v1/attempts/"+started.ID+"/responses/"+it.ItemID, token, saveAnswer(it.Content.Options[1].ID, next), &got); st != http.StatusOK || got.Applied {
				t.Fatalf("replay after the restart: status %d, %+v; want not applied", st, got)
			}
			var r result
			if st := s.call(t, "POST", "/api/v1/attempts/"+started.ID+"/submit", token, nil, &r); st != http.StatusOK {
				t.Fatalf("submit after the restart: status %d", st)
			}
			if r.Cut == 0 {
				t.Errorf("result after the restart: %+v, want a scored result", r)
			}
		})
	}
}

// statusCounts counts answers by status, for messages.
type statusCounts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *statusCounts) add(r reply, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]int{}
	}
	k := fmt.Sprint(r.Status)
	if err != nil {
		k = "error"
	}
	c.m[k]++
}

func (c *statusCounts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.m)
}
