package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"gorm.io/gorm"

	"github.com/touchstone-assess/touchstone/credential"
	"github.com/touchstone-assess/touchstone/internal/audit"
	"github.com/touchstone-assess/touchstone/internal/blob"
	"github.com/touchstone-assess/touchstone/internal/blob/blobtest"
	"github.com/touchstone-assess/touchstone/internal/dbtest"
	"github.com/touchstone-assess/touchstone/migrations"
)

// testPNG is a small image a snapshot upload accepts.
func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for x := range 32 {
		for y := range 24 {
			img.Set(x, y, color.RGBA{uint8(8 * x), uint8(10 * y), 99, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// passWithSnapshot has the candidate pass Pivot Tables with a photo of
// their ID taken at a check-in (a file in the blob store) and a webcam
// snapshot taken on the way (kept in its record), and returns the
// credential's id.
func passWithSnapshot(t *testing.T, s *server) string {
	t.Helper()
	manager := s.login(t, "manager@example.com")
	token := s.login(t, "candidate@example.com")
	e := s.exam(t, token, "Pivot Tables")
	policy := func(checkIn bool) {
		body := map[string]any{"snapshot_seconds": 30, "check_in": checkIn}
		if st := s.call(t, "PUT", "/api/v1/exams/"+e.ID+"/proctoring", manager, body, nil); st != http.StatusOK {
			t.Fatalf("set proctoring: status %d", st)
		}
	}
	// A check-in with a photo, then none required, so that the start
	// needs no proctor to admit the candidate.
	policy(true)
	var ci struct {
		ID string `json:"id"`
	}
	if st := s.call(t, "POST", "/api/v1/exams/"+e.ID+"/checkins", token, nil, &ci); st != http.StatusOK {
		t.Fatalf("open check-in: status %d", st)
	}
	upload(t, s, "/api/v1/checkins/"+ci.ID+"/photos?kind=id_photo", token)
	policy(false)
	keys := s.keys(t, e.ID)
	var a attempt
	if st := s.call(t, "POST", "/api/v1/exams/"+e.ID+"/attempts", token, nil, &a); st != http.StatusCreated {
		t.Fatalf("start: status %d", st)
	}
	upload(t, s, "/api/v1/attempts/"+a.ID+"/snapshots?faces=1", token)
	for _, it := range a.Items {
		if st := s.call(t, "PUT", "/api/v1/attempts/"+a.ID+"/responses/"+it.ID, token, map[string]string{"answer": keys[it.ID]}, nil); st != http.StatusOK {
			t.Fatalf("answer: status %d", st)
		}
	}
	var res result
	if st := s.call(t, "POST", "/api/v1/attempts/"+a.ID+"/submit", token, nil, &res); st != http.StatusOK || !res.Passed || res.CredentialID == nil {
		t.Fatalf("submit: status %d, %+v; want a pass with a credential", st, res)
	}
	return *res.CredentialID
}

// upload posts testPNG to path as the holder of token.
func upload(t *testing.T, s *server, path, token string) {
	t.Helper()
	req, err := http.NewRequest("POST", s.URL+path, bytes.NewReader(testPNG(t)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "image/png")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		t.Fatalf("upload to %s: status %d: %s", path, resp.StatusCode, body)
	}
}

// dumpTables returns every table of the database at dbURL as JSON Lines.
func dumpTables(t *testing.T, dbURL string) map[string]string {
	t.Helper()
	db, err := migrations.Connect(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer migrations.Close(db)
	ctx := context.Background()
	snap, err := migrations.OpenSnapshot(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	out := map[string]string{}
	for _, tb := range snap.Tables() {
		var b bytes.Buffer
		if _, err := snap.Dump(ctx, tb, &b); err != nil {
			t.Fatal(err)
		}
		out[tb.Name] = b.String()
	}
	return out
}

// exposureSum is the sum of the items' exposure counts in a database.
func exposureSum(t *testing.T, dbURL string) int64 {
	t.Helper()
	db, err := migrations.Connect(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer migrations.Close(db)
	var sum int64
	if err := db.Raw("SELECT COALESCE(SUM(exposure_count), 0) FROM items").Scan(&sum).Error; err != nil {
		t.Fatal(err)
	}
	return sum
}

// blobFiles returns every blob of the local store in dir: key → type and bytes.
func blobFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	store, err := blob.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	list, err := store.List(ctx, "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, info := range list {
		r, got, err := store.Get(ctx, info.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[info.Key] = got.ContentType + "\n" + string(b)
	}
	return out
}

func envOf(env map[string]string) func(string) string { return func(k string) string { return env[k] } }

func TestBackupAndRestoreRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole server with the demo (-short skips it)")
	}
	for _, backend := range backends() {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			start := time.Now()
			s := startServer(t, backend)
			srcDB := s.env["TOUCHSTONE_DATABASE_URL"]
			if srcDB == "" {
				srcDB = filepath.Join(s.env["TOUCHSTONE_DATA_DIR"], "touchstone.db")
			}
			exposures := exposureSum(t, srcDB)
			credID := passWithSnapshot(t, s)
			// The server writes the start's exposure counts behind, a
			// moment later; the backup is to hold them, as it holds
			// everything written before it.
			for deadline := time.Now().Add(30 * time.Second); exposureSum(t, srcDB) == exposures; time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatal("30 s after the start, its exposure counts are not written")
				}
			}
			token := s.login(t, "candidate@example.com")
			var doc json.RawMessage
			if st := s.call(t, "GET", "/api/v1/credentials/"+credID, token, nil, &doc); st != http.StatusOK {
				t.Fatalf("credential: status %d", st)
			}
			credFile := filepath.Join(t.TempDir(), "credential.json")
			if err := os.WriteFile(credFile, doc, 0o600); err != nil {
				t.Fatal(err)
			}
			var before bytes.Buffer
			if err := run(ctx, []string{"verify", "--json", credFile}, envOf(nil), &before); err != nil {
				t.Fatalf("verify before the backup: %v\n%s", err, before.String())
			}

			// Back up while the server runs.
			archive := filepath.Join(t.TempDir(), "touchstone.tar.gz")
			var out bytes.Buffer
			backupStart := time.Now()
			if err := run(ctx, []string{"backup", "--out", archive}, envOf(s.env), &out); err != nil {
				t.Fatalf("backup: %v", err)
			}
			t.Logf("%s (%.1f s into the test, backup took %.1f s)", strings.TrimSpace(out.String()), time.Since(start).Seconds(), time.Since(backupStart).Seconds())
			if fi, err := os.Stat(archive); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("archive: %v, mode %v; want 0600 (it holds private keys)", err, fi.Mode())
			}
			s.Stop()
			want := dumpTables(t, srcDB)

			// Restore into a new data directory and a new database: for
			// PostgreSQL an empty, migrated schema, for SQLite no file yet.
			env := map[string]string{
				"TOUCHSTONE_DATA_DIR":      t.TempDir(),
				"TOUCHSTONE_DEMO_PASSWORD": demoPassword,
				"TOUCHSTONE_LOG_LEVEL":     "warn",
			}
			dstDB := filepath.Join(env["TOUCHSTONE_DATA_DIR"], "touchstone.db")
			if backend == "postgres+redis" {
				_, dstDB = dbtest.PostgresURL(t)
				env["TOUCHSTONE_DATABASE_URL"] = dstDB
				env["TOUCHSTONE_REDIS_URL"] = s.env["TOUCHSTONE_REDIS_URL"]
				env["TOUCHSTONE_REDIS_PREFIX"] = "restored-" + randomHex(t) + ":"
			}
			out.Reset()
			restoreStart := time.Now()
			if err := run(ctx, []string{"restore", archive}, envOf(env), &out); err != nil {
				t.Fatalf("restore: %v", err)
			}
			t.Logf("%s (restore took %.1f s)", strings.TrimSpace(out.String()), time.Since(restoreStart).Seconds())

			got := dumpTables(t, dstDB)
			if len(got) != len(want) {
				t.Errorf("restored %d tables, want %d", len(got), len(want))
			}
			rows := 0
			for name, w := range want {
				rows += strings.Count(w, "\n")
				if got[name] != w {
					t.Errorf("table %s differs after the restore (%d bytes, want %d)", name, len(got[name]), len(w))
				}
			}
			if rows < 1000 {
				t.Errorf("the deployment had %d rows: the demo should give far more", rows)
			}
			if !strings.Contains(want["proctor_snapshots"], base64.StdEncoding.EncodeToString(testPNG(t))) {
				t.Error("the webcam frame is not in the records of proctor_snapshots")
			}
			srcBlobs, dstBlobs := blobFiles(t, filepath.Join(s.env["TOUCHSTONE_DATA_DIR"], "blobs")), blobFiles(t, filepath.Join(env["TOUCHSTONE_DATA_DIR"], "blobs"))
			if len(srcBlobs) == 0 {
				t.Error("the deployment has no files: the check-in photo did not store one")
			}
			for k, v := range srcBlobs {
				if dstBlobs[k] != v {
					t.Errorf("file %s differs after the restore", k)
				}
			}
			if len(dstBlobs) != len(srcBlobs) {
				t.Errorf("restored %d files, want %d", len(dstBlobs), len(srcBlobs))
			}
			for _, f := range []string{"issuer-key.pem", "issuer-rsa-key.pem"} {
				a, err1 := os.ReadFile(filepath.Join(s.env["TOUCHSTONE_DATA_DIR"], f))
				b, err2 := os.ReadFile(filepath.Join(env["TOUCHSTONE_DATA_DIR"], f))
				if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
					t.Errorf("key file %s differs after the restore (%v, %v)", f, err1, err2)
				}
			}
			db, err := migrations.Connect(dstDB)
			if err != nil {
				t.Fatal(err)
			}
			if err := audit.Verify(db); err != nil {
				t.Errorf("restored audit log: %v", err)
			}
			migrations.Close(db)

			// The restored deployment serves at the same public address.
			r := &server{env: env, addr: s.addr}
			r.launch(t)
			var after bytes.Buffer
			if err := run(ctx, []string{"verify", "--json", credFile}, envOf(nil), &after); err != nil {
				t.Fatalf("verify on the restored deployment: %v\n%s", err, after.String())
			}
			if after.String() != before.String() {
				t.Errorf("verification changed after the restore:\n got %s\nwant %s", after.String(), before.String())
			}
			var doc2 json.RawMessage
			if st := r.call(t, "GET", "/api/v1/credentials/"+credID, r.login(t, "candidate@example.com"), nil, &doc2); st != http.StatusOK || !bytes.Equal(doc, doc2) {
				t.Errorf("restored credential: status %d, same document %v", st, bytes.Equal(doc, doc2))
			}
			if backend != "sqlite" {
				t.Logf("round trip in %.1f s", time.Since(start).Seconds())
				return
			}

			// The embedded deployment moves to PostgreSQL.
			r.Stop()
			pg := map[string]string{
				"TOUCHSTONE_DATA_DIR":      t.TempDir(),
				"TOUCHSTONE_DEMO_PASSWORD": demoPassword,
				"TOUCHSTONE_LOG_LEVEL":     "warn",
			}
			_, pg["TOUCHSTONE_DATABASE_URL"] = dbtest.PostgresURL(t)
			out.Reset()
			if err := run(ctx, []string{"restore", archive}, envOf(pg), &out); err != nil {
				t.Fatalf("restore into PostgreSQL: %v", err)
			}
			t.Log(strings.TrimSpace(out.String()))
			sameRows(t, want, dumpTables(t, pg["TOUCHSTONE_DATABASE_URL"]))
			p := &server{env: pg, addr: s.addr}
			p.launch(t)
			after.Reset()
			if err := run(ctx, []string{"verify", "--json", credFile}, envOf(nil), &after); err != nil {
				t.Fatalf("verify on PostgreSQL: %v\n%s", err, after.String())
			}
			if after.String() != before.String() {
				t.Errorf("verification changed after the move to PostgreSQL:\n got %s\nwant %s", after.String(), before.String())
			}
			p.login(t, "candidate@example.com")
			t.Logf("round trip and move to PostgreSQL in %.1f s", time.Since(start).Seconds())
		})
	}
}

