package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as tables for people.
func (r Report) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s run against %s: exam %q, %d candidates, %.1f s\n\n", r.Mode, r.URL, r.Exam, r.Candidates, r.Elapsed)
	if err := writeEndpoints(w, r.Endpoints); err != nil {
		return err
	}
	for _, e := range r.Endpoints {
		keys := make([]string, 0, len(e.Errors))
		for k := range e.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %d × %s\n", e.Name, e.Errors[k], k)
		}
	}
	if s := r.Steady; s != nil {
		fmt.Fprintf(w, "\nwith every candidate in the exam, from %.0f s to %.0f s:\n", s.From, s.To)
		if err := writeEndpoints(w, s.Endpoints); err != nil {
			return err
		}
	}
	if r.Unavailable > 0 {
		fmt.Fprintf(w, "  during the outage: %d calls found the server unavailable (not errors: --outages)\n", r.Unavailable)
	}
	fmt.Fprintf(w, "\nacknowledged saves: %.1f/s; submitted: %d", r.SavesPerSecond, r.Completed)
	if r.InExamPeak > 0 {
		fmt.Fprintf(w, "; at most %d in the exam at once", r.InExamPeak)
	}
	if r.StreamsOpened > 0 {
		fmt.Fprintf(w, "; event streams: %d opened, at most %d open at once", r.StreamsOpened, r.StreamsPeak)
	}
	if r.Disconnects > 0 {
		fmt.Fprintf(w, "; disconnected %d, resumed %d", r.Disconnects, r.Resumed)
	}
	fmt.Fprintln(w)
	if r.SnapshotsOff {
		fmt.Fprintln(w, "the exam takes no webcam snapshots: none sent (loadtest setup --exam … --snapshot-seconds 30 turns them on)")
	}
	if r.Pgbench != nil {
		p := r.Pgbench
		fmt.Fprintf(w, "pgbench, %d clients, %.0f s: %.1f updates/s; answer saves over pgbench: %.1f %%\n", p.Clients, p.Seconds, p.PerSecond, 100*p.Ratio)
	}
	if c := r.Check; c != nil {
		fmt.Fprintf(w, "acknowledged answers: %d, stored: %d, lost: %d (the latest answer of each item; %d saves acknowledged)\n",
			c.Acknowledged, c.Stored, c.Lost, c.Saves)
		for _, e := range c.Examples {
			fmt.Fprintln(w, "  lost: "+e)
		}
	} else {
		fmt.Fprintln(w, "acknowledged answers: not checked (no --database-url)")
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, "problem: "+p)
	}
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	_, err := fmt.Fprintln(w, strings.TrimSpace(verdict))
	return err
}

// writeEndpoints writes a table of endpoints' figures and their total.
func writeEndpoints(w io.Writer, endpoints []EndpointStats) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\tcount\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\t")
	var count, errors int64
	var perSecond float64
	for _, e := range endpoints {
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t\n", e.Name, e.Count, e.PerSecond, e.P50, e.P90, e.P99, e.Max, e.ErrorSum)
		count, errors, perSecond = count+e.Count, errors+e.ErrorSum, perSecond+e.PerSecond
	}
	fmt.Fprintf(tw, "total\t%d\t%.1f\t\t\t\t\t%d\t\n", count, perSecond, errors)
	return tw.Flush()
}
