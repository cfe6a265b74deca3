package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/touchstone-assess/touchstone/internal/kv"
	"github.com/touchstone-assess/touchstone/internal/kv/kvtest"
	"github.com/touchstone-assess/touchstone/web"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// listen serves srv on a loopback port and returns its base URL.
func listen(t *testing.T, srv *web.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.App().Listener(ln) }()
	t.Cleanup(func() { srv.StopStreams(); _ = srv.App().ShutdownWithTimeout(5 * time.Second) })
	return "http://" + ln.Addr().String()
}

// liveStream opens an attempt's event stream, the candidate's, and
// returns its events.
func liveStream(t *testing.T, base, attemptID, token string) <-chan map[string]any {
	t.Helper()
	return eventStream(t, base+"/api/v1/attempts/"+attemptID+"/live", token)
}

// eventStream opens a stream of server-sent events at url as the holder of
// token, until the test ends, and returns its events (the data of each)
// after the stream's open event.
func eventStream(t *testing.T, url, token string) <-chan map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		t.Fatalf("stream %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan map[string]any, 32)
	opened := make(chan struct{})
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			line := sc.Text()
			if line == "event: open" {
				close(opened)
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok && data != "{}" {
				var e map[string]any
				if json.Unmarshal([]byte(data), &e) == nil {
					out <- e
				}
			}
		}
	}()
	select {
	case <-opened:
	case <-time.After(5 * time.Second):
		t.Fatalf("stream %s did not open", url)
	}
	return out
}

// redisInstances serves the fixture twice, as two server instances, each
// with a client of its own of one Redis (with the test's key prefix).
func redisInstances(t *testing.T, f *webtest.Fixture) (*web.Server, *web.Server) {
	t.Helper()
	url, prefix := kvtest.RedisURL(t), kvtest.TestPrefix(t)
	var stores [2]kv.Store
	for i := range stores {
		r, err := kv.NewRedis(url, kv.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		stores[i] = r
	}
	return f.Instance(t, stores[0]), f.Instance(t, stores[1])
}

// TestLiveControlAcrossInstances: a proctor's hold, added time, message and
// termination on one instance reach the candidate's stream on another
// within a second, through Redis; and through the in-process store on a
// single instance.
func TestLiveControlAcrossInstances(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		pairs := map[string]func(t *testing.T) (proctorSide, candidateSide *web.Server){
			"one instance": func(t *testing.T) (*web.Server, *web.Server) {
				srv := f.Instance(t, kv.NewMemory(time.Now))
				return srv, srv
			},
			"two instances on Redis": func(t *testing.T) (*web.Server, *web.Server) { return redisInstances(t, f) },
		}
		for name, open := range pairs {
			t.Run(name, func(t *testing.T) {
				proctorSide, candidateSide := open(t)
				pBase, cBase := listen(t, proctorSide), listen(t, candidateSide)
				cand := f.NewUser(t, "", "Live Candidate", "candidate")
				token := f.Token(t, cand)
				a := apiStart(t, f, token)
				events := liveStream(t, cBase, a.ID, token)
				proctor := f.Token(t, f.Users.Proctor)
				post := func(path string, body any) {
					t.Helper()
					req := webtest.NewRequest("POST", pBase+"/api/v1/attempts/"+a.ID+path, body)
					req.RequestURI = ""
					req.Header.Set("Authorization", "Bearer "+proctor)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("POST %s: %d", path, resp.StatusCode)
					}
				}
				want := func(typ string) map[string]any {
					t.Helper()
					select {
					case e := <-events:
						if e["type"] != typ {
							t.Fatalf("event %v, want %s", e, typ)
						}
						return e
					case <-time.After(time.Second):
						t.Fatalf("no %s event within a second", typ)
					}
					return nil
				}
				post("/hold", map[string]string{"reason": "check the room"})
				if e := want("hold"); e["remaining_seconds"] == nil {
					t.Fatalf("hold event without the time left: %v", e)
				}
				wantAPIStatus(t, apiCall(t, f, apiReq("PUT", "/api/v1/attempts/"+a.ID+"/responses/"+a.Items[0].ID, token, map[string]any{"answer": f.Keys[a.Items[0].ID]})), http.StatusConflict)
				post("/resume", nil)
				want("resume")
				post("/time", map[string]any{"minutes": 5, "reason": "camera outage"})
				want("time")
				post("/messages", map[string]string{"body": "Please keep your face in view."})
				if e := want("message"); e["message"] != "Please keep your face in view." {
					t.Fatalf("message event %v", e)
				}
				post("/terminate", map[string]string{"reason": "notes on the desk"})
				want("terminate")
				var r struct {
					Passed bool `json:"passed"`
				}
				resp := apiCall(t, f, apiReq("GET", "/api/v1/attempts/"+a.ID+"/result", token, nil))
				wantAPIStatus(t, resp, http.StatusOK)
				resp.JSON(t, &r)
				if r.Passed {
					t.Fatal("a terminated attempt passed")
				}
			})
		}
	})
}

