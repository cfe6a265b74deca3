package psychometrics_test

import (
	"fmt"

	"github.com/touchstone-assess/touchstone/psychometrics"
)

func ExampleOptionAnalysis() {
	// Ten candidates, four items; the key of item 3 says "C" although the
	// strongest candidates chose "B".
	choices := [][]string{
		{"A", "B", "D", "B"},
		{"A", "B", "D", "B"},
		{"A", "B", "D", "B"},
		{"A", "C", "D", "B"},
		{"A", "B", "A", "C"},
		{"A", "B", "D", "C"},
		{"B", "C", "A", "C"},
		{"C", "C", "A", "C"},
		{"D", "A", "", "C"},
		{"B", "C", "A", "C"},
	}
	key := []string{"A", "B", "D", "C"}
	for _, it := range psychometrics.OptionAnalysis(choices, key, psychometrics.FlagRules{}) {
		fmt.Printf("item %d %v\n", it.Item, it.Flags)
		for _, o := range it.Options {
			fmt.Printf("  %s key=%-5v p=%.2f r=%+.2f\n", o.Option, o.IsKey, o.Proportion, o.PointBiserial)
		}
	}
	// Output:
	// item 0 []
	//   A key=true  p=0.60 r=+0.74
	//   B key=false p=0.20 r=-0.45
	//   C key=false p=0.10 r=-0.30
	//   D key=false p=0.10 r=-0.30
	// item 1 []
	//   A key=false p=0.10 r=-0.36
	//   B key=true  p=0.50 r=+0.78
	//   C key=false p=0.40 r=-0.57
	// item 2 []
	//   A key=false p=0.40 r=-0.21
	//   D key=true  p=0.50 r=+0.38
	// item 3 [negative_discrimination probable_miskey]
	//   B key=false p=0.40 r=+0.69
	//   C key=true  p=0.60 r=-0.69
}

func ExampleLordCSEMTable() {
	for x, se := range psychometrics.LordCSEMTable(4) {
		fmt.Printf("%d %.3f\n", x, se)
	}
	// Output:
	// 0 0.000
	// 1 1.000
	// 2 1.155
	// 3 1.000
	// 4 0.000
}
