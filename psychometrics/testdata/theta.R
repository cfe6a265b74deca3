# theta.R computes, independently of the Go code, reference values for person
# scoring (ThetaMLE, ThetaWLE, ThetaEAP), person fit (PersonFitLz,
# PersonFitLzStar), the test curves (Curves), TCC inversion
# (ThetaForTrueScore) and the summed-score distribution and EAP table
# (SummedScoreDistribution, SummedScoreEAP).
#
# Regenerate (from the repository root; needs Debian's r-base-core and
# r-cran-erm):
#
#   Rscript psychometrics/testdata/theta.R
#
# (about two minutes: the estimates are located on a fine grid first).
#
# Everything is written straight from the published formulas in base R, with
# the 3PL in the logistic metric (D = 1): P = c + (1 - c) plogis(a (theta - b)).
# Numbers are printed with %.17g; NA marks a value that does not exist.
#
# Files written (all in this directory):
#
#   theta_items.csv   set,item,a,b,c — the item sets: "p2" (10 2PL items),
#                     "p3" (10 3PL items) and "rasch" (12 Rasch items whose
#                     difficulties are eRm's CML estimates, b = -betapar, from
#                     the seeded simulated data theta_rasch_data.csv), and
#                     "gap2" (2PL) and "gap3" (3PL): 7 items in two clusters
#                     of difficulty far apart, for which Warm's equation has
#                     two local maxima and the one with the larger weighted
#                     likelihood is not the one with the larger likelihood.
#   theta_golden.csv  one row per (set, response pattern); resp is the
#                     pattern, one character per item: 1, 0, or . for not
#                     administered. Columns:
#     mle_status      "ok", "extreme" (all administered items 0 or all 1),
#                     "none" (no item administered, or the log-likelihood is
#                     highest at an end of [-20, 20], where it still rises)
#     mle             stats::optimize() of the log-likelihood
#                     sum x ln P + (1 - x) ln Q (Lord, 1980, ch. 4) over a
#                     ±0.01 bracket around the maximum of a 0.001-step grid on
#                     [-20, 20], tol 1e-12 (optimize's accuracy is about 1e-8)
#     mle_root        stats::uniroot() of the score equation
#                     sum (x - P) P' / (P Q) = 0 in the same bracket,
#                     tol 1e-14 (the tight reference for the MLE)
#     mle_se          1 / sqrt(I(mle_root)), I = sum P'^2 / (P Q)
#     wle_status, wle uniroot() of Warm's (1989) equation
#                     sum (x - P) P' / (P Q) + J / (2 I) = 0,
#                     J = sum P' P'' / (P Q), in a ±0.01 bracket around the
#                     maximum on the same grid of the weighted log-likelihood
#                     l + ln w, ln w = integral of J / (2 I) by the
#                     trapezoidal rule (= ln(I) / 2 + const under the 2PL;
#                     no closed form under the 3PL), tol 1e-14
#     wle_se          1 / sqrt(I(wle))
#     eap, eap_sd     posterior mean and SD over the 61 nodes of
#                     seq(-6, 6, by = 0.2) with weights dnorm(node)
#                     (NormalQuadrature(61, 0, 1)); Bock & Mislevy (1982)
#     eap_int,        the same by stats::integrate() of theta^k L(theta)
#     eap_sd_int      dnorm(theta) over (-10, 10), rel.tol 1e-12: the
#                     continuous posterior, which the 61-node rule approximates
#     lz_mle, lzstar_mle, lz_wle, lzstar_wle
#                     lz (Drasgow, Levine & Williams, 1985) and lz* (Snijders,
#                     2001; Magis, Raiche & Beland, 2012, with r0 = 0 for ML
#                     and r0 = J / (2 I) for WL) at mle_root and at wle; lz*
#                     is NA when its variance vanishes (a single item)
#     lz_fixed        lz at theta = 0.5 (a known ability)
#   theta_tcc.csv     set,score,theta: uniroot() of sum P(theta) = score,
#                     tol 1e-14, for integer and fractional scores; NA when
#                     score <= sum c or score >= n
#   theta_curves.csv  set,theta,info,tcc,csem: I = sum P'^2 / (P Q),
#                     sum P, 1 / sqrt(I) on a grid of theta
#   theta_lw.csv      set,theta,score,prob: P(X = score | theta) for sets p2
#                     and p3 by brute-force enumeration of all 2^10 response
#                     patterns (Lord & Wingersky, 1984, compute it by
#                     recursion)
#   theta_sseap.csv   set,score,eap,sd,prob,eap_int,sd_int: summed-score EAP
#                     (Thissen et al., 1995) with P(X = x | theta) from the
#                     enumeration, over the 61 nodes (eap, sd, prob) and by
#                     integrate() against dnorm (eap_int, sd_int)
#   theta_rasch_data.csv  the simulated 0/1 data (400 persons, 12 items;
#                     set.seed(20240611))
#   theta_rasch_erm.csv   score,theta,se: eRm::person.parameter() of the
#                     eRm::RM() fit, one row per raw score 1..11 (eRm
#                     interpolates the extreme scores 0 and 12; they are left
#                     out). eRm maximises with nlm() at its default gradient
#                     tolerance and takes the SE from nlm's finite-difference
#                     Hessian, so it is a loose reference (about 1e-5).

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."
g <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))

