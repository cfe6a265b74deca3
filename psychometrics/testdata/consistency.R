# consistency.R computes golden classification consistency and accuracy
# indices with base R, written here straight from the papers and
# independently of the Go code.
#
# Regenerate (from the repository root; needs Debian's r-base-core only):
#
#   Rscript psychometrics/testdata/consistency.R
#
# Input written:
#   consistency_sets.csv    set,min,max,reliability: six simulated tests with
#       their possible score range and reliability (coefficient alpha of the
#       simulated item scores, or the model's reliability for the
#       beta-binomial sets);
#   consistency_scores.csv  set,score: their observed scores:
#       "binary40"   1,000 number-correct scores on 40 0/1 items of varying
#                    difficulty and discrimination (a 2PL test); the
#                    four-parameter fit is inadmissible (a limit outside
#                    [0, 1]) and falls back to the two-parameter beta;
#       "weighted"   800 weighted sums of 12 items scored 0..4, weights 1..3
#                    (possible range 0..96; the scores are not integers on the
#                    effective-length scale); two-parameter fallback too;
#       "short"      600 scores on a 3-item test: effective length 3 < 4, so
#                    the two-parameter beta;
#       "beta4"      3,000 scores drawn from the four-parameter beta-binomial
#                    model (50 items, tau on [0.25, 0.9], shapes 3 and 2.2);
#                    four-parameter fit admissible;
#       "beta4neg"   the same with 60 items, tau on [0.3, 0.95], shapes 5 and
#                    1.6 (negative skew: the fitted alpha > beta);
#       "easy"       900 scores on a 30-item test most candidates nearly ace:
#                    admissible four-parameter fit with beta < 1, a density
#                    that is infinite at its upper limit.
#   consistency_theta.csv   theta,se: 400 IRT ability estimates with SEs.
#   consistency_items.csv   a,b,c: the 3PL items of the test whose CSEM the
#       quadrature (Rudner 2005) method uses.
#
# Golden written (numbers printed with %.17g):
#   consistency_ll_fit.csv     set,length,alpha,beta,lower,upper,four
#   consistency_ll_golden.csv  set,cut,agreement,kappa,chance,accuracy,
#                              false_pass,false_fail
#   consistency_rudner.csv     method,cut,agreement,kappa,chance,accuracy,
#                              false_pass,false_fail
#
# Livingston & Lewis (1995), J. Educ. Meas. 32(2), 179-197, for scores x on
# [min, max] with reliability r (mean m, variance v with divisor N):
#   n    = round(((m - min) (max - m) - r v) / (v (1 - r)))   effective length
#   y    = n (x - min) / (max - min)
#   E tau^k = E[y (y-1) ... (y-k+1)] / (n (n-1) ... (n-k+1))  (Lord 1965,
#          binomial error): the factorial moments are averaged directly here.
#   four-parameter beta on [l, u] by the method of moments, in the form of
#   Johnson, Kotz & Balakrishnan (1995, ch. 25) written with the
#   kurtosis b2 (the Go code writes it with the skewness g1):
#     r = 6 (b2 - g1^2 - 1) / (6 + 3 g1^2 - 2 b2)
#     alpha, beta = r/2 (1 -/+ sqrt(1 - 24 (r+1) / ((r+2) (r+3) b2 - 3 (r+1) (r-6))))
#     (alpha < beta when g1 > 0), u - l = sd r sqrt(r+1) / sqrt(alpha beta),
#     l = mean - (u - l) alpha / r
#   checked here by integrating the fitted density's first four moments with
#   integrate(); inadmissible (r <= 0, l < 0 or u > 1) or n < 4: two-parameter
#   beta on [0, 1] with the true-score mean and variance.
#   Classification at a raw cut: tc = (cut - min) / (max - min) on the true
#   proportion scale, pass on the effective length when y >= c = ceiling(n tc),
#   P(tau) = pbinom(c - 1, n, tau, lower.tail = FALSE), g the beta density,
#   each integral by integrate() (rel.tol 1e-12) after the probability
#   integral transform tau = l + (u - l) qbeta(q, alpha, beta), which removes
#   the density (and its singularities at l and u when a shape is below 1),
#   split at tc:
#     agreement  = int (P^2 + (1 - P)^2) g       chance = Pbar^2 + (1 - Pbar)^2
#     Pbar       = int P g                       kappa  = (agreement - chance) / (1 - chance)
#     accuracy   = int_{tau < tc} (1 - P) g + int_{tau >= tc} P g
#     false_pass = int_{tau < tc} P g            false_fail = int_{tau >= tc} (1 - P) g
#
# Rudner (2001), PARE 7(14), "person" method: p_i = pnorm((theta_i - cut) / se_i)
#   accuracy = mean(ifelse(theta >= cut, p, 1 - p)); false_pass = mean((theta >= cut) (1 - p));
#   false_fail = mean((theta < cut) p); agreement = mean(p^2 + (1 - p)^2);
#   chance and kappa from mean(p) as above (Lee 2010).
# Rudner (2005), PARE 10(13), "quadrature" method: nodes seq(-6, 6, length = 61)
#   with weights dnorm(nodes) / sum(dnorm(nodes)), csem = 1 / sqrt(I(theta)) with
#   the 3PL information I = sum a^2 (P - c)^2 / (1 - c)^2 (1 - P) / P (Lord 1980,
#   eq. 5-19, D = 1), p_k = pnorm((theta_k - cut) / csem_k) the probability of
#   an estimate at or above the cut:
#   accuracy = sum w (ifelse(theta >= cut, p, 1 - p)); false_pass = sum w (theta < cut) p;
#   false_fail = sum w (theta >= cut) (1 - p); agreement = sum w (p^2 + (1 - p)^2).

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."

