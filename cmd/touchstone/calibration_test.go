package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/cmd/touchstone/psych"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/psychometrics"
)

// cliPilot is an exam of nine items, one of them a pretest item, with 600
// simulated attempts by candidates half of whom answered the gender
// question "woman", half "man"; item 4 is a logit harder for women.
type cliPilot struct {
	svc   *assess.Service
	exam  assess.Exam
	group map[string]string // attempt id → gender
}

func newCLIPilot(t *testing.T) *cliPilot {
	t.Helper()
	ctx := context.Background()
	db := dbtest.SQLite(t)
	now := func() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }
	bank := items.NewStore(db, now)
	p := &cliPilot{svc: assess.NewService(db, bank, now), group: map[string]string{}}
	prog, err := p.svc.CreateProgram(ctx, assess.Program{Slug: "cli", Name: "CLI"})
	if err != nil {
		t.Fatal(err)
	}
	const k, n = 9, 600
	var form []assess.FormItem
	var ids []string
	for j := range k {
		it, err := bank.Create(ctx, "system", prog.ID, items.Content{Domain: "D", Stem: fmt.Sprintf("Q%d?", j),
			Options: []items.Option{{ID: "right", Text: "right"}, {ID: "wrong", Text: "wrong"}}, Key: "right"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, it.ID)
		form = append(form, assess.FormItem{ItemID: it.ID, Pretest: j == k-1})
	}
	p.exam, err = p.svc.CreateExam(ctx, assess.Exam{ProgramID: prog.ID, Slug: "cli", Title: "CLI", Duration: time.Hour,
		Domains: []assess.Domain{{Code: "D", Name: "D"}}, ItemIDs: ids,
		Forms: []assess.Form{{Name: "A", Sections: []assess.Section{{Title: "All", Items: form}}}}})
	if err != nil {
		t.Fatal(err)
	}
	gen := make([]psychometrics.Item3PL, k)
	for j := range gen {
		gen[j] = psychometrics.Item3PL{A: 0.7 + 0.15*float64(j%4), B: -1.6 + 3.2*float64(j)/float64(k-1), C: 0.1}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	users := make([]map[string]any, n)
	past := make([]assess.PastAttempt, n)
	start := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	gender := map[string]string{}
	for i := range n {
		id := uuid.NewString()
		users[i] = map[string]any{"id": id, "email": fmt.Sprintf("cli%d@example.com", i), "name": "Pilot", "password_hash": "",
			"simulated": true, "created_at": start}
		gender[id] = []string{"woman", "man"}[i%2]
		theta := rng.NormFloat64()
		ans := map[string]string{}
		for j, it := range gen {
			if gender[id] == "woman" && j == 4 {
				it.B++
			}
			if rng.Float64() < it.P(theta) {
				ans[ids[j]] = "right"
			} else if rng.IntN(10) > 0 { // now and then an item is left unanswered
				ans[ids[j]] = "wrong"
			}
		}
		at := start.Add(time.Duration(i) * time.Minute)
		past[i] = assess.PastAttempt{CandidateID: id, StartedAt: at, SubmittedAt: at.Add(time.Minute), Answers: ans}
	}
	if err := db.Table("users").CreateInBatches(users, 200).Error; err != nil {
		t.Fatal(err)
	}
	for id, g := range gender {
		if err := p.svc.SetDemographics(ctx, id, map[string]string{"gender": g}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.svc.RecordHistory(ctx, p.exam.ID, past, true); err != nil {
		t.Fatal(err)
	}
	// Attempts are recorded with their own ids: map them to their
	// candidates' answers through the order of the rows.
	_, attempts, err := p.svc.ResponseMatrix(ctx, p.exam.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, a := range attempts {
		p.group[a] = gender[past[i].CandidateID]
	}
	return p
}

// writeScored writes the exam's response matrix as `psych` reads it:
// person, then one column per item, NA where not administered.
func (p *cliPilot) writeScored(t *testing.T) string {
	t.Helper()
	x, attempts, err := p.svc.ResponseMatrix(context.Background(), p.exam.ID)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(append([]string{"person"}, p.exam.ItemIDs...))
	for i, a := range attempts {
		row := []string{a}
		for j := range p.exam.ItemIDs {
			v := x.At(i, j)
			if math.IsNaN(v) {
				row = append(row, "NA")
			} else {
				row = append(row, strconv.Itoa(int(v)))
			}
		}
		_ = w.Write(row)
	}
	w.Flush()
	file := filepath.Join(t.TempDir(), "scored.csv")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

func runPsych(t *testing.T, out any, args ...string) {
	t.Helper()
	var buf bytes.Buffer
	if err := psych.Run(args, &buf); err != nil {
		t.Fatalf("psych %v: %v", args, err)
	}
	if err := json.Unmarshal(buf.Bytes(), out); err != nil {
		t.Fatalf("psych %v: %v", args, err)
	}
}

// near reports whether a stored statistic equals the CLI's to within tol
// (both undefined counts as equal).
func near(got assess.Stat, want *float64, tol float64) bool {
	if want == nil {
		return math.IsNaN(float64(got))
	}
	return math.Abs(float64(got)-*want) <= tol
}

func optClose(got *assess.Stat, want *float64, tol float64) bool {
	if got == nil {
		return want == nil
	}
	return near(*got, want, tol)
}

// TestCalibrationMatchesCLI stores a run of every model and checks it
// against `touchstone psych irt` on the same responses, to 1e-6.
func TestCalibrationMatchesCLI(t *testing.T) {
	p := newCLIPilot(t)
	scored := p.writeScored(t)
	const tol = 1e-6
	for _, model := range assess.CalibrationModels {
		t.Run(model, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			run, err := p.svc.Calibrate(ctx, "system", p.exam.ID, assess.CalibrationRequest{Model: model})
			if err != nil {
				t.Fatal(err)
			}
			if run, err = p.svc.WaitCalibration(ctx, run.ID); err != nil || run.Status != assess.RunDone {
				t.Fatalf("run: %v %s %s", err, run.Status, run.Error)
			}
			var cli struct {
				Persons    int      `json:"persons"`
				LogLik     *float64 `json:"loglik"`
				AIC        *float64 `json:"aic"`
				BIC        *float64 `json:"bic"`
				Converged  bool     `json:"converged"`
				Iterations int      `json:"iterations"`
				Items      []struct {
					Item   string   `json:"item"`
					A      *float64 `json:"a"`
					B      *float64 `json:"b"`
					C      *float64 `json:"c"`
					SEA    *float64 `json:"se_a"`
					SEB    *float64 `json:"se_b"`
					SEC    *float64 `json:"se_c"`
					Infit  *float64 `json:"infit"`
					Outfit *float64 `json:"outfit"`
					SX2    *float64 `json:"s_x2"`
					SX2P   *float64 `json:"s_x2_p"`
				} `json:"items"`
			}
			runPsych(t, &cli, "irt", "--scored", scored, "--model", model, "--missing", "omit")
			res := run.Result
			if res.Persons != cli.Persons || res.Converged != cli.Converged || res.Iterations != cli.Iterations {
				t.Errorf("persons %d converged %v iterations %d; CLI %d %v %d", res.Persons, res.Converged, res.Iterations, cli.Persons, cli.Converged, cli.Iterations)
			}
			if !near(res.LogLik, cli.LogLik, tol) || !near(res.AIC, cli.AIC, tol) || !near(res.BIC, cli.BIC, tol) {
				t.Errorf("log-lik %v AIC %v BIC %v; CLI %v %v %v", res.LogLik, res.AIC, res.BIC, *cli.LogLik, *cli.AIC, *cli.BIC)
			}
			if len(res.Items) != len(cli.Items) {
				t.Fatalf("%d items, CLI %d", len(res.Items), len(cli.Items))
			}
			for j, it := range res.Items {
				c := cli.Items[j]
				if it.ItemID != c.Item || !near(it.A, c.A, tol) || !near(it.B, c.B, tol) || !near(it.C, c.C, tol) ||
					!near(it.SEA, c.SEA, tol) || !near(it.SEB, c.SEB, tol) || !near(it.SEC, c.SEC, tol) {
					t.Errorf("item %d: got %s %+v, CLI %s a=%v b=%v c=%v", j, it.ItemID, it.ItemParams, c.Item, deref(c.A), deref(c.B), deref(c.C))
				}
				if !optClose(it.Infit, c.Infit, tol) || !optClose(it.Outfit, c.Outfit, tol) || !optClose(it.SX2, c.SX2, tol) || !optClose(it.SX2P, c.SX2P, tol) {
					t.Errorf("item %d: fit differs from the CLI's", j)
				}
			}
			if !res.Items[len(res.Items)-1].Pretest {
				t.Error("the pretest item is not marked")
			}
		})
	}
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// TestDIFMatchesCLI checks the stored DIF analysis against `touchstone
// psych dif` on the same responses and groups.
func TestDIFMatchesCLI(t *testing.T) {
	p := newCLIPilot(t)
	scored := p.writeScored(t)
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"person", "group"})
	for a, g := range p.group {
		_ = w.Write([]string{a, g})
	}
	w.Flush()
	groups := filepath.Join(t.TempDir(), "groups.csv")
	if err := os.WriteFile(groups, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := p.svc.DIF(context.Background(), p.exam.ID, "gender", "man", "woman")
	if err != nil {
		t.Fatal(err)
	}
	var cli struct {
		Persons int `json:"persons"`
		Items   []struct {
			Item       string   `json:"item"`
			NReference int      `json:"n_reference"`
			NFocal     int      `json:"n_focal"`
			AlphaMH    *float64 `json:"alpha_mh"`
			Chi2MH     *float64 `json:"chi2_mh"`
			PValue     *float64 `json:"p_value"`
			DeltaMH    *float64 `json:"delta_mh"`
			SEDeltaMH  *float64 `json:"se_delta_mh"`
			ETSClass   string   `json:"ets_class"`
		} `json:"items"`
	}
	runPsych(t, &cli, "dif", "--scored", scored, "--groups", groups, "--reference", "man", "--focal", "woman")
	if cli.Persons != rep.NReference+rep.NFocal || len(cli.Items) != len(rep.Items) {
		t.Fatalf("persons %d+%d, items %d; CLI %d, %d", rep.NReference, rep.NFocal, len(rep.Items), cli.Persons, len(cli.Items))
	}
	const tol = 1e-6
	for j, it := range rep.Items {
		c := cli.Items[j]
		if it.ItemID != c.Item || it.Reference != c.NReference || it.Focal != c.NFocal || it.Class.String() != c.ETSClass ||
			!near(assess.Stat(it.AlphaMH), c.AlphaMH, tol) || !near(assess.Stat(it.Chi2MH), c.Chi2MH, tol) || !near(assess.Stat(it.PValue), c.PValue, tol) ||
			!near(assess.Stat(it.DeltaMH), c.DeltaMH, tol) || !near(assess.Stat(it.SEDeltaMH), c.SEDeltaMH, tol) {
			t.Errorf("item %d: got %s Δ=%.4f %s, CLI %s Δ=%.4f %s", j, it.ItemID, it.DeltaMH, it.Class, c.Item, deref(c.DeltaMH), c.ETSClass)
		}
	}
	if rep.Items[4].Class == psychometrics.DIFClassA {
		t.Errorf("the item harder for women: class A (Δ %.2f), want B or C", rep.Items[4].DeltaMH)
	}
}