# ---- model -----------------------------------------------------------------

irf <- function(it, theta) {
  s <- plogis(it$a * (theta - it$b))
  list(
    p = it$c + (1 - it$c) * s,
    q = (1 - it$c) * (1 - s),
    d1 = it$a * (1 - it$c) * s * (1 - s),
    d2 = it$a^2 * (1 - it$c) * s * (1 - s) * (1 - 2 * s)
  )
}
loglik <- function(it, x, theta) {
  f <- irf(it, theta)
  sum(x * log(f$p) + (1 - x) * log(f$q))
}
info <- function(it, theta) {
  f <- irf(it, theta)
  sum(f$d1^2 / (f$p * f$q))
}
score_ml <- function(it, x, theta) {
  f <- irf(it, theta)
  sum((x - f$p) * f$d1 / (f$p * f$q))
}
score_wl <- function(it, x, theta) {
  f <- irf(it, theta)
  pq <- f$p * f$q
  sum((x - f$p) * f$d1 / pq) + sum(f$d1 * f$d2 / pq) / (2 * sum(f$d1^2 / pq))
}
lz <- function(it, x, theta) {
  f <- irf(it, theta)
  l0 <- sum(x * log(f$p) + (1 - x) * log(f$q))
  e <- sum(f$p * log(f$p) + f$q * log(f$q))
  v <- sum(f$p * f$q * log(f$p / f$q)^2)
  (l0 - e) / sqrt(v)
}
lzstar <- function(it, x, theta, est) {
  f <- irf(it, theta)
  pq <- f$p * f$q
  w <- log(f$p / f$q)
  r <- f$d1 / pq
  r0 <- if (est == "ML") 0 else sum(f$d1 * f$d2 / pq) / (2 * sum(f$d1^2 / pq))
  cn <- sum(f$d1 * w) / sum(f$d1 * r)
  wt <- w - cn * r
  v <- sum(wt^2 * pq)
  # The corrected variance vanishes (w~ = 0) with one item or identical
  # items; below 1e-12 of the uncorrected variance it is rounding: undefined.
  if (v <= 1e-12 * sum(w^2 * pq)) {
    return(NA)
  }
  (sum((x - f$p) * w) + cn * r0) / sqrt(v)
}

grid <- seq(-20, 20, by = 0.001)

correction <- function(it, theta) {
  f <- irf(it, theta)
  pq <- f$p * f$q
  sum(f$d1 * f$d2 / pq) / (2 * sum(f$d1^2 / pq))
}

# maximise takes the objective tabulated on grid and returns its argmax
# refined by uniroot of score (and by optimize of obj, if given), or ok =
# FALSE when the grid maximum is at an end of the grid.
maximise <- function(v, score, obj = NULL) {
  k <- which.max(v)
  if (k == 1 || k == length(grid)) {
    return(list(ok = FALSE))
  }
  lo <- grid[k] - 0.01
  hi <- grid[k] + 0.01
  opt <- if (is.null(obj)) NA else optimize(obj, c(lo, hi), maximum = TRUE, tol = 1e-12)$maximum
  root <- uniroot(score, c(lo, hi), tol = 1e-14, maxiter = 1000)$root
  list(ok = TRUE, opt = opt, root = root)
}

