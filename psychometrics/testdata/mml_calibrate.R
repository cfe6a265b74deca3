# mml_calibrate.R computes reference marginal maximum likelihood (and
# marginal MAP) item calibrations for CalibrateMML, in base R only,
# independently of the Go code: the marginal log-likelihood is written
# straight from its definition,
#
#   log L = sum_i log integral prod_j P_j(t)^x_ij (1 - P_j(t))^(1 - x_ij) dN(t; mu, sigma^2)
#   P_j(t) = c_j + (1 - c_j) plogis(a_j t + d_j),  b_j = -d_j / a_j,
#
# with NA cells left out of the product, the integral done by a 101-point
# Gauss-Hermite rule built with the Golub-Welsch algorithm (the script checks
# it against integrate() at the optimum), and maximised directly with optim()
# (BFGS) polished by Newton steps, all derivatives by finite differences of
# the log-likelihood. No EM is involved.
#
# Regenerate (from the repository root; needs only Debian's r-base-core):
#
#   Rscript psychometrics/testdata/mml_calibrate.R
#
# Input:
#   lsat6.csv          LSAT section 6 (Bock & Lieberman, 1970): the 32
#                      response patterns of 5 items with their frequencies
#                      (N = 1000); see lsat6_published.csv for the source.
# Written:
#   mml_missing.csv    500 x 6 simulated 2PL responses with 20% NA (seeded
#                      here: set.seed(20240617)).
#   mml_calibrate_golden.csv  case,item,quantity,value:
#     a, b, c          estimates (for anchors, the fixed values)
#     se_obs_a/b/c     standard errors from the observed information: the
#                      inverse of minus the Hessian of the log-posterior in
#                      psi = (a, d, logit c, mu, sigma) by second differences,
#                      then the delta method for b = -d/a and c = plogis(g)
#     se_xpd_a/b/c     the same from the cross-product information
#                      sum_i n_i s_i s_i' (s_i = gradient of pattern i's log
#                      marginal likelihood in psi, by central differences)
#                      plus minus the Hessian of the log-prior
#     loglik           marginal log-likelihood at the estimates, no priors
#                      (item = -1)
#     mean, sd, se_*_mean, se_*_sd  the population (item = -1), estimated in
#                      the anchor case only
#   NaN marks a parameter that is not estimated.
#
# Cases (the models of CalibrateMML):
#   rasch        LSAT6, a = 1 for all items, N(0, 1)
#   1pl          LSAT6, one common free slope
#   2pl          LSAT6
#   2pl_lnprior  LSAT6, 2PL with a log-normal(0, 0.5) prior on each a (MAP)
#   3pl          LSAT6, 3PL with a Beta(5, 17) prior on each c (MAP)
#   2pl_anchor   LSAT6, items 1 and 2 fixed at (a, b) = (0.8, -3.4) and
#                (0.7, -1.4), items 3-5 2PL, population N(mu, sigma^2) free
#   2pl_missing  mml_missing.csv, 2PL

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."

# Gauss-Hermite rule for N(0, 1) by Golub-Welsch.
gh <- function(n) {
  i <- seq_len(n - 1)
  b <- sqrt(i / 2)
  J <- matrix(0, n, n)
  J[cbind(i, i + 1)] <- b
  J[cbind(i + 1, i)] <- b
  e <- eigen(J, symmetric = TRUE)
  o <- order(e$values)
  list(z = sqrt(2) * e$values[o], w = e$vectors[1, o]^2)
}
GH <- gh(101)

# Patterns: X (patterns x items, NA allowed) and counts n.
patterns <- function(x) {
  key <- apply(x, 1, function(r) paste(ifelse(is.na(r), ".", r), collapse = ""))
  keep <- rowSums(!is.na(x)) > 0
  key <- key[keep]
  x <- x[keep, , drop = FALSE]
  u <- !duplicated(key)
  list(X = x[u, , drop = FALSE], n = as.numeric(table(key)[key[u]]))
}

# Log marginal likelihood of each pattern. items: data frame a, d, c.
pattern_ll <- function(pt, a, d, c, mu = 0, sigma = 1) {
  t <- mu + sigma * GH$z
  lw <- log(GH$w)
  out <- numeric(nrow(pt$X))
  for (i in seq_len(nrow(pt$X))) {
    s <- lw
    for (j in seq_len(ncol(pt$X))) {
      x <- pt$X[i, j]
      if (is.na(x)) next
      p <- c[j] + (1 - c[j]) * plogis(a[j] * t + d[j])
      s <- s + if (x == 1) log(p) else log1p(-p)
    }
    m <- max(s)
    out[i] <- m + log(sum(exp(s - m)))
  }
  out
}

