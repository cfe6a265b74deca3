package psychometrics

import (
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// ItemStats is the classical analysis of one item.
type ItemStats struct {
	Item           int     // column index
	N              int     // persons administered the item
	Mean           float64 // mean item score; for 0/1 items, the p-value (proportion correct)
	PointBiserial  float64 // Pearson correlation of item score with total score (item included)
	ItemRest       float64 // correlation of item score with total minus the item (corrected item-total)
	AlphaIfDeleted float64 // Cronbach's alpha of the test without this item
}

// ItemAnalysis returns the classical statistics of each item (column) of the
// persons × items score matrix x, in column order.
//
// N and Mean use every person administered the item (every non-NaN cell of the
// column). PointBiserial, ItemRest and AlphaIfDeleted use listwise deletion, as
// CronbachAlpha does: only the persons administered every item, so that the
// total score X = Σ_j x_j means the same thing for everyone. For item j with
// scores x_j,
//
//	PointBiserial  = r(x_j, X)
//	ItemRest       = r(x_j, X − x_j)
//	AlphaIfDeleted = (k−1)/(k−2) · (1 − (Σ_{i≠j} s_i²) / s²_{X−x_j})
//
// where r is the Pearson correlation, s² the sample variance and k the number
// of items. For 0/1 items r(x_j, X) is the point-biserial correlation; the same
// formulas serve polytomous items (the item-total correlation). See Crocker &
// Algina (1986), ch. 14, and Cronbach (1951).
//
// A statistic that is undefined for the data is NaN: Mean when no person was
// administered the item; the correlations when fewer than two persons are
// complete or a variable is constant (for example an item every complete person
// answered correctly); AlphaIfDeleted when k = 2, since alpha of one item is
// undefined.
//
// ItemAnalysis panics if x has no rows or fewer than two columns.
func ItemAnalysis(x mat.Matrix) []ItemStats {
	r, k := x.Dims()
	checkScores(r, k)

	out := make([]ItemStats, k)
	for j := range k {
		var n int
		var sum float64
		for i := range r {
			if v := x.At(i, j); !math.IsNaN(v) {
				n++
				sum += v
			}
		}
		mean := math.NaN()
		if n > 0 {
			mean = sum / float64(n)
		}
		out[j] = ItemStats{
			Item:           j,
			N:              n,
			Mean:           mean,
			PointBiserial:  math.NaN(),
			ItemRest:       math.NaN(),
			AlphaIfDeleted: math.NaN(),
		}
	}

	cols, total := completeCases(x)
	if len(total) < 2 {
		return out
	}
	vars := make([]float64, k)
	var sumVar float64
	for j, col := range cols {
		vars[j] = stat.Variance(col, nil)
		sumVar += vars[j]
	}
	rest := make([]float64, len(total))
	for j, col := range cols {
		for i, v := range col {
			rest[i] = total[i] - v
		}
		out[j].PointBiserial = stat.Correlation(col, total, nil)
		out[j].ItemRest = stat.Correlation(col, rest, nil)
		if k > 2 {
			out[j].AlphaIfDeleted = alpha(k-1, sumVar-vars[j], stat.Variance(rest, nil))
		}
	}
	return out
}

// CronbachAlpha returns coefficient alpha of the persons × items score matrix x,
//
//	α = k/(k−1) · (1 − Σ_j s_j² / s_X²)
//
// where k is the number of items, s_j² the sample variance of item j and s_X²
// the sample variance of the total score X = Σ_j x_j (Cronbach, 1951; Crocker &
// Algina, 1986, ch. 7). For 0/1 items alpha equals KR-20.
//
// Persons with any NaN (not administered) cell are dropped before computing
// (listwise deletion), so alpha describes the persons who took the whole test.
// The result is NaN when fewer than two persons are complete or the total
// score is constant. Alpha may be negative when items correlate negatively.
//
// CronbachAlpha panics if x has no rows or fewer than two columns.
func CronbachAlpha(x mat.Matrix) float64 {
	r, k := x.Dims()
	checkScores(r, k)
	cols, total := completeCases(x)
	return alphaOf(cols, total)
}

// TestStats is the classical analysis of a whole test.
type TestStats struct {
	N     int     // persons administered every item (complete cases)
	Items int     // number of items
	Mean  float64 // mean total score
	SD    float64 // sample standard deviation (n − 1) of total scores
	Alpha float64 // Cronbach's alpha
	SEM   float64 // standard error of measurement, SD·√(1 − Alpha)
}

// TestAnalysis returns the total-score statistics of the persons × items score
// matrix x. Like CronbachAlpha it uses listwise deletion: N counts, and Mean,
// SD, Alpha and SEM describe, only the persons administered every item. The
// total score is X = Σ_j x_j; SD is its sample standard deviation
//
//	SD = √(Σ_i (X_i − X̄)² / (N − 1))
//
// Alpha is CronbachAlpha(x) and SEM is SEM(SD, Alpha) (Crocker & Algina, 1986,
// chs. 6–7). Statistics that are undefined for the data are NaN: Mean when N
// is 0; SD, Alpha and SEM when N < 2.
//
// TestAnalysis panics if x has no rows or fewer than two columns.
func TestAnalysis(x mat.Matrix) TestStats {
	r, k := x.Dims()
	checkScores(r, k)
	cols, total := completeCases(x)
	ts := TestStats{
		N:     len(total),
		Items: k,
		Mean:  math.NaN(),
		SD:    math.NaN(),
		Alpha: math.NaN(),
		SEM:   math.NaN(),
	}
	if len(total) == 0 {
		return ts
	}
	ts.Mean = stat.Mean(total, nil)
	if len(total) < 2 {
		return ts
	}
	ts.SD = stat.StdDev(total, nil)
	ts.Alpha = alphaOf(cols, total)
	ts.SEM = SEM(ts.SD, ts.Alpha)
	return ts
}

// SEM returns the standard error of measurement of scores with standard
// deviation sd and reliability coefficient reliability,
//
//	SEM = sd · √(1 − reliability)
//
// in the units of sd (Crocker & Algina, 1986, ch. 6). The result is NaN when
// reliability > 1; a negative reliability (possible for an estimate such as
// alpha) gives an SEM larger than sd.
func SEM(sd, reliability float64) float64 {
	return sd * math.Sqrt(1-reliability)
}

// checkScores panics unless a persons × items matrix of r rows and k columns
// has at least one person and two items.
func checkScores(r, k int) {
	if r < 1 {
		panic("psychometrics: no persons")
	}
	if k < 2 {
		panic("psychometrics: fewer than two items")
	}
}

// completeCases returns the columns of x restricted to the rows without NaN,
// and the row totals of those rows.
func completeCases(x mat.Matrix) (cols [][]float64, total []float64) {
	r, k := x.Dims()
	cols = make([][]float64, k)
	row := make([]float64, k)
rows:
	for i := range r {
		for j := range k {
			v := x.At(i, j)
			if math.IsNaN(v) {
				continue rows
			}
			row[j] = v
		}
		var t float64
		for j, v := range row {
			cols[j] = append(cols[j], v)
			t += v
		}
		total = append(total, t)
	}
	return cols, total
}

// alphaOf returns coefficient alpha of complete-case columns with the given
// row totals.
func alphaOf(cols [][]float64, total []float64) float64 {
	if len(total) < 2 {
		return math.NaN()
	}
	var sumVar float64
	for _, col := range cols {
		sumVar += stat.Variance(col, nil)
	}
	return alpha(len(cols), sumVar, stat.Variance(total, nil))
}

// alpha returns k/(k−1) · (1 − sumVar/totalVar), NaN when totalVar is 0.
func alpha(k int, sumVar, totalVar float64) float64 {
	if totalVar == 0 {
		return math.NaN()
	}
	kf := float64(k)
	return kf / (kf - 1) * (1 - sumVar/totalVar)
}