// sameRows compares tables dumped from SQLite with the same tables dumped
// from PostgreSQL: times equal to PostgreSQL's microsecond, JSON values
// equal as JSON (jsonb rewrites the text), everything else exactly.
func sameRows(t *testing.T, want, got map[string]string) {
	t.Helper()
	for name, w := range want {
		wl, gl := strings.Split(w, "\n"), strings.Split(got[name], "\n")
		if len(wl) != len(gl) {
			t.Errorf("table %s: %d rows in PostgreSQL, want %d", name, len(gl)-1, len(wl)-1)
			continue
		}
		for i := range wl {
			if wl[i] == gl[i] {
				continue
			}
			var wr, gr map[string]any
			if json.Unmarshal([]byte(wl[i]), &wr) != nil || json.Unmarshal([]byte(gl[i]), &gr) != nil {
				t.Errorf("table %s line %d does not read", name, i+1)
				continue
			}
			for col, wv := range wr {
				if !sameValue(wv, gr[col]) {
					t.Errorf("table %s line %d column %s: got %v, want %v", name, i+1, col, gr[col], wv)
				}
			}
		}
	}
}

func sameValue(want, got any) bool {
	ws, ok1 := want.(string)
	gs, ok2 := got.(string)
	if !ok1 || !ok2 {
		return reflect.DeepEqual(want, got)
	}
	if ws == gs {
		return true
	}
	if wt, err := time.Parse(time.RFC3339Nano, ws); err == nil {
		gt, err := time.Parse(time.RFC3339Nano, gs)
		return err == nil && gt.Sub(wt).Abs() < time.Microsecond
	}
	var wj, gj any
	return json.Unmarshal([]byte(ws), &wj) == nil && json.Unmarshal([]byte(gs), &gj) == nil && reflect.DeepEqual(wj, gj)
}