g <- function(v) sprintf("%.17g", v)

cronbach <- function(x) {
  k <- ncol(x)
  k / (k - 1) * (1 - sum(apply(x, 2, var)) / var(rowSums(x)))
}

set.seed(19950601)
sim_2pl <- function(n, a, b, theta) {
  p <- plogis(outer(theta, b, "-") * rep(a, each = n))
  matrix(as.integer(runif(length(p)) < p), n)
}

sets <- list()
# binary40
x <- sim_2pl(1000, runif(40, 0.6, 1.8), rnorm(40, -0.3, 1), rnorm(1000))
sets$binary40 <- list(min = 0, max = 40, rel = cronbach(x), score = rowSums(x))
# weighted: 12 items scored 0..4 (graded), weights 1..3
theta <- rnorm(800)
items <- sapply(1:12, function(j) {
  steps <- sort(rnorm(4, 0, 1))
  rowSums(sapply(steps, function(s) runif(800) < plogis(1.3 * (theta - s))))
})
w <- rep(1:3, 4)
sets$weighted <- list(min = 0, max = sum(4 * w), rel = cronbach(sweep(items, 2, w, "*")),
                      score = as.vector(items %*% w))
# short
x <- sim_2pl(600, runif(3, 0.8, 1.5), c(-0.5, 0, 0.6), rnorm(600))
sets$short <- list(min = 0, max = 3, rel = cronbach(x), score = rowSums(x))
# beta4, beta4neg: number-correct scores drawn from the four-parameter beta
# binomial model itself (n items, true proportion tau = l + (u - l) Beta(a, b)),
# with the model's reliability var(n tau) / var(X).
beta4 <- function(N, n, l, u, a, b) {
  tau <- l + (u - l) * rbeta(N, a, b)
  m1 <- l + (u - l) * a / (a + b)
  vt <- (u - l)^2 * a * b / ((a + b)^2 * (a + b + 1))
  vx <- n * (m1 - (vt + m1^2)) + n^2 * vt
  list(min = 0, max = n, rel = n^2 * vt / vx, score = rbinom(N, n, tau))
}
sets$beta4 <- beta4(3000, 50, 0.25, 0.9, 3, 2.2)
sets$beta4neg <- beta4(3000, 60, 0.3, 0.95, 5, 1.6)
# easy
x <- sim_2pl(900, runif(30, 0.8, 2), rnorm(30, -2.2, 0.5), rnorm(900))
sets$easy <- list(min = 0, max = 30, rel = cronbach(x), score = rowSums(x))

