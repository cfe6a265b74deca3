package assembly_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/touchstone-assess/touchstone/assess/assembly"
)

func ExampleAssemble() {
	pool := []assembly.Item{
		{ID: "f1", Domain: "formulas", Enemies: []string{"f2"}},
		{ID: "f2", Domain: "formulas"},
		{ID: "f3", Domain: "formulas", Exposure: 0.6},
		{ID: "c1", Domain: "charts"},
		{ID: "c2", Domain: "charts"},
		{ID: "p1", Domain: "charts", Pretest: true},
	}
	bp := assembly.Blueprint{Domains: []assembly.DomainTarget{{Domain: "formulas", Count: 2}, {Domain: "charts", Count: 1}}}
	rules := assembly.Rules{MaxExposure: 0.5, Pretest: 1}
	form, err := assembly.Assemble(pool, bp, rules, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(form.Items), form.Pretest, form.Relaxed)

	bp.Domains[0].Count = 3
	_, err = assembly.Assemble(pool, bp, rules, rand.New(rand.NewPCG(1, 2)))
	fmt.Println(err)
	// Output:
	// 3 [p1] [MaxExposure: domain formulas]
	// assembly: infeasible: domain "formulas": cannot find 3 items free of enemy conflicts with each other and the rest of the form
}