nodes <- seq(-6, 6, by = 0.2)
weights <- dnorm(nodes) / sum(dnorm(nodes))

eap_nodes <- function(lik) {
  post <- weights * vapply(nodes, lik, 0)
  post <- post / sum(post)
  m <- sum(post * nodes)
  c(m, sqrt(sum(post * (nodes - m)^2)))
}
eap_integrate <- function(lik) {
  mom <- function(k) {
    integrate(function(t) vapply(t, function(u) u^k * lik(u) * dnorm(u), 0),
      -10, 10,
      rel.tol = 1e-12, subdivisions = 1000L
    )$value
  }
  m0 <- mom(0)
  m <- mom(1) / m0
  c(m, sqrt(mom(2) / m0 - m^2))
}

# ---- item sets -------------------------------------------------------------

sets <- list(
  p2 = data.frame(
    a = c(0.8, 1.2, 1.5, 0.6, 2.0, 1.0, 1.7, 0.9, 1.3, 2.2),
    b = c(-2.0, -1.4, -0.9, -0.5, -0.1, 0.3, 0.6, 1.1, 1.6, 2.3),
    c = 0
  ),
  p3 = data.frame(
    a = c(1.1, 0.7, 1.8, 1.4, 0.9, 2.1, 1.2, 1.6, 0.8, 1.9),
    b = c(-1.8, -1.2, -0.7, -0.2, 0.0, 0.4, 0.9, 1.3, 1.8, 2.5),
    c = c(0.20, 0.15, 0.25, 0.10, 0.30, 0.20, 0.05, 0.22, 0.18, 0.25)
  )
)

# Two clusters of items far apart: Warm's weighted likelihood is bimodal for
# the patterns below, and the log-likelihood alone would pick the other mode.
sets$gap2 <- data.frame(a = c(2, 2, 2, 2, 1.8, 1.8, 1.8), b = c(-3.6, -3.4, -3.2, -3, 3, 3.3, 3.6), c = 0)
sets$gap3 <- data.frame(
  a = c(2, 2, 2, 2, 1.8, 1.8, 1.8), b = c(-3.6, -3.4, -3.2, -3, 3, 3.3, 3.6),
  c = c(0.2, 0.2, 0.2, 0.2, 0.25, 0.25, 0.25)
)

# Rasch difficulties from eRm's CML fit of simulated data.
suppressMessages(library(eRm))
set.seed(20240611)
rb <- seq(-2.2, 2.2, length.out = 12)
rth <- rnorm(400)
rx <- matrix(rbinom(400 * 12, 1, plogis(outer(rth, rb, "-"))), 400, 12)
colnames(rx) <- sprintf("i%02d", 1:12)
fit <- RM(rx)
pp <- person.parameter(fit)
sets$rasch <- data.frame(a = 1, b = -unname(fit$betapar), c = 0)
write.csv(as.data.frame(rx), file.path(dir, "theta_rasch_data.csv"), row.names = FALSE, quote = FALSE)
scores <- rowSums(rx)
erm <- data.frame(score = integer(0), theta = character(0), se = character(0))
for (s in 1:11) {
  i <- which(scores == s)[1]
  erm <- rbind(erm, data.frame(
    score = s, theta = g(pp$thetapar$NAgroup1[i]),
    se = g(pp$se.theta$NAgroup1[i])
  ))
}
write.csv(erm, file.path(dir, "theta_rasch_erm.csv"), row.names = FALSE, quote = FALSE)

items_out <- do.call(rbind, lapply(names(sets), function(s) {
  it <- sets[[s]]
  data.frame(set = s, item = seq_len(nrow(it)) - 1, a = g(it$a), b = g(it$b), c = g(it$c))
}))
write.csv(items_out, file.path(dir, "theta_items.csv"), row.names = FALSE, quote = FALSE)

# ---- response patterns -----------------------------------------------------

