package qti

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/touchstone-assess/touchstone/internal/valid"
	"github.com/touchstone-assess/touchstone/items"
)

// CSV columns. ImportCSV reads a header row naming the columns, in any
// order and any letter case; the required ones must be there, the others
// may be, and any other name is an error (so a misspelt column is not
// silently ignored).
const (
	ColIdentifier = "identifier" // required: the item's stable identifier, unique in the file
	ColTitle      = "title"      // optional label
	ColDomain     = "domain"     // required
	ColStem       = "stem"       // required, Markdown
	ColExhibit    = "exhibit"    // optional, Markdown
	ColKey        = "key"        // required: the letter of the correct option ("B"), or several for multiple_response ("A,C" or "AC")
	ColScoring    = "scoring"    // optional, multiple_response only: all_or_nothing (the default) or partial
	ColPoints     = "points"     // optional: the item's weight, default 1
	ColRationale  = "rationale"  // optional, Markdown
	ColSkills     = "skills"     // optional: skills separated by ";"
	ColReferences = "references" // optional: references separated by ";"
)

// CSVOptionColumns are the option columns option_a … option_h; option
// X's ID is the letter X in upper case. option_a and option_b are
// required; an item uses the filled columns, which must come without a
// gap (option_c empty but option_d filled is an error).
var CSVOptionColumns = []string{"option_a", "option_b", "option_c", "option_d", "option_e", "option_f", "option_g", "option_h"}

// ImportCSV reads a bank of single-choice and multiple-response items
// from CSV (RFC 4180, comma-separated, UTF-8 with an optional byte order
// mark; a cell that is not UTF-8 is an error) with a header row of the
// columns above. A key of one letter makes a single_choice item, of
// several letters a multiple_response item. Rows whose cells are all
// blank are skipped.
//
// ImportCSV is all or nothing: on any fault it returns no items and an
// *Error naming the line (of the file, counting the header as line 1) and
// the column: `line 7: key: "E" is not an option`. The file may hold at
// most MaxPackageBytes bytes and MaxItems items.
func ImportCSV(r io.Reader) ([]Item, error) {
	lim := &countingReader{r: io.LimitReader(r, MaxPackageBytes+1)}
	br := bufio.NewReader(lim)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte("\uFEFF")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.TrimLeadingSpace = false
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, &Error{Line: 1, Msg: "the file is empty; it needs a header row"}
		}
		return nil, csvError(err, lim)
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, &Error{Line: 1, Column: "column " + strconv.Itoa(i+1), Msg: "is not valid UTF-8; save the file as UTF-8"}
		}
		name := strings.ToLower(strings.TrimSpace(h))
		if !knownColumn(name) {
			return nil, &Error{Line: 1, Column: h, Msg: "is not a column ImportCSV knows"}
		}
		if _, dup := col[name]; dup {
			return nil, &Error{Line: 1, Column: name, Msg: "appears twice in the header"}
		}
		col[name] = i
	}
	for _, req := range []string{ColIdentifier, ColDomain, ColStem, ColKey, "option_a", "option_b"} {
		if _, ok := col[req]; !ok {
			return nil, &Error{Line: 1, Column: req, Msg: "the header lacks this required column"}
		}
	}
	var out []Item
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err, lim)
		}
		line, _ := cr.FieldPos(0)
		for i, cell := range rec {
			if !utf8.ValidString(cell) {
				l, _ := cr.FieldPos(i)
				return nil, &Error{Line: l, Column: strings.ToLower(strings.TrimSpace(header[i])), Msg: "is not valid UTF-8; save the file as UTF-8"}
			}
		}
		if blank(rec) {
			continue
		}
		if len(out) == MaxItems {
			return nil, &Error{Line: line, Msg: fmt.Sprintf("the file holds more than %d items", MaxItems)}
		}
		it, err := csvItem(rec, col, line)
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[it.Identifier]; dup {
			return nil, &Error{Line: line, Column: ColIdentifier, Msg: fmt.Sprintf("%q is also the identifier on line %d", it.Identifier, prev)}
		}
		seen[it.Identifier] = line
		out = append(out, it)
	}
	if lim.n > MaxPackageBytes {
		return nil, &Error{Msg: fmt.Sprintf("the file is larger than %d bytes", MaxPackageBytes)}
	}
	if len(out) == 0 {
		return nil, &Error{Line: 2, Msg: "the file holds no items"}
	}
	return out, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func csvError(err error, lim *countingReader) error {
	if lim.n > MaxPackageBytes {
		return &Error{Msg: fmt.Sprintf("the file is larger than %d bytes", MaxPackageBytes)}
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{Line: pe.Line, Msg: pe.Err.Error()}
	}
	return &Error{Msg: err.Error()}
}