# Central-difference helpers.
numgrad <- function(fn, x, h = 1e-5) {
  vapply(seq_along(x), function(k) {
    e <- numeric(length(x))
    e[k] <- h * max(1, abs(x[k]))
    (fn(x + e) - fn(x - e)) / (2 * e[k])
  }, 0)
}
numjac <- function(fn, x, h = 1e-5) {
  do.call(cbind, lapply(seq_along(x), function(k) {
    e <- numeric(length(x))
    e[k] <- h * max(1, abs(x[k]))
    (fn(x + e) - fn(x - e)) / (2 * e[k])
  }))
}
numhess <- function(fn, x, h = 1e-4) {
  p <- length(x)
  H <- matrix(0, p, p)
  hs <- h * pmax(1, abs(x))
  for (k in seq_len(p)) for (l in k:p) {
    ek <- numeric(p); ek[k] <- hs[k]
    el <- numeric(p); el[l] <- hs[l]
    H[k, l] <- (fn(x + ek + el) - fn(x + ek - el) - fn(x - ek + el) + fn(x - ek - el)) / (4 * hs[k] * hs[l])
    H[l, k] <- H[k, l]
  }
  H
}
maximise <- function(fn, start) {
  o <- optim(start, function(p) -fn(p), function(p) -numgrad(fn, p),
             method = "BFGS", control = list(reltol = 1e-15, maxit = 5000))
  p <- o$par
  for (it in 1:30) {
    step <- solve(-numhess(fn, p), numgrad(fn, p))
    p <- p + step
    if (max(abs(step)) < 1e-11) break
  }
  g <- numgrad(fn, p)
  if (max(abs(g)) > 1e-5) stop("not at a maximum: max |gradient| ", max(abs(g)))
  p
}

# A case: unpack(psi) returns list(a, d, c, mu, sigma); logprior(psi).
# kind[k] names psi[k]: "a", "d", "g" (logit c), "mu", "sigma", with item[k].
run_case <- function(name, pt, nitems, unpack, logprior, start, kind, item) {
  ll_vec <- function(psi) {
    u <- unpack(psi)
    pattern_ll(pt, u$a, u$d, u$c, u$mu, u$sigma)
  }
  loglik <- function(psi) sum(pt$n * ll_vec(psi))
  logpost <- function(psi) loglik(psi) + logprior(psi)
  psi <- maximise(logpost, start)
  u <- unpack(psi)

  # Check the quadrature against adaptive integration at the optimum.
  t_ll <- 0
  for (i in seq_len(nrow(pt$X))) {
    f <- function(t) vapply(t, function(tt) {
      pr <- 1
      for (j in seq_len(nitems)) {
        x <- pt$X[i, j]
        if (is.na(x)) next
        p <- u$c[j] + (1 - u$c[j]) * plogis(u$a[j] * tt + u$d[j])
        pr <- pr * if (x == 1) p else 1 - p
      }
      pr
    }, 0) * dnorm(t, u$mu, u$sigma)
    t_ll <- t_ll + pt$n[i] * log(integrate(f, -Inf, Inf, rel.tol = 1e-13)$value)
  }
  cat(sprintf("%-12s loglik %.10f (integrate(): %.10f)\n", name, loglik(psi), t_ll))
  if (abs(t_ll - loglik(psi)) > 1e-6) stop("quadrature not accurate enough")

  info_obs <- -numhess(logpost, psi)
  S <- numjac(ll_vec, psi)
  info_xpd <- crossprod(S * sqrt(pt$n)) - numhess(logprior, psi)
  se <- function(info) {
    V <- solve(info)
    out <- data.frame(item = seq_len(nitems), a = NaN, b = NaN, c = NaN)
    for (j in seq_len(nitems)) {
      ia <- which(kind == "a" & (item == j | item == 0))
      id <- which(kind == "d" & item == j)
      ig <- which(kind == "g" & item == j)
      if (length(id) == 0) next
      if (length(ia) == 1) {
        out$a[j] <- sqrt(V[ia, ia])
        gb <- c(u$d[j] / u$a[j]^2, -1 / u$a[j])
        idx <- c(ia, id)
        out$b[j] <- sqrt(drop(t(gb) %*% V[idx, idx] %*% gb))
      } else {
        out$b[j] <- sqrt(V[id, id])
      }
      if (length(ig) == 1) out$c[j] <- u$c[j] * (1 - u$c[j]) * sqrt(V[ig, ig])
    }
    pop <- c(mean = NaN, sd = NaN)
    if (any(kind == "mu")) pop <- c(mean = sqrt(V[kind == "mu", kind == "mu"]), sd = sqrt(V[kind == "sigma", kind == "sigma"]))
    list(items = out, pop = pop)
  }
  so <- se(info_obs)
  sx <- se(info_xpd)
  g <- function(v) sprintf("%.17g", v)
  rows <- list()
  add <- function(it, q, v) rows[[length(rows) + 1]] <<- data.frame(case = name, item = it, quantity = q, value = g(v))
  for (j in seq_len(nitems)) {
    add(j - 1, "a", u$a[j])
    add(j - 1, "b", -u$d[j] / u$a[j])
    add(j - 1, "c", u$c[j])
    for (q in c("a", "b", "c")) {
      add(j - 1, paste0("se_obs_", q), so$items[[q]][j])
      add(j - 1, paste0("se_xpd_", q), sx$items[[q]][j])
    }
  }
  add(-1, "loglik", loglik(psi))
  add(-1, "mean", u$mu)
  add(-1, "sd", u$sigma)
  add(-1, "se_obs_mean", so$pop[["mean"]])
  add(-1, "se_obs_sd", so$pop[["sd"]])
  add(-1, "se_xpd_mean", sx$pop[["mean"]])
  add(-1, "se_xpd_sd", sx$pop[["sd"]])
  do.call(rbind, rows)
}