set.seed(7)
pattern_string <- function(x) paste(ifelse(is.na(x), ".", as.character(x)), collapse = "")
patterns <- list()
for (s in c("p2", "p3")) {
  it <- sets[[s]]
  n <- nrow(it)
  ps <- list()
  for (th in c(-2.5, -1.2, -0.4, 0, 0.3, 0.9, 1.6, 2.4)) {
    ps[[length(ps) + 1]] <- as.integer(runif(n) < irf(it, th)$p)
  }
  ps[[length(ps) + 1]] <- rep(0L, n)
  ps[[length(ps) + 1]] <- rep(1L, n)
  ps[[length(ps) + 1]] <- c(NA, 1L, 0L, NA, 1L, 1L, 0L, NA, 0L, 1L)
  ps[[length(ps) + 1]] <- c(NA, NA, 1L, NA, NA, NA, NA, NA, NA, NA)
  ps[[length(ps) + 1]] <- rep(NA_integer_, n)
  # Misfitting: hard items right, easy items wrong.
  ps[[length(ps) + 1]] <- c(0L, 0L, 0L, 0L, 0L, 1L, 1L, 1L, 1L, 1L)
  ps[[length(ps) + 1]] <- c(0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L, 1L, 1L)
  ps[[length(ps) + 1]] <- c(1L, 1L, 1L, 1L, 1L, 1L, 1L, 1L, 1L, 0L)
  patterns[[s]] <- ps
}
ps <- list()
for (th in c(-1.5, -0.3, 0.4, 1.2)) {
  ps[[length(ps) + 1]] <- as.integer(runif(12) < irf(sets$rasch, th)$p)
}
ps[[length(ps) + 1]] <- c(rep(1L, 11), 0L)
ps[[length(ps) + 1]] <- c(rep(0L, 11), 1L)
ps[[length(ps) + 1]] <- rep(0L, 12)
ps[[length(ps) + 1]] <- rep(1L, 12)
patterns$rasch <- ps
patterns$gap2 <- list(c(1L, 1L, 1L, 1L, 0L, 0L, 0L), c(1L, 1L, 1L, 0L, 0L, 0L, 0L), c(1L, 1L, 1L, 1L, 1L, 0L, 0L))
patterns$gap3 <- list(
  c(1L, 1L, 1L, 1L, 0L, 0L, 0L), c(1L, 1L, 1L, 1L, 1L, 0L, 0L),
  c(1L, 1L, 1L, 1L, 0L, 1L, 0L), c(1L, 1L, 1L, 0L, 0L, 0L, 0L)
)

rows <- list()
for (s in names(patterns)) {
  for (id in seq_along(patterns[[s]])) {
    x <- patterns[[s]][[id]]
    keep <- !is.na(x)
    it <- sets[[s]][keep, , drop = FALSE]
    xx <- x[keep]
    n <- length(xx)
    na <- rep(NA_real_, 1)
    mle_status <- "ok"
    mle <- mle_root <- mle_se <- lz_mle <- lzstar_mle <- na
    if (n == 0) {
      mle_status <- "none"
    } else if (sum(xx) == 0 || sum(xx) == n) {
      mle_status <- "extreme"
    } else {
      obj <- function(t) loglik(it, xx, t)
      m <- maximise(vapply(grid, obj, 0), function(t) score_ml(it, xx, t), obj)
      if (!m$ok) {
        mle_status <- "none"
      } else {
        mle <- m$opt
        mle_root <- m$root
        mle_se <- 1 / sqrt(info(it, mle_root))
        lz_mle <- lz(it, xx, mle_root)
        lzstar_mle <- lzstar(it, xx, mle_root, "ML")
      }
    }
    wle_status <- "ok"
    wle <- wle_se <- lz_wle <- lzstar_wle <- na
    if (n == 0) {
      wle_status <- "none"
    } else {
      # ln w = integral of Warm's correction J / (2 I), by the trapezoidal
      # rule on the grid (for the 2PL it equals ln(I) / 2 + const).
      ph <- vapply(grid, function(t) correction(it, t), 0)
      lnw <- c(0, cumsum(diff(grid) * (head(ph, -1) + tail(ph, -1)) / 2))
      m <- maximise(vapply(grid, function(t) loglik(it, xx, t), 0) + lnw, function(t) score_wl(it, xx, t))
      if (!m$ok) {
        wle_status <- "none"
      } else {
        wle <- m$root
        wle_se <- 1 / sqrt(info(it, wle))
        lz_wle <- lz(it, xx, wle)
        lzstar_wle <- lzstar(it, xx, wle, "WL")
      }
    }
    lik <- function(t) exp(loglik(it, xx, t))
    e1 <- eap_nodes(lik)
    e2 <- eap_integrate(lik)
    lzf <- if (n > 0) lz(it, xx, 0.5) else na
    rows[[length(rows) + 1]] <- data.frame(
      set = s, id = id - 1, resp = pattern_string(x),
      mle_status = mle_status, mle = g(mle), mle_root = g(mle_root), mle_se = g(mle_se),
      wle_status = wle_status, wle = g(wle), wle_se = g(wle_se),
      eap = g(e1[1]), eap_sd = g(e1[2]), eap_int = g(e2[1]), eap_sd_int = g(e2[2]),
      lz_mle = g(lz_mle), lzstar_mle = g(lzstar_mle), lz_wle = g(lz_wle),
      lzstar_wle = g(lzstar_wle), lz_fixed = g(lzf)
    )
  }
}
write.csv(do.call(rbind, rows), file.path(dir, "theta_golden.csv"), row.names = FALSE, quote = FALSE)

