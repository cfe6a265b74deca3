package psychometrics

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkCalibrateMML2PL20kx60 calibrates the 2PL model on 20,000 persons ×
// 60 items at the default settings (61 quadrature points, tolerance 1e-5,
// cross-product standard errors). The data are simulated outside the timed
// loop.
func BenchmarkCalibrateMML2PL20kx60(b *testing.B) {
	rng := rand.New(rand.NewPCG(2020, 60))
	items := mmlItems(rng, 60, 1, false)
	x, _ := mmlSimulate(rng, 20000, items, 0, 1)
	b.ResetTimer()
	for b.Loop() {
		cal, err := CalibrateMML(x, MMLSettings{})
		if err != nil || !cal.Converged {
			b.Fatal(err, cal.Converged)
		}
		b.ReportMetric(float64(cal.Iterations), "cycles")
	}
}

// BenchmarkCalibrateMML3PL10kx30 calibrates the 3PL model (Beta(5, 17)
// prior on c) on 10,000 persons × 30 items at the default settings.
func BenchmarkCalibrateMML3PL10kx30(b *testing.B) {
	rng := rand.New(rand.NewPCG(2020, 30))
	items := mmlItems(rng, 30, 1.2, true)
	x, _ := mmlSimulate(rng, 10000, items, 0, 1)
	b.ResetTimer()
	for b.Loop() {
		cal, err := CalibrateMML(x, MMLSettings{Model: Model3PL})
		if err != nil || !cal.Converged {
			b.Fatal(err, cal.Converged)
		}
		b.ReportMetric(float64(cal.Iterations), "cycles")
	}
}

// BenchmarkSX2 computes S-X² for 5,000 persons × 40 2PL items.
func BenchmarkSX2(b *testing.B) {
	rng := rand.New(rand.NewPCG(2020, 40))
	items := mmlItems(rng, 40, 1, false)
	x, _ := mmlSimulate(rng, 5000, items, 0, 1)
	b.ResetTimer()
	for b.Loop() {
		if _, err := SX2(x, items, Quadrature{}, 2); err != nil {
			b.Fatal(err)
		}
	}
}