info <- do.call(rbind, lapply(names(sets), function(nm) {
  s <- sets[[nm]]
  data.frame(set = nm, min = g(s$min), max = g(s$max), reliability = g(s$rel))
}))
write.csv(info, file.path(dir, "consistency_sets.csv"), row.names = FALSE, quote = FALSE)
scores <- do.call(rbind, lapply(names(sets), function(nm) data.frame(set = nm, score = g(sets[[nm]]$score))))
write.csv(scores, file.path(dir, "consistency_scores.csv"), row.names = FALSE, quote = FALSE)

# Read back what was written.
d <- read.csv(file.path(dir, "consistency_scores.csv"))
info <- read.csv(file.path(dir, "consistency_sets.csv"))
d <- cbind(d, info[match(d$set, info$set), c("min", "max", "reliability")])

ll_fit <- function(x, min, max, rel) {
  m <- mean(x)
  v <- mean((x - m)^2)
  n <- floor(((m - min) * (max - m) - rel * v) / (v * (1 - rel)) + 0.5)
  y <- n * (x - min) / (max - min)
  fall <- c(n, n * (n - 1), n * (n - 1) * (n - 2), n * (n - 1) * (n - 2) * (n - 3))
  fm <- c(mean(y), mean(y * (y - 1)), mean(y * (y - 1) * (y - 2)), mean(y * (y - 1) * (y - 2) * (y - 3)))
  tm <- fm / fall
  mu <- tm[1]
  s2 <- tm[2] - mu^2
  two <- function() {
    k <- mu * (1 - mu) / s2 - 1
    list(n = n, alpha = mu * k, beta = (1 - mu) * k, l = 0, u = 1, four = FALSE)
  }
  if (n < 4) return(two())
  m3 <- tm[3] - 3 * mu * tm[2] + 2 * mu^3
  m4 <- tm[4] - 4 * mu * tm[3] + 6 * mu^2 * tm[2] - 3 * mu^4
  g1 <- m3 / s2^1.5
  b2 <- m4 / s2^2
  r <- 6 * (b2 - g1^2 - 1) / (6 + 3 * g1^2 - 2 * b2)
  if (!is.finite(r) || r <= 0) return(two())
  d <- sqrt(1 - 24 * (r + 1) / ((r + 2) * (r + 3) * b2 - 3 * (r + 1) * (r - 6)))
  a <- r / 2 * (1 - d)
  b <- r / 2 * (1 + d)
  if (g1 < 0) { t <- a; a <- b; b <- t }
  width <- sqrt(s2) * r * sqrt(r + 1) / sqrt(a * b)
  l <- mu - width * a / r
  u <- l + width
  if (l < 0 || u > 1) return(two())
  # Check the fit: the fitted density's moments are the true-score moments.
  for (k in 1:4) {
    mk <- integrate(function(p) (l + (u - l) * qbeta(p, a, b))^k, 0, 1, rel.tol = 1e-12)$value
    stopifnot(abs(mk - tm[k]) < 1e-9 * tm[k])
  }
  list(n = n, alpha = a, beta = b, l = l, u = u, four = TRUE)
}

ll_classify <- function(f, min, max, cut) {
  n <- f$n
  tc <- (cut - min) / (max - min)
  c <- ceiling(n * tc * (1 - 1e-12))
  P <- function(t) pbinom(c - 1, n, t, lower.tail = FALSE)
  # int_lo^hi h(tau) g(tau) dtau through the probability integral transform,
  # tau = l + (u - l) qbeta(q, alpha, beta), q from pbeta(lo) to pbeta(hi):
  # the density disappears, and with it its singularities at l and u.
  int <- function(h, lo, hi) {
    if (hi <= lo) return(0)
    q <- function(t) pbeta((t - f$l) / (f$u - f$l), f$alpha, f$beta)
    integrate(function(p) h(f$l + (f$u - f$l) * qbeta(p, f$alpha, f$beta)),
              q(lo), q(hi), rel.tol = 1e-12, subdivisions = 10000L)$value
  }
  split <- min(max(tc, f$l), f$u)
  both <- function(h) int(h, f$l, split) + int(h, split, f$u)
  pbar <- both(P)
  agreement <- both(function(t) P(t)^2 + (1 - P(t))^2)
  chance <- pbar^2 + (1 - pbar)^2
  c(agreement = agreement, kappa = (agreement - chance) / (1 - chance), chance = chance,
    accuracy = int(function(t) 1 - P(t), f$l, split) + int(P, split, f$u),
    false_pass = int(P, f$l, split), false_fail = int(function(t) 1 - P(t), split, f$u))
}

