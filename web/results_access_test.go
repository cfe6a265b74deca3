package web_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/touchstone-assess/touchstone/assess"
	"github.com/touchstone-assess/touchstone/web/auth"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

// TestResultAccess: a submitted attempt's result, in the API and on its
// page, is read by its candidate, by admins, program managers and
// psychometricians, and by the proctors and reviewers assigned to its exam;
// to a proctor of another exam, another candidate, an author or a panelist
// it is not there (404). Assigning the stranger proctor lets them in;
// removing the assignment shuts them out again.
func TestResultAccess(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		ctx := context.Background()
		passer := f.NewUser(t, "", "Paz Passer", auth.Candidate)
		attemptID := apiPass(t, f, passer).AttemptID
		other := f.NewUser(t, "", "Otto Outsider", auth.Proctor)
		reviewer := f.NewUser(t, "", "Rae Reviewer", auth.Proctor)
		if err := f.Assess.AssignStaff(ctx, f.Users.Admin.ID, f.Exam.ID, reviewer.ID, assess.StaffReviewer); err != nil {
			t.Fatal(err)
		}
		panelist := f.NewUser(t, "", "Pim Panelist", auth.Panelist)

		check := func(who string, u webtest.User, want int) {
			t.Helper()
			api := f.Do(t, apiReq("GET", "/api/v1/attempts/"+attemptID+"/result", f.Token(t, u), nil))
			if api.StatusCode != want {
				t.Errorf("%s reads the result in the API: status %d, want %d: %.200s", who, api.StatusCode, want, api.Body)
			}
			if want == http.StatusOK {
				var r apiResult
				api.JSON(t, &r)
				if r.AttemptID != attemptID || !r.Passed {
					t.Errorf("%s reads %+v, want the passed attempt %s", who, r, attemptID)
				}
			}
			req := webtest.NewRequest("GET", "/attempts/"+attemptID+"/result", nil)
			req.Header.Set("Accept", "text/html")
			if page := f.Do(t, webtest.WithCookie(req, f.Session(t, u), false)); page.StatusCode != want {
				t.Errorf("%s reads the result page: status %d, want %d", who, page.StatusCode, want)
			}
		}
		for _, c := range []struct {
			who  string
			u    webtest.User
			want int
		}{
			{"the candidate", passer, http.StatusOK},
			{"an admin", f.Users.Admin, http.StatusOK},
			{"a program manager", f.Users.Manager, http.StatusOK},
			{"a psychometrician", f.Users.Psychometrician, http.StatusOK},
			{"the exam's proctor", f.Users.Proctor, http.StatusOK},
			{"the exam's reviewer", reviewer, http.StatusOK},
			{"a proctor of no exam", other, http.StatusNotFound},
			{"another candidate", f.Users.Candidate, http.StatusNotFound},
			{"an author", f.Users.Author, http.StatusNotFound},
			{"a panelist", panelist, http.StatusNotFound},
		} {
			check(c.who, c.u, c.want)
		}

		if err := f.Assess.AssignStaff(ctx, f.Users.Admin.ID, f.Exam.ID, other.ID, assess.StaffProctor); err != nil {
			t.Fatal(err)
		}
		check("the newly assigned proctor", other, http.StatusOK)
		if err := f.Assess.RemoveStaff(ctx, f.Users.Admin.ID, f.Exam.ID, other.ID, assess.StaffProctor); err != nil {
			t.Fatal(err)
		}
		check("the proctor after removal", other, http.StatusNotFound)
	})
}