// smallDeployment is a deployment made without a server: a migrated SQLite
// database with a few rows, a file and key files.
type smallDeployment struct {
	env map[string]string
	db  *gorm.DB
}

func newSmallDeployment(t *testing.T) smallDeployment { return newSmallDeploymentOn(t, "sqlite") }

// newSmallDeploymentOn is newSmallDeployment on "sqlite" or "postgres".
func newSmallDeploymentOn(t *testing.T, backend string) smallDeployment {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"TOUCHSTONE_DATA_DIR": dir}
	var db *gorm.DB
	if backend == "postgres" {
		db, env["TOUCHSTONE_DATABASE_URL"] = dbtest.PostgresURL(t)
	} else {
		var err error
		if db, err = migrations.Open(context.Background(), filepath.Join(dir, "touchstone.db")); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { migrations.Close(db) })
	}
	if err := db.Exec(`INSERT INTO users (id, email, name, created_at) VALUES ('00000000-0000-4000-8000-000000000001', 'a@example.com', 'A', '2026-03-01 10:00:00+00')`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Transaction(func(tx *gorm.DB) error {
		return audit.Append(tx, audit.Entry{At: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Actor: "a", Action: "test", Subject: "s"})
	}); err != nil {
		t.Fatal(err)
	}
	store, err := blob.NewLocal(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Put(context.Background(), "snapshots/a/1.png", "image/png", bytes.NewReader(testPNG(t)), -1); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"issuer-key.pem", "issuer-rsa-key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("key "+f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return smallDeployment{env: env, db: db}
}

// archiveMembers reads an archive into its members, in order.
func archiveMembers(t *testing.T, path string) ([]string, map[string][]byte) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	data := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		data[h.Name] = b
	}
	return names, data
}