# ---- TCC inversion and curves ------------------------------------------------

rows <- list()
curves <- list()
for (s in names(sets)) {
  it <- sets[[s]]
  n <- nrow(it)
  tau <- function(t) sum(irf(it, t)$p)
  for (sc in sort(c(0:n, sum(it$c) + 0.05, 3.7, n - 0.3))) {
    th <- if (sc <= sum(it$c) || sc >= n) {
      NA
    } else {
      uniroot(function(t) tau(t) - sc, c(-60, 60), tol = 1e-14, maxiter = 1000)$root
    }
    rows[[length(rows) + 1]] <- data.frame(set = s, score = g(sc), theta = g(th))
  }
  for (t in c(-4, -2.5, -1, -0.3, 0, 0.7, 1.5, 3, 5)) {
    i <- info(it, t)
    curves[[length(curves) + 1]] <- data.frame(
      set = s, theta = g(t), info = g(i), tcc = g(tau(t)), csem = g(1 / sqrt(i))
    )
  }
}
write.csv(do.call(rbind, rows), file.path(dir, "theta_tcc.csv"), row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, curves), file.path(dir, "theta_curves.csv"), row.names = FALSE, quote = FALSE)

# ---- summed-score distribution by enumeration ------------------------------------

all_patterns <- as.matrix(expand.grid(rep(list(0:1), 10)))
enumerate <- function(it, theta) {
  p <- irf(it, theta)$p
  lp <- all_patterns %*% log(p) + (1 - all_patterns) %*% log(1 - p)
  tapply(exp(lp), rowSums(all_patterns), sum)
}
lw <- list()
ss <- list()
for (s in c("p2", "p3")) {
  it <- sets[[s]]
  for (t in c(-2, -0.5, 0, 1.3, 3)) {
    d <- enumerate(it, t)
    lw[[length(lw) + 1]] <- data.frame(set = s, theta = g(t), score = 0:10, prob = g(d))
  }
  dn <- sapply(nodes, function(t) enumerate(it, t)) # 11 x 61
  for (x in 0:10) {
    lik <- dn[x + 1, ] * weights
    m0 <- sum(lik)
    m <- sum(lik * nodes) / m0
    sdv <- sqrt(sum(lik * (nodes - m)^2) / m0)
    likx <- function(t) vapply(t, function(u) enumerate(it, u)[x + 1] * dnorm(u), 0)
    i0 <- integrate(likx, -10, 10, rel.tol = 1e-12)$value
    i1 <- integrate(function(t) t * likx(t), -10, 10, rel.tol = 1e-12)$value / i0
    i2 <- integrate(function(t) (t - i1)^2 * likx(t), -10, 10, rel.tol = 1e-12)$value / i0
    ss[[length(ss) + 1]] <- data.frame(
      set = s, score = x, eap = g(m), sd = g(sdv), prob = g(m0),
      eap_int = g(i1), sd_int = g(sqrt(i2))
    )
  }
}
write.csv(do.call(rbind, lw), file.path(dir, "theta_lw.csv"), row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, ss), file.path(dir, "theta_sseap.csv"), row.names = FALSE, quote = FALSE)
