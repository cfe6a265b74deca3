package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/migrations"
)

// shootElement saves the element sel to $TOUCHSTONE_SCREENSHOTS/name.png
// when set.
func shootElement(t *testing.T, ctx context.Context, sel, name string) {
	t.Helper()
	dir := os.Getenv("TOUCHSTONE_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(sel)); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	png, err := chromedp.Run(ctx, chromedp.Screenshot(sel))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// answerGender records, through the assess service on the server's own
// database, a voluntary gender for every candidate of the demo's pilot
// history of the exam: alternately woman and man.
func answerGender(t *testing.T, s *server, examID string) {
	t.Helper()
	ctx := context.Background()
	db, err := migrations.Open(ctx, filepath.Join(s.env["TOUCHSTONE_DATA_DIR"], "touchstone.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer migrations.Close(db)
	var ids []string
	if err := db.Raw("SELECT DISTINCT candidate_id FROM attempts WHERE exam_id = ? ORDER BY candidate_id", examID).Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	svc := assess.NewService(db, items.NewStore(db, time.Now), time.Now)
	for i, id := range ids {
		if err := svc.SetDemographics(ctx, id, map[string]string{"gender": []string{"woman", "man"}[i%2]}); err != nil {
			t.Fatal(err)
		}
	}
}

// A psychometrician starts a calibration from the browser, watches it
// finish, reads the run page with its Wright map, links a second run onto
// the first and compares them, and opens a DIF report by gender; a
// candidate answers the voluntary demographic questions. Every page passes
// axe-core.
func TestBrowserCalibrationAndDIF(t *testing.T) {
	if testing.Short() {
		t.Skip("browser: starts the whole server with the demo (-short skips it)")
	}
	ctx := browser(t)
	axe := axeSource(t)
	s := startServer(t, "sqlite")
	psych := s.login(t, "psychometrician@example.com")
	e := s.exam(t, psych, "Formulas")
	answerGender(t, s, e.ID)

	signIn(t, ctx, s, "psychometrician@example.com")
	step(t, ctx, "start a calibration",
		chromedp.Navigate(s.URL+"/psychometrics/exams/"+e.ID+"/calibrations"),
		chromedp.WaitVisible(`#calibration-form`),
		chromedp.SetValue(`#model`, "2pl"),
		chromedp.SendKeys(`#note`, "Pilot history"),
		chromedp.Click(`#start-calibration`),
		chromedp.WaitVisible(`#run-heading`),
	)
	step(t, ctx, "the run finishes", chromedp.WaitVisible(`#item-params`), chromedp.WaitVisible(`#img-wright`))
	poll(t, ctx, "the figures load", `[...document.querySelectorAll('.plot-figure img')].every(i => i.complete && i.naturalWidth > 0)`)
	checkAxe(t, ctx, axe, "calibration run")
	screenshot(t, ctx, "calibration-run")
	shootElement(t, ctx, `#figure-wright`, "wright-map")
	step(t, ctx, "open a data table", chromedp.Click(`#figure-wright summary`), chromedp.WaitVisible(`#table-wright`))
	checkAxe(t, ctx, axe, "calibration run with a data table open")

	step(t, ctx, "start a linked 3PL run",
		chromedp.Navigate(s.URL+"/psychometrics/exams/"+e.ID+"/calibrations"),
		chromedp.WaitVisible(`#calibration-form`),
		chromedp.SetValue(`#model`, "3pl"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#anchor_run_id').selectedIndex = 1`),
		chromedp.Click(`#start-calibration`),
		chromedp.WaitVisible(`#linking`),
	)
	step(t, ctx, "compare the runs",
		chromedp.Navigate(s.URL+"/psychometrics/exams/"+e.ID+"/calibrations"),
		chromedp.WaitVisible(`#comparison`),
		waitText(`#calibration-runs`, "version 1"),
	)
	checkAxe(t, ctx, axe, "calibrations")
	screenshot(t, ctx, "calibrations")

	step(t, ctx, "a DIF report",
		chromedp.Navigate(s.URL+"/psychometrics/exams/"+e.ID+"/dif"),
		chromedp.WaitVisible(`#dif-form`),
		chromedp.SetValue(`#reference`, "man"),
		chromedp.SetValue(`#focal`, "woman"),
		chromedp.Click(`#analyse`),
		chromedp.WaitVisible(`#dif-items`),
	)
	checkAxe(t, ctx, axe, "dif")
	screenshot(t, ctx, "dif")
	step(t, ctx, "a group too small",
		chromedp.Navigate(s.URL+"/psychometrics/exams/"+e.ID+"/dif?variable=gender&reference=man&focal=non_binary"),
		chromedp.WaitVisible(`#dif-error`),
	)
	checkAxe(t, ctx, axe, "dif refused")

	cand := browser(t)
	signIn(t, cand, s, "candidate@example.com")
	step(t, cand, "answer the voluntary questions",
		chromedp.Navigate(s.URL+"/me/demographics"),
		chromedp.WaitVisible(`#demographics-form`),
		chromedp.Click(`#age_band-25_34`),
		chromedp.Click(`#region-prefer_not_to_say`),
		chromedp.Click(`#save-demographics`),
		chromedp.WaitVisible(`#saved`),
	)
	checkAxe(t, cand, axe, "demographics")
	screenshot(t, cand, "demographics")
}