cuts <- list(binary40 = c(12, 20, 24.5, 28, 36), weighted = c(30, 48.5, 60, 75),
             short = c(1, 2, 3), easy = c(20, 26, 29), beta4 = c(10, 25, 33.3, 45, 50),
             beta4neg = c(30, 42, 51, 57))
fits <- list()
golden <- list()
for (nm in names(sets)) {
  s <- d[d$set == nm, ]
  f <- ll_fit(s$score, s$min[1], s$max[1], s$reliability[1])
  fits[[nm]] <- data.frame(set = nm, length = f$n, alpha = g(f$alpha), beta = g(f$beta),
                           lower = g(f$l), upper = g(f$u), four = tolower(f$four))
  for (cut in cuts[[nm]]) {
    v <- ll_classify(f, s$min[1], s$max[1], cut)
    golden[[length(golden) + 1]] <- data.frame(set = nm, cut = g(cut),
      agreement = g(v[["agreement"]]), kappa = g(v[["kappa"]]), chance = g(v[["chance"]]),
      accuracy = g(v[["accuracy"]]), false_pass = g(v[["false_pass"]]), false_fail = g(v[["false_fail"]]))
  }
}
write.csv(do.call(rbind, fits), file.path(dir, "consistency_ll_fit.csv"), row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, golden), file.path(dir, "consistency_ll_golden.csv"), row.names = FALSE, quote = FALSE)

# Rudner.
theta <- round(rnorm(400, 0.2, 1), 3)
se <- round(0.22 + 0.08 * theta^2 + runif(400, 0, 0.05), 4)
write.csv(data.frame(theta = g(theta), se = g(se)), file.path(dir, "consistency_theta.csv"),
          row.names = FALSE, quote = FALSE)
items <- data.frame(a = round(runif(30, 0.7, 2), 2), b = round(rnorm(30, 0, 1), 2),
                    c = round(runif(30, 0, 0.25), 2))
write.csv(items, file.path(dir, "consistency_items.csv"), row.names = FALSE, quote = FALSE)
th <- read.csv(file.path(dir, "consistency_theta.csv"))
items <- read.csv(file.path(dir, "consistency_items.csv"))

summarise <- function(method, cut, w, p, truth_above, false_pass, false_fail) {
  pbar <- sum(w * p)
  agreement <- sum(w * (p^2 + (1 - p)^2))
  chance <- pbar^2 + (1 - pbar)^2
  data.frame(method = method, cut = g(cut), agreement = g(agreement),
             kappa = g((agreement - chance) / (1 - chance)), chance = g(chance),
             accuracy = g(sum(w * ifelse(truth_above, p, 1 - p))),
             false_pass = g(sum(w * false_pass)), false_fail = g(sum(w * false_fail)))
}

rud <- list()
for (cut in c(-0.5, 0, 1.2)) {
  p <- pnorm((th$theta - cut) / th$se)
  w <- rep(1 / nrow(th), nrow(th))
  pass <- th$theta >= cut
  rud[[length(rud) + 1]] <- summarise("person", cut, w, p, pass,
                                      ifelse(pass, 1 - p, 0), ifelse(pass, 0, p))
}
nodes <- seq(-6, 6, length.out = 61)
wq <- dnorm(nodes) / sum(dnorm(nodes))
info <- sapply(nodes, function(t) {
  P <- items$c + (1 - items$c) * plogis(items$a * (t - items$b))
  sum(items$a^2 * (P - items$c)^2 / (1 - items$c)^2 * (1 - P) / P)
})
csem <- 1 / sqrt(info)
for (cut in c(-1, 0.3)) {
  p <- pnorm((nodes - cut) / csem)
  above <- nodes >= cut
  # accuracy: a true pass is classified correctly with probability p.
  rud[[length(rud) + 1]] <- summarise("quadrature", cut, wq, p, above,
                                      ifelse(above, 0, p), ifelse(above, 1 - p, 0))
}
write.csv(do.call(rbind, rud), file.path(dir, "consistency_rudner.csv"), row.names = FALSE, quote = FALSE)
