package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/touchstone-assess/touchstone/migrations"
)

// Pgbench is the raw PostgreSQL figure a saturating run is compared with.
type Pgbench struct {
	Clients   int     `json:"clients"`
	Seconds   float64 `json:"seconds"`
	Updates   int64   `json:"updates"`
	PerSecond float64 `json:"per_second"`
	// Ratio is the answer-save endpoint's acknowledged saves per second
	// over PerSecond.
	Ratio float64 `json:"ratio"`
	// Statement is the UPDATE pgbench ran.
	Statement string `json:"statement"`
}

// pgbenchItems is how many response rows each client's attempt has.
const pgbenchItems = 20

// pgbenchScript is the store's answer save (assess.SaveResponse's UPDATE,
// as GORM writes it: the columns in order, the status and sequence
// conditions) on scratch copies of the attempts and responses tables.
// Each client updates its own attempt's rows with a rising sequence
// number, as a candidate does, so every update applies.
const pgbenchScript = `\set p random(1, %[3]d)
\set seq :seq + 1
UPDATE %[1]s SET "answer"='opt-' || :seq,"answer_json"='{"choice":"opt-' || :seq || '"}',"answered_at"=now(),"flagged"=false,"seconds"=CASE WHEN seconds IS NULL OR seconds < 1.5 THEN 1.5 ELSE seconds END,"seq"=:seq WHERE (attempt_id = md5('a' || :client_id)::uuid AND position = :p AND EXISTS (SELECT 1 FROM %[2]s WHERE id = md5('a' || :client_id)::uuid AND status = 'in_progress')) AND seq < :seq;
`

// RunPgbench runs pgbench (found on PATH) against the PostgreSQL database
// at dbURL with clients clients for d, each updating answers of its own
// attempt, on scratch tables created LIKE responses and attempts
// (INCLUDING ALL: the same columns, defaults, keys and indexes), which it
// drops afterwards.
func RunPgbench(ctx context.Context, dbURL string, clients int, d time.Duration) (Pgbench, error) {
	bin, err := exec.LookPath("pgbench")
	if err != nil {
		return Pgbench{}, errors.New("pgbench is not on PATH (Debian: apt-get install postgresql-client)")
	}
	env, err := libpqEnv(dbURL)
	if err != nil {
		return Pgbench{}, err
	}
	db, err := migrations.Connect(dbURL)
	if err != nil {
		return Pgbench{}, err
	}
	defer migrations.Close(db)
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	attempts := "loadtest_bench_attempts_" + hex.EncodeToString(suffix)
	responses := "loadtest_bench_responses_" + hex.EncodeToString(suffix)
	defer db.Exec("DROP TABLE IF EXISTS " + responses + ", " + attempts)
	for _, q := range []string{
		"CREATE TABLE " + attempts + " (LIKE attempts INCLUDING ALL)",
		"CREATE TABLE " + responses + " (LIKE responses INCLUDING ALL)",
		fmt.Sprintf(`INSERT INTO %s (id, exam_id, candidate_id, status, started_at, deadline)
			SELECT md5('a' || g)::uuid, md5('exam')::uuid, md5('c' || g)::uuid, 'in_progress', now(), now() + interval '1 hour'
			FROM generate_series(0, %d) g`, attempts, clients-1),
		fmt.Sprintf(`INSERT INTO %s (attempt_id, position, item_id, item_version_id, domain)
			SELECT md5('a' || g)::uuid, p, md5('i' || p)::uuid, md5('v' || p)::uuid, 'D1'
			FROM generate_series(0, %d) g, generate_series(1, %d) p`, responses, clients-1, pgbenchItems),
		"ANALYZE " + attempts + ", " + responses,
	} {
		if err := db.WithContext(ctx).Exec(q).Error; err != nil {
			return Pgbench{}, fmt.Errorf("scratch tables: %w", err)
		}
	}
	dir, err := os.MkdirTemp("", "touchstone-pgbench-")
	if err != nil {
		return Pgbench{}, err
	}
	defer os.RemoveAll(dir)
	script := fmt.Sprintf(pgbenchScript, responses, attempts, pgbenchItems)
	file := filepath.Join(dir, "save.sql")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		return Pgbench{}, err
	}
	secs := max(1, int(d.Round(time.Second)/time.Second))
	cmd := exec.CommandContext(ctx, bin, "--no-vacuum", "--protocol=prepared", "--client="+strconv.Itoa(clients),
		"--jobs="+strconv.Itoa(min(clients, 2)), "--time="+strconv.Itoa(secs), "--define=seq=0", "--file="+file)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return Pgbench{}, fmt.Errorf("%v:\n%s", err, out.String())
	}
	res, err := parsePgbench(out.String())
	if err != nil {
		return Pgbench{}, err
	}
	res.Clients, res.Seconds = clients, float64(secs)
	res.Statement = strings.TrimSpace(script[strings.Index(script, "UPDATE"):])
	// Every update must have applied: the rows hold the last seq.
	var applied int64
	if err := db.WithContext(ctx).Raw("SELECT count(*) FROM " + responses + " WHERE seq > 0").Scan(&applied).Error; err != nil {
		return Pgbench{}, err
	}
	if applied == 0 {
		return Pgbench{}, errors.New("pgbench's updates changed no row: the script does not match the table")
	}
	return res, nil
}

var (
	tpsLine  = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	txLine   = regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`)
	failLine = regexp.MustCompile(`number of failed transactions: ([0-9]+)`)
)

// parsePgbench reads pgbench's summary.
func parsePgbench(out string) (Pgbench, error) {
	m, n := tpsLine.FindStringSubmatch(out), txLine.FindStringSubmatch(out)
	if m == nil || n == nil {
		return Pgbench{}, fmt.Errorf("pgbench's output has no tps line:\n%s", out)
	}
	if f := failLine.FindStringSubmatch(out); f != nil && f[1] != "0" {
		return Pgbench{}, fmt.Errorf("pgbench: %s failed transactions:\n%s", f[1], out)
	}
	tps, _ := strconv.ParseFloat(m[1], 64)
	count, _ := strconv.ParseInt(n[1], 10, 64)
	return Pgbench{PerSecond: tps, Updates: count}, nil
}

// libpqEnv turns a postgres:// URL as the server takes it (pgx's, which
// may carry search_path) into libpq's environment for pgbench, keeping
// the password out of the command line.
func libpqEnv(dbURL string) ([]string, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, fmt.Errorf("database-url: %w", err)
	}
	env := []string{"PGHOST=" + u.Hostname(), "PGDATABASE=" + strings.TrimPrefix(u.Path, "/")}
	if p := u.Port(); p != "" {
		env = append(env, "PGPORT="+p)
	}
	if u.User != nil {
		env = append(env, "PGUSER="+u.User.Username())
		if pw, ok := u.User.Password(); ok {
			env = append(env, "PGPASSWORD="+pw)
		}
	}
	q := u.Query()
	if v := q.Get("sslmode"); v != "" {
		env = append(env, "PGSSLMODE="+v)
	}
	if v := q.Get("search_path"); v != "" {
		env = append(env, "PGOPTIONS=-c search_path="+v)
	}
	return env, nil
}