func writeArchive(t *testing.T, path string, names []string, data map[string][]byte) {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: int64(len(data[n]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// wantNothingRestored checks that a failed restore into env left no data,
// no file and no key file behind.
func wantNothingRestored(t *testing.T, env map[string]string) {
	t.Helper()
	dir := env["TOUCHSTONE_DATA_DIR"]
	dbURL := env["TOUCHSTONE_DATABASE_URL"]
	if dbURL == "" {
		dbURL = filepath.Join(dir, "touchstone.db")
	}
	db, err := migrations.Connect(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer migrations.Close(db)
	if err := migrations.CheckEmpty(context.Background(), db); err != nil {
		t.Errorf("after a failed restore: %v", err)
	}
	if files := blobFiles(t, filepath.Join(dir, "blobs")); len(files) > 0 {
		t.Errorf("after a failed restore the file store holds %d files", len(files))
	}
	for _, f := range []string{"issuer-key.pem", "issuer-rsa-key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("after a failed restore %s exists", f)
		}
	}
}

func TestRestoreRefusesDamagedArchives(t *testing.T) {
	ctx := context.Background()
	src := newSmallDeployment(t)
	archive := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := run(ctx, []string{"backup", "--out", archive}, envOf(src.env), io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	names, data := archiveMembers(t, archive)
	if names[0] != "manifest.json" {
		t.Fatalf("first member %s, want manifest.json", names[0])
	}
	var m manifest
	if err := json.Unmarshal(data["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if m.Format != archiveFormat || m.Dialect != "sqlite" || m.SchemaVersion == 0 || len(m.Blobs) != 1 || len(m.Keys) != 2 {
		t.Fatalf("manifest %+v", m)
	}
	raw, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		damage func(path string)
		want   string
	}{
		{"a changed row", func(p string) {
			d := map[string][]byte{}
			for k, v := range data {
				d[k] = v
			}
			d["tables/users.jsonl"] = bytes.Replace(d["tables/users.jsonl"], []byte(`"A"`), []byte(`"B"`), 1)
			writeArchive(t, p, names, d)
		}, "tables/users.jsonl does not match its SHA-256"},
		{"a changed file", func(p string) {
			d := map[string][]byte{}
			for k, v := range data {
				d[k] = v
			}
			b := bytes.Clone(d["blobs/snapshots/a/1.png"])
			b[len(b)-1] ^= 1
			d["blobs/snapshots/a/1.png"] = b
			writeArchive(t, p, names, d)
		}, "blobs/snapshots/a/1.png does not match its SHA-256"},
		{"a missing member", func(p string) { writeArchive(t, p, names[:len(names)-1], data) }, "is missing"},
		{"a truncated archive", func(p string) { os.WriteFile(p, raw[:len(raw)*2/3], 0o600) }, "archive is damaged"},
		{"not an archive", func(p string) { os.WriteFile(p, []byte("hello"), 0o600) }, "not a Touchstone backup"},
	}
	for _, c := range cases {
		for _, backend := range []string{"sqlite", "postgres"} {
			t.Run(c.name+"/"+backend, func(t *testing.T) {
				env := map[string]string{"TOUCHSTONE_DATA_DIR": t.TempDir()}
				if backend == "postgres" {
					_, env["TOUCHSTONE_DATABASE_URL"] = dbtest.PostgresURL(t)
				}
				p := filepath.Join(t.TempDir(), "damaged.tar.gz")
				c.damage(p)
				err := run(ctx, []string{"restore", p}, envOf(env), io.Discard)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("restore: %v, want an error saying %q", err, c.want)
				}
				wantNothingRestored(t, env)
			})
		}
	}
}

func TestRestoreRefusesATargetInUse(t *testing.T) {
	ctx := context.Background()
	src := newSmallDeployment(t)
	archive := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := run(ctx, []string{"backup", "--out", archive}, envOf(src.env), io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	t.Run("a database with data", func(t *testing.T) {
		env := map[string]string{"TOUCHSTONE_DATA_DIR": t.TempDir(), "TOUCHSTONE_DATABASE_URL": filepath.Join(src.env["TOUCHSTONE_DATA_DIR"], "touchstone.db")}
		err := run(ctx, []string{"restore", archive}, envOf(env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "table audit_log has rows") {
			t.Fatalf("restore over the source: %v, want a refusal naming table audit_log", err)
		}
	})
	t.Run("a file store with files", func(t *testing.T) {
		dir := t.TempDir()
		store, err := blob.NewLocal(filepath.Join(dir, "blobs"))
		if err != nil {
			t.Fatal(err)
		}
		if err := store.Put(ctx, "other/x", "text/plain", strings.NewReader("x"), 1); err != nil {
			t.Fatal(err)
		}
		err = run(ctx, []string{"restore", archive}, envOf(map[string]string{"TOUCHSTONE_DATA_DIR": dir}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "file store already holds 1 files") {
			t.Fatalf("restore into a used file store: %v, want a refusal", err)
		}
	})
	t.Run("a different key file", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "issuer-key.pem"), []byte("another key"), 0o600); err != nil {
			t.Fatal(err)
		}
		err := run(ctx, []string{"restore", archive}, envOf(map[string]string{"TOUCHSTONE_DATA_DIR": dir}), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "issuer-key.pem exists and differs") {
			t.Fatalf("restore over another key: %v, want a refusal", err)
		}
	})
	t.Run("a newer schema", func(t *testing.T) {
		names, data := archiveMembers(t, archive)
		var m map[string]any
		if err := json.Unmarshal(data["manifest.json"], &m); err != nil {
			t.Fatal(err)
		}
		m["schema_version"] = 9999
		data["manifest.json"], _ = json.Marshal(m)
		p := filepath.Join(t.TempDir(), "newer.tar.gz")
		writeArchive(t, p, names, data)
		err := run(ctx, []string{"restore", p}, envOf(map[string]string{"TOUCHSTONE_DATA_DIR": t.TempDir()}), io.Discard)
		if !errors.Is(err, migrations.ErrNewerSchema) || !strings.Contains(err.Error(), "schema version 9999") {
			t.Fatalf("restore of a newer schema: %v, want ErrNewerSchema naming 9999", err)
		}
	})
}

func TestBackupAndRestoreCommandLine(t *testing.T) {
	ctx := context.Background()
	empty := envOf(map[string]string{"TOUCHSTONE_DATA_DIR": t.TempDir()})
	for _, c := range []struct {
		args  []string
		want  string
		usage bool
	}{
		{[]string{"backup"}, "--out FILE is required", true},
		{[]string{"backup", "--out"}, "flag needs an argument", true},
		{[]string{"backup", "--out", filepath.Join(t.TempDir(), "x.tar.gz")}, "no database at", false},
		{[]string{"restore"}, "usage: touchstone restore FILE", true},
		{[]string{"restore", "a", "b"}, "usage: touchstone restore FILE", true},
		{[]string{"restore", filepath.Join(t.TempDir(), "missing.tar.gz")}, "no such file", false},
	} {
		err := run(ctx, c.args, empty, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error saying %q", c.args, err, c.want)
			continue
		}
		var u usageError
		if errors.As(err, &u) != c.usage {
			t.Errorf("%v: usage error %v, want %v", c.args, !c.usage, c.usage)
		}
	}
	// Flags may come after the file, and - writes to standard output.
	src := newSmallDeployment(t)
	var archive bytes.Buffer
	if err := run(ctx, []string{"backup", "--out", "-"}, envOf(src.env), &archive); err != nil {
		t.Fatalf("backup to stdout: %v", err)
	}
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(p, archive.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(ctx, []string{"restore", p, "--data-dir", dir}, envOf(nil), &out); err != nil {
		t.Fatalf("restore FILE --data-dir: %v", err)
	}
	if !strings.Contains(out.String(), "audit log (1 entries) verifies") {
		t.Errorf("restore said %q", out.String())
	}
}

// TestBackupIsOneSnapshot backs up while audit entries are appended as fast
// as they can be: the archive's audit log and chain head come from one
// moment, so the restored chain verifies.
func TestBackupIsOneSnapshot(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			src := newSmallDeploymentOn(t, backend)
			stop := make(chan struct{})
			done := make(chan int)
			go func() {
				n := 0
				defer func() { done <- n }()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if err := src.db.Transaction(func(tx *gorm.DB) error {
						return audit.Append(tx, audit.Entry{At: time.Now(), Actor: "writer", Action: "test", Subject: "s"})
					}); err != nil {
						t.Errorf("append: %v", err)
						return
					}
					n++
				}
			}()
			var archives []string
			for range 3 {
				p := filepath.Join(t.TempDir(), "a.tar.gz")
				if err := run(ctx, []string{"backup", "--out", p}, envOf(src.env), io.Discard); err != nil {
					t.Fatalf("backup: %v", err)
				}
				archives = append(archives, p)
			}
			close(stop)
			n := <-done
			if n == 0 {
				t.Fatal("no entry was appended during the backups")
			}
			for _, p := range archives {
				var out bytes.Buffer
				if err := run(ctx, []string{"restore", p}, envOf(map[string]string{"TOUCHSTONE_DATA_DIR": t.TempDir()}), &out); err != nil {
					t.Fatalf("restore: %v", err)
				}
				t.Log(strings.TrimSpace(out.String()))
			}
			t.Logf("%d entries appended during 3 backups", n)
		})
	}
}

