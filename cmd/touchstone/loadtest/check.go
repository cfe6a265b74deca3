package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/touchstone-assess/touchstone/migrations"
)

// ledger is what the server acknowledged to every candidate: per attempt
// and item, the highest sequence number sent and the highest acknowledged
// as applied.
type ledger struct {
	mu       sync.Mutex
	attempts map[string]*attemptBook
}

func newLedger() *ledger { return &ledger{attempts: map[string]*attemptBook{}} }

// attemptBook is one attempt's part of the ledger.
type attemptBook struct {
	id    string
	items []itemDesc
	mu    sync.Mutex
	// sentSeq and ackSeq are by index in items; 0 is none. acks counts
	// the acknowledged saves of each.
	sentSeq, ackSeq, acks []int64
}

func (l *ledger) attempt(id string, items []itemDesc) *attemptBook {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.attempts[id]
	if !ok {
		b = &attemptBook{id: id, items: items, sentSeq: make([]int64, len(items)), ackSeq: make([]int64, len(items)), acks: make([]int64, len(items))}
		l.attempts[id] = b
	}
	return b
}

func (b *attemptBook) sent(i int, seq int64) {
	b.mu.Lock()
	b.sentSeq[i] = max(b.sentSeq[i], seq)
	b.mu.Unlock()
}

func (b *attemptBook) ack(i int, seq int64) {
	b.mu.Lock()
	b.ackSeq[i] = max(b.ackSeq[i], seq)
	b.acks[i]++
	b.mu.Unlock()
}

func (b *attemptBook) acked(i int) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ackSeq[i]
}

// Check is the database check: every (attempt, item) whose answer the
// server acknowledged must hold that answer or a later one the same
// candidate sent.
type Check struct {
	// Saves counts the saves the server acknowledged as applied.
	Saves int64 `json:"saves"`
	// Acknowledged counts the answers that must be stored: the latest
	// acknowledged answer of each item of each attempt. Stored counts
	// those that are (or a later answer of the candidate's); Lost the
	// others.
	Acknowledged int `json:"acknowledged"`
	Stored       int `json:"stored"`
	Lost         int `json:"lost"`
	// Examples describes up to ten lost answers.
	Examples []string `json:"examples,omitempty"`
}

// storedResponse is one row of the responses table, as the check reads it.
type storedResponse struct {
	AttemptID  string  `gorm:"column:attempt_id"`
	ItemID     string  `gorm:"column:item_id"`
	Seq        int64   `gorm:"column:seq"`
	AnswerJSON *string `gorm:"column:answer_json"`
}

// checkAnswers reads, in the database at dbURL, the stored responses of
// every attempt in l and compares them with what was acknowledged.
func checkAnswers(ctx context.Context, dbURL string, l *ledger) (Check, error) {
	db, err := migrations.Connect(dbURL)
	if err != nil {
		return Check{}, err
	}
	defer migrations.Close(db)
	l.mu.Lock()
	ids := make([]string, 0, len(l.attempts))
	for id := range l.attempts {
		ids = append(ids, id)
	}
	l.mu.Unlock()
	sort.Strings(ids)
	var out Check
	for batch := range slices.Chunk(ids, 500) {
		var rows []storedResponse
		if err := db.WithContext(ctx).Table("responses").Select("attempt_id, item_id, seq, answer_json").
			Where("attempt_id IN ?", batch).Find(&rows).Error; err != nil {
			return Check{}, fmt.Errorf("read responses: %w", err)
		}
		stored := map[[2]string]storedResponse{}
		for _, r := range rows {
			stored[[2]string{r.AttemptID, r.ItemID}] = r
		}
		for _, id := range batch {
			b := l.attempts[id]
			b.mu.Lock()
			for i, it := range b.items {
				acked := b.ackSeq[i]
				if acked == 0 {
					continue
				}
				out.Acknowledged++
				out.Saves += b.acks[i]
				s, ok := stored[[2]string{id, it.ID}]
				if problem := judge(id, it, acked, b.sentSeq[i], s, ok); problem != "" {
					out.Lost++
					if len(out.Examples) < 10 {
						out.Examples = append(out.Examples, problem)
					}
					continue
				}
				out.Stored++
			}
			b.mu.Unlock()
		}
	}
	return out, nil
}

// judge says what is wrong with a stored response given what was
// acknowledged (seq acked) and sent (up to seq sent), or "" when nothing is.
func judge(attemptID string, it itemDesc, acked, sent int64, s storedResponse, found bool) string {
	where := fmt.Sprintf("attempt %s item %s", attemptID, it.ID)
	switch {
	case !found:
		return fmt.Sprintf("%s: no stored response; seq %d was acknowledged", where, acked)
	case s.Seq < acked:
		return fmt.Sprintf("%s: stored seq %d, below acknowledged seq %d", where, s.Seq, acked)
	case s.Seq > sent:
		return fmt.Sprintf("%s: stored seq %d, above any the candidate sent (%d)", where, s.Seq, sent)
	case s.AnswerJSON == nil:
		return fmt.Sprintf("%s: seq %d stored without its answer", where, s.Seq)
	}
	var got answer
	if err := json.Unmarshal([]byte(*s.AnswerJSON), &got); err != nil {
		return fmt.Sprintf("%s: stored answer %q is not JSON: %v", where, *s.AnswerJSON, err)
	}
	if want := answerFor(attemptID, it, s.Seq); got.Choice != want.Choice || !slices.Equal(got.Choices, want.Choices) {
		return fmt.Sprintf("%s: stored answer %s with seq %d, but seq %d carried %+v", where, *s.AnswerJSON, s.Seq, s.Seq, want)
	}
	return ""
}
