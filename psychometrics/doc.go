// Package psychometrics provides the statistics of an assessment program:
// classical item and test analysis, reliability, item response theory (IRT)
// calibration and scoring, adaptive testing, differential item functioning,
// standard setting, decision consistency and accuracy, and linking and
// equating.
//
// The package is pure numeric code in the style of gonum's stat package.
// Functions take data and return results; they perform no I/O, keep no state
// and draw random numbers only from a source the caller passes in, so the same
// inputs always give the same outputs.
//
// # What it computes
//
//   - Classical analysis: [ItemAnalysis] (p-value, point-biserial, item-rest,
//     biserial, alpha if deleted, upper–lower index, discriminative
//     efficiency, flags), [OptionAnalysis] (distractors and quantile plot
//     data), [TestAnalysis] (moments, alpha/KR-20, KR-21, split-half, SEM),
//     [LordCSEM], and [ApplyMissing] for the treatment of missing responses.
//   - IRT calibration: [CalibrateRasch] (conditional maximum likelihood),
//     [CalibrateMML] (1PL, 2PL, 3PL by marginal maximum likelihood with EM,
//     priors and anchors), item fit ([RaschItemFit], [SX2]).
//   - Person scoring: [ThetaMLE], [ThetaWLE], [ThetaEAP], [SummedScoreEAP],
//     [ThetaForRawScores], [Curves], person fit ([PersonFitLzStar]).
//   - Adaptive testing: [NewCAT] (maximum information with randomesque
//     exposure control and content balancing, EAP updates, SE stopping);
//     [SimulateCAT] compares a bank's CAT with fixed forms of equal
//     reliability.
//   - DIF: [MantelHaenszel] with the ETS A/B/C classes.
//   - Standard setting: [Angoff], [YesNoAngoff], [AngoffRounds], [Bookmark],
//     [Hofstee], [Beuk], [BorderlineGroup], [ContrastingGroups], [Impact].
//   - Decision consistency and accuracy: [LivingstonLewis], [Subkoviak],
//     [Rudner], [RudnerQuadrature].
//   - Linking and equating: [MeanMean], [MeanSigma], [StockingLord],
//     [TrueScoreEquating], [Equipercentile].
//   - Simulation: [Simulate3PL].
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
// Every function cites its source, with chapter or equation where it
// matters, in its documentation. The main ones are:
//
//   - Andersen, E. B. (1970). Asymptotic properties of conditional
//     maximum-likelihood estimators. JRSS B, 32(2), 283–301.
//   - Angoff, W. H. (1971). Scales, norms, and equivalent scores. In R. L.
//     Thorndike (Ed.), Educational Measurement (2nd ed.). ACE.
//   - Birnbaum, A. (1968). Some latent trait models and their use in inferring
//     an examinee's ability. In F. M. Lord & M. R. Novick, Statistical
//     Theories of Mental Test Scores. Addison-Wesley.
//   - Bock, R. D., & Aitkin, M. (1981). Marginal maximum likelihood estimation
//     of item parameters: Application of an EM algorithm. Psychometrika,
//     46(4), 443–459.
//   - Bock, R. D., & Mislevy, R. J. (1982). Adaptive EAP estimation of
//     ability in a microcomputer environment. APM, 6(4), 431–444.
//   - Cizek, G. J., & Bunch, M. B. (2007). Standard Setting. Sage.
//   - Crocker, L., & Algina, J. (1986). Introduction to Classical and Modern
//     Test Theory. Holt, Rinehart and Winston.
//   - Cronbach, L. J. (1951). Coefficient alpha and the internal structure of
//     tests. Psychometrika, 16(3), 297–334.
//   - Fischer, G. H., & Molenaar, I. W. (Eds.) (1995). Rasch Models. Springer.
//   - Holland, P. W., & Thayer, D. T. (1988). Differential item performance
//     and the Mantel–Haenszel procedure. In H. Wainer & H. I. Braun (Eds.),
//     Test Validity. Erlbaum.
//   - Kingsbury, G. G., & Zara, A. R. (1989). Procedures for selecting items
//     for computerized adaptive tests. AME, 2(4), 359–375.
//   - Kolen, M. J., & Brennan, R. L. (2014). Test Equating, Scaling, and
//     Linking (3rd ed.). Springer.
//   - Livingston, S. A., & Lewis, C. (1995). Estimating the consistency and
//     accuracy of classifications based on test scores. JEM, 32(2), 179–197.
//   - Lord, F. M. (1980). Applications of Item Response Theory to Practical
//     Testing Problems. Erlbaum.
//   - Lord, F. M., & Wingersky, M. S. (1984). Comparison of IRT true-score and
//     equipercentile observed-score "equatings". APM, 8(4), 453–461.
//   - Mitzel, H. C., Lewis, D. M., Patz, R. J., & Green, D. R. (2001). The
//     Bookmark procedure. In G. J. Cizek (Ed.), Setting Performance Standards.
//     Erlbaum.
//   - Orlando, M., & Thissen, D. (2000). Likelihood-based item-fit indices for
//     dichotomous item response theory models. APM, 24(1), 50–64.
//   - Rudner, L. M. (2005). Expected classification accuracy. PARE, 10(13).
//   - Snijders, T. A. B. (2001). Asymptotic null distribution of person fit
//     statistics with estimated person parameter. Psychometrika, 66(3),
//     331–342.
//   - Stocking, M. L., & Lord, F. M. (1983). Developing a common metric in
//     item response theory. APM, 7(2), 201–210.
//   - Subkoviak, M. J. (1976). Estimating reliability from a single
//     administration of a criterion-referenced test. JEM, 13(4), 265–276.
//   - Warm, T. A. (1989). Weighted likelihood estimation of ability in item
//     response theory. Psychometrika, 54(3), 427–450.
//   - Zwick, R. (2012). A review of ETS differential item functioning
//     assessment procedures. ETS RR-12-08.
//
// The results are tested against R (base R and the Debian packages psych,
// eRm and psychotools) and against published tables; the R scripts that
// produced the reference values are in testdata, beside the data and the
// golden files.
package psychometrics