lsat <- read.csv(file.path(dir, "lsat6.csv"))
lsat_pt <- list(X = as.matrix(lsat[, 1:5]), n = lsat$freq)
lsat_pt$X <- lsat_pt$X[lsat_pt$n > 0, ]
lsat_pt$n <- lsat_pt$n[lsat_pt$n > 0]
stopifnot(sum(lsat_pt$n) == 1000)
stopifnot(isTRUE(all.equal(unname(colSums(lsat_pt$X * lsat_pt$n)) / 1000, c(.924, .709, .553, .763, .870))))
k <- 5
z5 <- rep(0, k)
start_d <- qlogis(colSums(lsat_pt$X * lsat_pt$n) / 1000)

out <- list()
out$rasch <- run_case("rasch", lsat_pt, k,
  function(p) list(a = rep(1, k), d = p, c = z5, mu = 0, sigma = 1),
  function(p) 0, start_d, rep("d", k), 1:k)
out$onepl <- run_case("1pl", lsat_pt, k,
  function(p) list(a = rep(p[1], k), d = p[-1], c = z5, mu = 0, sigma = 1),
  function(p) 0, c(1, start_d), c("a", rep("d", k)), c(0, 1:k))
ia <- seq(1, 2 * k, 2)
id <- seq(2, 2 * k, 2)
start2 <- as.vector(rbind(1, start_d))
out$twopl <- run_case("2pl", lsat_pt, k,
  function(p) list(a = p[ia], d = p[id], c = z5, mu = 0, sigma = 1),
  function(p) 0, start2, rep(c("a", "d"), k), rep(1:k, each = 2))
out$lnprior <- run_case("2pl_lnprior", lsat_pt, k,
  function(p) list(a = p[ia], d = p[id], c = z5, mu = 0, sigma = 1),
  function(p) if (any(p[ia] <= 0)) -Inf else sum(dlnorm(p[ia], 0, 0.5, log = TRUE)),
  start2, rep(c("a", "d"), k), rep(1:k, each = 2))
i3a <- seq(1, 3 * k, 3)
i3d <- seq(2, 3 * k, 3)
i3g <- seq(3, 3 * k, 3)
out$threepl <- run_case("3pl", lsat_pt, k,
  function(p) list(a = p[i3a], d = p[i3d], c = plogis(p[i3g]), mu = 0, sigma = 1),
  function(p) sum(dbeta(plogis(p[i3g]), 5, 17, log = TRUE)),
  as.vector(rbind(1, start_d, qlogis(0.2))), rep(c("a", "d", "g"), k), rep(1:k, each = 3))
# Anchors: items 1 and 2 fixed; psi = (a3, d3, a4, d4, a5, d5, mu, sigma).
fa <- c(0.8, 0.7)
fb <- c(-3.4, -1.4)
out$anchor <- run_case("2pl_anchor", lsat_pt, k,
  function(p) list(a = c(fa, p[c(1, 3, 5)]), d = c(-fa * fb, p[c(2, 4, 6)]), c = z5, mu = p[7], sigma = p[8]),
  function(p) 0, c(as.vector(rbind(1, start_d[3:5])), 0, 1),
  c(rep(c("a", "d"), 3), "mu", "sigma"), c(rep(3:5, each = 2), 0, 0))

# Simulated 2PL data with missing cells.
set.seed(20240617)
N <- 500
ta <- c(0.8, 1.2, 1.5, 0.6, 1.0, 2.0)
tb <- c(-1.5, -0.5, 0, 0.5, 1, 1.5)
theta <- rnorm(N)
P <- plogis(outer(theta, ta) - matrix(ta * tb, N, 6, byrow = TRUE))
X <- (matrix(runif(N * 6), N, 6) < P) * 1
X[matrix(runif(N * 6), N, 6) < 0.2] <- NA
colnames(X) <- paste0("item", 1:6)
write.csv(X, file.path(dir, "mml_missing.csv"), row.names = FALSE, quote = FALSE)
mpt <- patterns(X)
k6 <- 6
sd6 <- qlogis(colMeans(X, na.rm = TRUE))
out$missing <- run_case("2pl_missing", mpt, k6,
  function(p) list(a = p[seq(1, 12, 2)], d = p[seq(2, 12, 2)], c = rep(0, k6), mu = 0, sigma = 1),
  function(p) 0, as.vector(rbind(1, sd6)), rep(c("a", "d"), k6), rep(1:k6, each = 2))

res <- do.call(rbind, out)
write.csv(res, file.path(dir, "mml_calibrate_golden.csv"), row.names = FALSE, quote = FALSE)
