// Package psychometrics provides the statistics of an assessment program:
// classical item and test analysis, reliability, standard setting, decision
// consistency and item response theory (IRT) simulation.
//
// The package is pure numeric code in the style of gonum's stat package.
// Functions take data and return results; they perform no I/O, keep no state
// and draw random numbers only from a source the caller passes in, so the same
// inputs always give the same outputs.
//
// # Conventions
//
// Response data are a persons × items matrix (a [mat.Matrix], usually a
// *[mat.Dense]): row i holds the scores of person i, column j the scores on
// item j. Item scores are 0/1 for dichotomous items; the classical statistics
// are also defined for polytomous integer scores (0, 1, 2, …) and accept them.
// NaN marks an item that was not administered to a person. Each function
// states how it treats NaN; the reliability statistics use listwise deletion,
// keeping only the persons who were administered every item.
//
// IRT models are logistic with the scaling constant D = 1:
//
//	P(θ) = c + (1 − c) / (1 + exp(−a(θ − b)))
//
// Scores are raw scores (number correct, or the sum of item scores) unless a
// function says otherwise, and a cut score is on the raw-score scale.
//
// # Errors and panics
//
// As in gonum, misuse — an empty matrix, too few items for the statistic, a
// non-positive test length, an impossible model parameter — panics, while a
// failure that depends on the data — a missing or out-of-range rating, a score
// the model cannot hold — is returned as an error that wraps one of the
// package's sentinel errors, so callers can test for it with [errors.Is]. A statistic that is
// undefined for the data at hand (for example a correlation with an item that
// every person answered correctly) is NaN, as in gonum's stat package.
//
// # References
//
// Every function cites its source in its documentation. The main ones are:
//
//   - Angoff, W. H. (1971). Scales, norms, and equivalent scores. In R. L.
//     Thorndike (Ed.), Educational Measurement (2nd ed.). American Council on
//     Education.
//   - Birnbaum, A. (1968). Some latent trait models and their use in inferring
//     an examinee's ability. In F. M. Lord & M. R. Novick, Statistical Theories
//     of Mental Test Scores. Addison-Wesley.
//   - Cizek, G. J., & Bunch, M. B. (2007). Standard Setting: A Guide to
//     Establishing and Evaluating Performance Standards on Tests. Sage.
//   - Crocker, L., & Algina, J. (1986). Introduction to Classical and Modern
//     Test Theory. Holt, Rinehart and Winston.
//   - Cronbach, L. J. (1951). Coefficient alpha and the internal structure of
//     tests. Psychometrika, 16(3), 297–334.
//   - Livingston, S. A., & Zieky, M. J. (1982). Passing Scores: A Manual for
//     Setting Standards of Performance on Educational and Occupational Tests.
//     Educational Testing Service.
//   - Subkoviak, M. J. (1976). Estimating reliability from a single
//     administration of a criterion-referenced test. Journal of Educational
//     Measurement, 13(4), 265–276.
//
// The results are tested against R (base R and the psych package); the R
// scripts that produced the reference values are in testdata.
package psychometrics
