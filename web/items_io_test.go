package web_test

import (
	"archive/zip"
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/touchstone-assess/touchstone/items"
	"github.com/touchstone-assess/touchstone/web/webtest"
)

type importAnswer struct {
	Imported int `json:"imported"`
	Items    []struct {
		ID      string        `json:"id"`
		Status  string        `json:"status"`
		Content items.Content `json:"content"`
	} `json:"items"`
}

func rawReq(method, target, token, contentType string, body []byte) *http.Request {
	r := apiReq(method, target, token, body)
	r.Header.Set("Content-Type", contentType)
	return r
}

// A package exported by Touchstone imports back as the same items, in
// both QTI versions, as drafts awaiting review.
func TestItemsExportImportRoundTrip(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		author := f.Token(t, f.Users.Author)
		for _, format := range []string{"qti30", "qti21"} {
			t.Run(format, func(t *testing.T) {
				resp := apiCall(t, f, apiReq("GET", "/api/v1/items/export?format="+format+"&exam="+f.Exam.ID, author, nil))
				wantAPIStatus(t, resp, http.StatusOK)
				if ct := resp.Header.Get("Content-Type"); ct != "application/zip" {
					t.Fatalf("content type %q, want application/zip", ct)
				}
				resp = apiCall(t, f, rawReq("POST", "/api/v1/items/import?program="+f.Program.ID, author, "application/zip", resp.Body))
				wantAPIStatus(t, resp, http.StatusCreated)
				var got importAnswer
				resp.JSON(t, &got)
				if got.Imported != len(f.Items) || len(got.Items) != len(f.Items) {
					t.Fatalf("imported %d (%d listed), want %d", got.Imported, len(got.Items), len(f.Items))
				}
				want := map[string]items.Content{}
				for _, it := range f.Items {
					want[it.Stem] = it.Content
				}
				for i, it := range got.Items {
					if it.Status != items.StatusDraft {
						t.Errorf("item %d: status %s, want draft", i, it.Status)
					}
					if !reflect.DeepEqual(it.Content, want[it.Content.Stem]) {
						t.Errorf("item %d: content\n got %+v\nwant %+v", i, it.Content, want[it.Content.Stem])
					}
					delete(want, it.Content.Stem)
				}
			})
		}
	})
}

func TestItemsImportCSV(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		bank, err := os.ReadFile("../items/qti/testdata/bank.csv")
		if err != nil {
			t.Fatal(err)
		}
		resp := apiCall(t, f, rawReq("POST", "/api/v1/items/import?program="+f.Program.ID, f.Token(t, f.Users.Author), "text/csv", bank))
		wantAPIStatus(t, resp, http.StatusCreated)
		var got importAnswer
		resp.JSON(t, &got)
		lines := strings.Count(strings.TrimSpace(string(bank)), "\n") // rows after the header
		if got.Imported == 0 || got.Imported > lines {
			t.Fatalf("imported %d items from a CSV of %d rows", got.Imported, lines)
		}
	})
}

// A package with one broken item is refused with the file and line at
// fault, and nothing of it is stored.
func TestItemsImportRefusesABrokenPackage(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		author := f.Token(t, f.Users.Author)
		resp := apiCall(t, f, apiReq("GET", "/api/v1/items/export?format=qti30&exam="+f.Exam.ID, author, nil))
		wantAPIStatus(t, resp, http.StatusOK)
		broken := rewriteZip(t, resp.Body, "items/0004.xml", func(xml string) string {
			return strings.Replace(xml, "<qti-simple-choice ", "<qti-simple-choyce ", 1)
		})
		before := countItems(t, f, author)
		resp = apiCall(t, f, rawReq("POST", "/api/v1/items/import?program="+f.Program.ID, author, "application/zip", broken))
		wantAPIError(t, resp, http.StatusUnprocessableEntity, "invalid_package", "file")
		if !strings.Contains(string(resp.Body), "items/0004.xml:") {
			t.Errorf("error %s does not locate the fault in items/0004.xml", resp.Body)
		}
		if after := countItems(t, f, author); after != before {
			t.Errorf("the bank went from %d to %d items after a refused import", before, after)
		}

		wantAPIError(t, apiCall(t, f, rawReq("POST", "/api/v1/items/import", author, "text/csv", []byte("stem\n"))), http.StatusBadRequest, "bad_request", "program")
		wantAPIError(t, apiCall(t, f, rawReq("POST", "/api/v1/items/import?program="+f.Program.ID, f.Token(t, f.Users.Candidate), "text/csv", []byte("x"))), http.StatusForbidden, "forbidden", "")
		wantAPIError(t, apiCall(t, f, apiReq("GET", "/api/v1/items/export", f.Token(t, f.Users.Proctor), nil)), http.StatusForbidden, "forbidden", "")
	})
}

// Only upload routes take bodies over 1 MiB.
func TestBodyLimits(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		big := bytes.Repeat([]byte(" "), 2<<20)
		resp := f.Do(t, rawReq("PUT", "/api/v1/items/"+f.Items[0].ID, f.Token(t, f.Users.Author), "application/json", big))
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a 2 MiB JSON body: got status %d, want 413", resp.StatusCode)
		}
		resp = f.Do(t, rawReq("POST", "/api/v1/items/import?program="+f.Program.ID, f.Token(t, f.Users.Author), "text/csv", big))
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a 2 MiB CSV upload: got status %d, want 422 (read, then refused as a bank)", resp.StatusCode)
		}
	})
}

// The bank page imports a file from a form and says what went wrong.
func TestItemsImportPage(t *testing.T) {
	eachAPIFixture(t, func(t *testing.T, f *webtest.Fixture) {
		sess := f.Session(t, f.Users.Author)
		post := func(name string, data []byte) *webtest.Response {
			var body bytes.Buffer
			w := multipart.NewWriter(&body)
			_ = w.WriteField("program_id", f.Program.ID)
			fw, err := w.CreateFormFile("file", name)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = fw.Write(data)
			_ = w.Close()
			req := webtest.NewRequest("POST", "/authoring/items/import", body.Bytes())
			req.Header.Set("Content-Type", w.FormDataContentType())
			return f.Do(t, webtest.WithCookie(req, sess, true))
		}
		bank, err := os.ReadFile("../items/qti/testdata/bank.csv")
		if err != nil {
			t.Fatal(err)
		}
		resp := post("bank.csv", bank)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/authoring/items?status=draft&imported=") {
			t.Fatalf("import: got %d to %q, want 303 to the drafts", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp = post("bank.csv", []byte("identifier,domain,stem,option_a,option_b,key\nq1,D1,Which?,A,B,E\n"))
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(resp.Body), "line 2") {
			t.Errorf("a bad bank: got %d, want 422 and a page naming line 2; body:\n%s", resp.StatusCode, resp.Body)
		}
	})
}

func countItems(t *testing.T, f *webtest.Fixture, token string) int {
	t.Helper()
	resp := apiCall(t, f, apiReq("GET", "/api/v1/items", token, nil))
	wantAPIStatus(t, resp, http.StatusOK)
	var page struct {
		Total int `json:"total"`
	}
	resp.JSON(t, &page)
	return page.Total
}

// rewriteZip returns the zip data with the named file changed by edit.
func rewriteZip(t *testing.T, data []byte, name string, edit func(string) string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	found := false
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if f.Name == name {
			b, found = []byte(edit(string(b))), true
		}
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("no %s in the package", name)
	}
	return out.Bytes()
}