// TestRestoreIntoS3 restores into a bucket and backs the result up again:
// the files, their types and their hashes are the same.
func TestRestoreIntoS3(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Chdir(wd); err != nil {
			t.Errorf("restore the working directory: %v", err)
		}
	})
	ctx := context.Background()
	src := newSmallDeployment(t)
	archive := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := run(ctx, []string{"backup", "--out", archive}, envOf(src.env), io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	_, data := archiveMembers(t, archive)
	var want manifest
	if err := json.Unmarshal(data["manifest.json"], &want); err != nil {
		t.Fatal(err)
	}
	bucket := blobtest.OpenS3(t)
	db := dbtest.SQLite(t)
	dir := t.TempDir()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string]string{"issuer-key": filepath.Join(dir, "k1.pem"), "issuer-rsa-key": filepath.Join(dir, "k2.pem")}
	if _, err := restoreArchive(ctx, f, db, func(int64) (blob.Store, error) { return bucket, nil }, keys); err != nil {
		t.Fatalf("restore into S3: %v", err)
	}
	got, err := writeBackup(ctx, db, bucket, keys, io.Discard, time.Now())
	if err != nil {
		t.Fatalf("backup from S3: %v", err)
	}
	if !reflect.DeepEqual(got.Blobs, want.Blobs) {
		t.Errorf("files backed up from S3 %+v, want %+v", got.Blobs, want.Blobs)
	}
	if !reflect.DeepEqual(got.Tables, want.Tables) {
		t.Errorf("tables backed up after the restore differ from the archive's")
	}
}

