package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// The floor: a server that answers every request of a paced run at once,
// with a fixed answer and nothing behind it, on the HTTP stack the product
// serves with (fasthttp, under Fiber). Run against it, the load tool and
// this server show what a window of candidates costs a machine in HTTP
// alone; what the real server adds above that is the product's own cost.

// FloorExam is the title of the one exam the floor offers.
const FloorExam = "Floor"

// floorItems is the floor exam's length, that of the demo's Formulas.
const floorItems = 24

// FloorConfig configures ServeFloor.
type FloorConfig struct {
	// Ping is how long a stream stays silent before a ping, as the
	// server's web.Config.StreamPing (default 25 s).
	Ping time.Duration
	// SnapshotSeconds is the webcam snapshot interval the floor's attempts
	// ask for (default 30).
	SnapshotSeconds int
}

// ServeFloor answers the load tool's requests on ln until ctx is done.
func ServeFloor(ctx context.Context, ln net.Listener, cfg FloorConfig) error {
	if cfg.Ping <= 0 {
		cfg.Ping = 25 * time.Second
	}
	if cfg.SnapshotSeconds <= 0 {
		cfg.SnapshotSeconds = 30
	}
	f := &floor{cfg: cfg, stop: ctx.Done()}
	srv := &fasthttp.Server{Handler: f.serve, Name: "touchstone-floor", MaxRequestBodySize: 4 << 20}
	go func() {
		<-ctx.Done()
		_ = srv.ShutdownWithContext(context.Background())
	}()
	if err := srv.Serve(ln); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

type floor struct {
	cfg     FloorConfig
	stop    <-chan struct{}
	started atomic.Int64
	// attempts holds each attempt's *floorAttempt: the player checks,
	// after a disconnection, that the attempt holds what was acknowledged
	// and the time it had left.
	attempts sync.Map
}

// floorAttempt is an attempt's deadline, an hour after it was first seen,
// and the sequence numbers of its latest answers.
type floorAttempt struct {
	deadline time.Time
	mu       sync.Mutex
	seq      map[string]int64 // by item id
}

func (f *floor) attempt(id string) *floorAttempt {
	if a, ok := f.attempts.Load(id); ok {
		return a.(*floorAttempt)
	}
	a, _ := f.attempts.LoadOrStore(id, &floorAttempt{deadline: time.Now().Add(time.Hour), seq: map[string]int64{}})
	return a.(*floorAttempt)
}

func (f *floor) serve(c *fasthttp.RequestCtx) {
	path, get := string(c.Path()), c.IsGet()
	rest, isAttempt := strings.CutPrefix(path, "/api/v1/attempts/")
	id, sub, _ := strings.Cut(rest, "/")
	c.SetContentType("application/json")
	switch {
	case path == "/api/v1/session" && c.IsPost():
		c.SetStatusCode(fasthttp.StatusCreated)
		c.SetBodyString(`{"token":"floor","csrf_token":"floor"}`)
	case path == "/api/v1/exams" && get:
		c.SetBodyString(`[{"id":"floor","title":"` + FloorExam + `","mode":"fixed","item_count":` + strconv.Itoa(floorItems) +
			`,"standard":{"id":"floor"},"policy":{"prerequisites":[]}}]`)
	case path == "/api/v1/exams/floor/attempts" && c.IsPost():
		c.SetStatusCode(fasthttp.StatusCreated)
		c.SetBody(f.view("floor-" + strconv.FormatInt(f.started.Add(1), 10)))
	case !isAttempt || id == "":
		c.Error(`{"error":"not found"}`, fasthttp.StatusNotFound)
	case sub == "" && get:
		c.SetBody(f.view(id))
	case strings.HasPrefix(sub, "responses/") && c.IsPut():
		var in struct {
			Seq int64 `json:"seq"`
		}
		if json.Unmarshal(c.PostBody(), &in) != nil {
			c.Error(`{"error":"bad body"}`, fasthttp.StatusBadRequest)
			return
		}
		a := f.attempt(id)
		a.mu.Lock()
		item := strings.TrimPrefix(sub, "responses/")
		a.seq[item] = max(a.seq[item], in.Seq)
		a.mu.Unlock()
		c.SetBodyString(`{"seq":` + strconv.FormatInt(in.Seq, 10) + `,"applied":true}`)
	case sub == "events" && c.IsPost():
		c.SetStatusCode(fasthttp.StatusNoContent)
	case sub == "snapshots" && c.IsPost():
		c.SetStatusCode(fasthttp.StatusCreated)
		c.SetBodyString(`{}`)
	case sub == "messages" && get:
		c.SetBodyString(`[]`)
	case sub == "submit" && c.IsPost():
		c.SetBodyString(`{"status":"submitted"}`)
	case sub == "live" && get:
		f.stream(c)
	default:
		c.Error(`{"error":"not found"}`, fasthttp.StatusNotFound)
	}
}

// view is an attempt as GET /api/v1/attempts/{id} shows it: in
// progress until its deadline, every item a choice among four options
// with the sequence number of its latest answer.
func (f *floor) view(id string) []byte {
	type option struct {
		ID string `json:"id"`
	}
	type content struct {
		Kind    string   `json:"kind"`
		Options []option `json:"options"`
	}
	type item struct {
		ItemID  string  `json:"item_id"`
		Seq     int64   `json:"seq"`
		Content content `json:"content"`
	}
	a := f.attempt(id)
	now := time.Now().UTC()
	v := struct {
		ID               string    `json:"id"`
		Status           string    `json:"status"`
		Deadline         time.Time `json:"deadline"`
		ServerTime       time.Time `json:"server_time"`
		RemainingSeconds int       `json:"remaining_seconds"`
		Items            []item    `json:"items"`
		Proctoring       struct {
			SnapshotSeconds int `json:"snapshot_seconds"`
		} `json:"proctoring"`
	}{ID: id, Status: "in_progress", Deadline: a.deadline.UTC(), ServerTime: now, RemainingSeconds: int(a.deadline.Sub(now) / time.Second)}
	v.Proctoring.SnapshotSeconds = f.cfg.SnapshotSeconds
	a.mu.Lock()
	for i := range floorItems {
		itemID := fmt.Sprintf("item-%02d", i+1)
		v.Items = append(v.Items, item{ItemID: itemID, Seq: a.seq[itemID],
			Content: content{Kind: "single_choice", Options: []option{{"a"}, {"b"}, {"c"}, {"d"}}}})
	}
	a.mu.Unlock()
	b, _ := json.Marshal(v)
	return b
}

// stream holds an event stream open as the server does: the open event,
// a ping after each Ping of silence, the end after five minutes.
func (f *floor) stream(c *fasthttp.RequestCtx) {
	c.SetContentType("text/event-stream")
	c.SetBodyStreamWriter(func(w *bufio.Writer) {
		end := time.NewTimer(5 * time.Minute)
		defer end.Stop()
		idle := time.NewTimer(f.cfg.Ping)
		defer idle.Stop()
		fmt.Fprint(w, "retry: 1000\nevent: open\ndata: {}\n\n")
		for w.Flush() == nil {
			select {
			case <-idle.C:
				fmt.Fprint(w, ": ping\n\n")
				idle.Reset(f.cfg.Ping)
			case <-end.C:
				return
			case <-f.stop:
				return
			}
		}
	})
}
