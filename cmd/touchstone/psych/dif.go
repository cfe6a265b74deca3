package psych

import (
	"io"
	"sort"
	"text/tabwriter"

	"gonum.org/v1/gonum/mat"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

type difItem struct {
	Item              string `json:"item"`
	NReference        int    `json:"n_reference"`
	NFocal            int    `json:"n_focal"`
	AlphaMH           num    `json:"alpha_mh"`
	Chi2MH            num    `json:"chi2_mh"`
	PValue            num    `json:"p_value"`
	Chi2MHUncorrected num    `json:"chi2_mh_uncorrected"`
	PValueUncorrected num    `json:"p_value_uncorrected"`
	DeltaMH           num    `json:"delta_mh"`
	SEDeltaMH         num    `json:"se_delta_mh"`
	ETSClass          string `json:"ets_class"`
}

type difOutput struct {
	Reference string    `json:"reference"`
	Focal     string    `json:"focal"`
	Persons   int       `json:"persons"`
	Missing   string    `json:"missing"`
	Items     []difItem `json:"items"`
}

func runDIF(args []string, stdout io.Writer) error {
	f := newFlags("dif", "dif --scored scored.csv --groups groups.csv --focal F [--reference R] [flags]", stdout)
	scoredFile := f.String("scored", "", "scored responses `file` ([person,]<item…>, 0/1)")
	groupsFile := f.String("groups", "", "groups `file`: person,group, or a single group column aligned with the responses by row")
	focalName := f.String("focal", "", "the focal group's label")
	refName := f.String("reference", "", "the reference group's label (default: the one other group in the file)")
	missing := missingFlag(f)
	if err := f.parse(args, "scored", "groups", "focal"); err != nil {
		return err
	}
	policy, policyName, err := missing()
	if err != nil {
		return err
	}
	data, err := readFile(*scoredFile, ReadScored)
	if err != nil {
		return err
	}
	groups, err := readFile(*groupsFile, func(file string, r io.Reader) ([]string, error) { return ReadGroups(file, r, data.Persons) })
	if err != nil {
		return err
	}
	labels := map[string]int{}
	for _, g := range groups {
		labels[g]++
	}
	if labels[*focalName] == 0 {
		return inputErrorf(*groupsFile, "no person in focal group %q (groups: %v)", *focalName, sortedKeys(labels))
	}
	ref := *refName
	if ref == "" {
		if len(labels) != 2 {
			return usagef("psych dif: %s has %d groups %v: name the reference group with --reference", *groupsFile, len(labels), sortedKeys(labels))
		}
		for g := range labels {
			if g != *focalName {
				ref = g
			}
		}
	}
	if labels[ref] == 0 || ref == *focalName {
		return inputErrorf(*groupsFile, "no person in reference group %q (groups: %v)", ref, sortedKeys(labels))
	}

	x, kept := psychometrics.ApplyMissing(data.Scores, policy)
	_, k := x.Dims()
	var rows []int
	var focal []bool
	for r, i := range kept {
		if g := groups[i]; g == ref || g == *focalName {
			rows = append(rows, r)
			focal = append(focal, g == *focalName)
		}
	}
	sub := mat.NewDense(max(len(rows), 1), k, nil)
	for r, src := range rows {
		sub.SetRow(r, x.RawRowView(src))
	}
	if len(rows) == 0 {
		return inputErrorf(data.File, "no complete responses in the two groups")
	}
	res, err := psychometrics.MantelHaenszel(sub, focal, psychometrics.DIFSettings{})
	if err != nil {
		return inputErrorf(data.File, "%v", err)
	}
	out := difOutput{Reference: ref, Focal: *focalName, Persons: len(rows), Missing: policyName}
	for j, r := range res {
		out.Items = append(out.Items, difItem{
			Item: data.Items[j], NReference: r.Reference, NFocal: r.Focal,
			AlphaMH: num(r.AlphaMH), Chi2MH: num(r.Chi2MH), PValue: num(r.PValue),
			Chi2MHUncorrected: num(r.Chi2MHUncorrected), PValueUncorrected: num(r.PValueUncorrected),
			DeltaMH: num(r.DeltaMH), SEDeltaMH: num(r.SEDeltaMH), ETSClass: r.Class.String(),
		})
	}
	return f.output(stdout, out, func(tw *tabwriter.Writer) {
		row(tw, "reference", out.Reference, "focal", out.Focal, "persons", out.Persons)
		row(tw)
		row(tw, "item", "α_MH", "χ²_MH", "p", "Δ_MH", "SE(Δ)", "ETS")
		sorted := append([]difItem(nil), out.Items...)
		sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].ETSClass > sorted[b].ETSClass })
		for _, it := range sorted {
			row(tw, it.Item, it.AlphaMH, it.Chi2MH, it.PValue, it.DeltaMH, it.SEDeltaMH, it.ETSClass)
		}
	})
}