func knownColumn(name string) bool {
	switch name {
	case ColIdentifier, ColTitle, ColDomain, ColStem, ColExhibit, ColKey, ColScoring, ColPoints, ColRationale, ColSkills, ColReferences:
		return true
	}
	for _, c := range CSVOptionColumns {
		if name == c {
			return true
		}
	}
	return false
}

func blank(rec []string) bool {
	for _, s := range rec {
		if strings.TrimSpace(s) != "" {
			return false
		}
	}
	return true
}

// csvItem reads one record, found on line.
func csvItem(rec []string, col map[string]int, line int) (Item, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return rec[i]
		}
		return ""
	}
	fail := func(column, format string, args ...any) error {
		return &Error{Line: line, Column: column, Msg: fmt.Sprintf(format, args...)}
	}
	it := Item{Identifier: strings.TrimSpace(get(ColIdentifier)), Title: strings.TrimSpace(get(ColTitle))}
	if it.Identifier == "" {
		return Item{}, fail(ColIdentifier, "is required")
	}
	c := &it.Content
	c.Domain, c.Stem, c.Exhibit, c.Rationale = strings.TrimSpace(get(ColDomain)), get(ColStem), get(ColExhibit), get(ColRationale)
	c.Skills, c.References = list(get(ColSkills)), list(get(ColReferences))
	gap := ""
	for i, name := range CSVOptionColumns {
		text := get(name)
		if strings.TrimSpace(text) == "" {
			if gap == "" {
				gap = name
			}
			continue
		}
		if gap != "" {
			return Item{}, fail(gap, "is empty but %s is not; fill the options without a gap", name)
		}
		c.Options = append(c.Options, items.Option{ID: string(rune('A' + i)), Text: text})
	}
	var letters []string
	for _, r := range strings.ToUpper(get(ColKey)) {
		switch {
		case r == ',' || r == ';' || r == ' ' || r == '\t':
		case r >= 'A' && r <= 'Z':
			id := string(r)
			if int(r-'A') >= len(c.Options) {
				return Item{}, fail(ColKey, "%q is not an option", id)
			}
			for _, l := range letters {
				if l == id {
					return Item{}, fail(ColKey, "names %q twice", id)
				}
			}
			letters = append(letters, id)
		default:
			return Item{}, fail(ColKey, "%q is not an option letter", string(r))
		}
	}
	switch len(letters) {
	case 0:
		return Item{}, fail(ColKey, "is required")
	case 1:
		c.Key = letters[0]
	default:
		c.Kind, c.Keys = items.MultipleResponse, letters
	}
	if s := strings.ToLower(strings.TrimSpace(get(ColScoring))); s != "" {
		if c.Kind != items.MultipleResponse {
			return Item{}, fail(ColScoring, "applies only to items with several keys")
		}
		c.Scoring = s
	}
	if s := strings.TrimSpace(get(ColPoints)); s != "" {
		p, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
			return Item{}, fail(ColPoints, "%q is not a number", s)
		}
		c.Points = p
	}
	if err := c.Validate(); err != nil {
		var v *valid.Error
		if errors.As(err, &v) {
			return Item{}, fail(csvColumn(v.Field), "%s", v.Message)
		}
		return Item{}, fail("", "%v", err)
	}
	return it, nil
}

// csvColumn names the column of a Content field Validate found at fault:
// "options[2]" is option_c, "keys[0]" is key; a field about all the
// options stays "options".
func csvColumn(field string) string {
	name, index, _ := strings.Cut(field, "[")
	switch name {
	case "keys":
		return ColKey
	case "options":
		n, err := strconv.Atoi(strings.TrimSuffix(index, "]"))
		if err == nil && n >= 0 && n < len(CSVOptionColumns) {
			return CSVOptionColumns[n]
		}
	}
	return name
}

// list splits a cell of ";"-separated values, dropping blanks.
func list(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