// TestBackupKeepsSealedKeysSealed: key files sealed with TOUCHSTONE_KEY_SEAL
// go into the archive as they are on disk, never opened, and come back
// readable with the same identity only.
func TestBackupKeepsSealedKeysSealed(t *testing.T) {
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	src := newSmallDeployment(t)
	dir := src.env["TOUCHSTONE_DATA_DIR"]
	for _, f := range []string{"issuer-key.pem", "issuer-rsa-key.pem"} {
		os.Remove(filepath.Join(dir, f))
	}
	key, err := credential.LoadOrCreateKey(filepath.Join(dir, "issuer-key.pem"), credential.SealedWith(id))
	if err != nil {
		t.Fatal(err)
	}
	src.env["TOUCHSTONE_KEY_SEAL"] = id.String()
	archive := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := run(ctx, []string{"backup", "--out", archive}, envOf(src.env), io.Discard); err != nil {
		t.Fatalf("backup: %v", err)
	}
	_, data := archiveMembers(t, archive)
	onDisk, err := os.ReadFile(filepath.Join(dir, "issuer-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data["keys/issuer-key.pem"], onDisk) || bytes.Contains(data["keys/issuer-key.pem"], []byte("PRIVATE KEY")) {
		t.Fatalf("the archive's key file is not the sealed file as on disk")
	}
	var m manifest
	if err := json.Unmarshal(data["manifest.json"], &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Keys) != 1 || !m.Keys[0].Sealed {
		t.Fatalf("manifest keys %+v, want one sealed key file", m.Keys)
	}
	dst := t.TempDir()
	var out bytes.Buffer
	if err := run(ctx, []string{"restore", archive}, envOf(map[string]string{"TOUCHSTONE_DATA_DIR": dst}), &out); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !strings.Contains(out.String(), "needs the same TOUCHSTONE_KEY_SEAL") {
		t.Errorf("restore said %q, want a note on the sealed key", out.String())
	}
	if _, err := credential.LoadOrCreateKey(filepath.Join(dst, "issuer-key.pem")); !errors.Is(err, credential.ErrSealed) {
		t.Errorf("restored key read without the identity: %v, want ErrSealed", err)
	}
	got, err := credential.LoadOrCreateKey(filepath.Join(dst, "issuer-key.pem"), credential.SealedWith(id))
	if err != nil || !got.Equal(key) {
		t.Errorf("restored key read with the identity: %v, same key %v", err, got.Equal(key))
	}
}