// TestLiveControlRoles: only proctors act; a candidate cannot read another
// candidate's stream.
func TestLiveControlRoles(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		token := f.Token(t, f.Users.Candidate)
		a := apiStart(t, f, token)
		for _, path := range []string{"/hold", "/resume", "/terminate", "/messages"} {
			wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+path, token, map[string]string{"reason": "x", "body": "x"})), http.StatusForbidden)
		}
		wantAPIStatus(t, apiCall(t, f, apiReq("GET", "/api/v1/attempts/"+a.ID+"/messages", f.Token(t, f.Users.Candidate2), nil)), http.StatusNotFound)
		wantAPIStatus(t, apiCall(t, f, apiReq("POST", "/api/v1/attempts/"+a.ID+"/time", f.Token(t, f.Users.Proctor), map[string]any{"minutes": 0, "reason": "x"})), http.StatusUnprocessableEntity)
	})
}

// TestStreamPingsOnlyWhenSilent: a stream pings after StreamPing with
// nothing written, never while messages keep it busy.
// TestStreamEndsWhenThePageLeaves: a page that closes its stream (a
// submit, a closed tab) ends it on the server at once, not at the next
// ping a minute later; a stream still open stays open.
func TestStreamEndsWhenThePageLeaves(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		srv := f.Instance(t, kv.NewMemory(time.Now), func(c *web.Config) { c.StreamPing = time.Minute })
		base := listen(t, srv)
		token := f.Token(t, f.NewUser(t, "", "Leaving Candidate", "candidate"))
		a := apiStart(t, f, token)
		open := func() (leave func()) {
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/attempts/"+a.ID+"/live", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("stream: status %d", resp.StatusCode)
			}
			// Read the open event, so that the stream is running.
			if line, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil || !strings.HasPrefix(line, "retry:") {
				t.Fatalf("stream's first line: %q, %v", line, err)
			}
			return func() { cancel(); resp.Body.Close() }
		}
		streams := func(want float64, within time.Duration) {
			t.Helper()
			deadline := time.Now().Add(within)
			for {
				samples, _ := scrape(t, f)
				got := samples["touchstone_live_streams"]
				if got == want {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%v streams open on the server after %s, want %v", got, within, want)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		leaving := open()
		staying := open()
		defer staying()
		streams(2, 2*time.Second)
		leaving()
		streams(1, 2*time.Second)
		time.Sleep(300 * time.Millisecond)
		streams(1, 0)
	})
}

func TestStreamPingsOnlyWhenSilent(t *testing.T) {
	const silence = 800 * time.Millisecond
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		srv := f.Instance(t, kv.NewMemory(time.Now), func(c *web.Config) { c.StreamPing = silence })
		base := listen(t, srv)
		cand := f.NewUser(t, "", "Pinged Candidate", "candidate")
		token := f.Token(t, cand)
		a := apiStart(t, f, token)

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/attempts/"+a.ID+"/live", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		type line struct {
			text string
			at   time.Time
		}
		lines := make(chan line, 256)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if sc.Text() != "" {
					lines <- line{sc.Text(), time.Now()}
				}
			}
		}()
		next := func(within time.Duration) line {
			t.Helper()
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatal("the stream ended")
				}
				return l
			case <-time.After(within):
				t.Fatalf("nothing on the stream within %s", within)
			}
			return line{}
		}
		for l := next(5 * time.Second); l.text != "event: open"; l = next(5 * time.Second) {
		}
		if l := next(time.Second); l.text != "data: {}" {
			t.Fatalf("open event's data: %q", l.text)
		}
		// Silent: a ping, no sooner than StreamPing after the open event.
		opened := time.Now()
		if l := next(5 * time.Second); l.text != ": ping" || l.at.Sub(opened) < silence*3/4 {
			t.Fatalf("after %s of silence: %q, want a ping", l.at.Sub(opened), l.text)
		}
		// Busy for three times StreamPing: messages, no ping.
		proctor := f.Token(t, f.Users.Proctor)
		busyUntil := time.Now().Add(3 * silence)
		for i := 0; time.Now().Before(busyUntil); i++ {
			post := webtest.NewRequest("POST", base+"/api/v1/attempts/"+a.ID+"/messages", map[string]string{"body": fmt.Sprintf("Message %d", i)})
			post.RequestURI = ""
			post.Header.Set("Authorization", "Bearer "+proctor)
			r, err := http.DefaultClient.Do(post)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode != http.StatusOK {
				t.Fatalf("message %d: %d", i, r.StatusCode)
			}
			if l := next(5 * time.Second); l.text == ": ping" {
				t.Fatalf("a ping %s into a busy stream", time.Since(busyUntil.Add(-3*silence)))
			}
			time.Sleep(silence / 10)
		}
	})
}
