# cat.R runs adaptive tests in base R, independently of the Go code, as a
# reference for the CAT engine (NewCAT, Next, Record, Estimate, Stop) with
# deterministic selection (no randomesque).
#
# Regenerate (from the repository root; needs Debian's r-base-core):
#
#   Rscript psychometrics/testdata/cat.R
#
# The rules, from their published descriptions:
#   - item selection by maximum Fisher information at the current ability
#     (Lord, 1980, ch. 10), I = a^2 (P - c)^2 / (1 - c)^2 (1 - P) / P, with the
#     start ability before the first response;
#   - content balancing (Kingsbury & Zara, 1989): the next item comes from
#     the area furthest below its target, the one with the largest
#     (t + 1) p_a - n_a (t items given, n_a of them in area a, target p_a
#     normalised to sum 1), ties to the larger target and then to the name
#     first in sorted order; an area without items left is passed over;
#   - EAP scoring after each response (Bock & Mislevy, 1982) over the nodes
#     and normal weights of NormalQuadrature (n equally spaced nodes on
#     mean ± 6 sd, weights dnorm);
#   - stop after MaxItems items, or once MinItems items are given when the
#     posterior SD is at or below SETarget, or when no eligible item is left.
# Simulated answers: 1 when a uniform from set.seed(5) is below P(true theta).
#
# Files written (in this directory):
#   cat_bank.csv    item,a,b,c,area: 150 items (set.seed(20240612))
#   cat_golden.csv  scenario,simulee,step,item,score,theta,se,stop: for each
#                   scenario and simulee, one row per administered item (the
#                   item chosen, the answer, and the EAP and posterior SD
#                   after it; stop empty), then a row with item -1 and the
#                   stop reason ("maximum items", "SE target",
#                   "bank exhausted"). Numbers are printed with %.17g.
# The scenarios (settings as in Go's CATSettings):
#   plain     MinItems 5, MaxItems 30, SETarget 0.3, StartTheta 0,
#             NormalQuadrature(61, 0, 1), no blueprint
#   blueprint MaxItems 20, StartTheta 0.5, NormalQuadrature(41, 0.2, 1.1),
#             blueprint algebra 0.5, geometry 0.3, number 0.2
#   short     MinItems 1, SETarget 0.45, items 0-11 only available (the
#             first 12 of the bank), StartTheta -1, NormalQuadrature(61, 0, 1)

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."
g <- function(v) sprintf("%.17g", v)

set.seed(20240612)
n <- 150
bank <- data.frame(
  a = 0.6 + 1.6 * runif(n),
  b = -3 + 6 * runif(n),
  c = 0.25 * runif(n),
  area = rep(c("algebra", "geometry", "number"), length.out = n)
)
write.csv(data.frame(item = 0:(n - 1), a = g(bank$a), b = g(bank$b), c = g(bank$c), area = bank$area),
  file.path(dir, "cat_bank.csv"),
  row.names = FALSE, quote = FALSE
)

prob <- function(j, theta) bank$c[j] + (1 - bank$c[j]) * plogis(bank$a[j] * (theta - bank$b[j]))
qprob <- function(j, theta) (1 - bank$c[j]) * plogis(bank$a[j] * (theta - bank$b[j]), lower.tail = FALSE)
information <- function(j, theta) {
  p <- prob(j, theta)
  bank$a[j]^2 * (p - bank$c[j])^2 / (1 - bank$c[j])^2 * (1 - p) / p
}
normal_quadrature <- function(k, mean, sd) {
  x <- mean - 6 * sd + (0:(k - 1)) * (12 * sd / (k - 1))
  list(nodes = x, weights = dnorm(x, mean, sd) / sum(dnorm(x, mean, sd)))
}

run_cat <- function(true_theta, s, u) {
  q <- s$quadrature
  loglik <- rep(0, length(q$nodes))
  used <- integer(0)
  eligible <- s$available
  est <- c(sum(q$weights * q$nodes), NA)
  est[2] <- sqrt(sum(q$weights * (q$nodes - est[1])^2))
  rows <- list()
  step <- 0
  repeat {
    t <- length(used)
    if (!is.null(s$max_items) && t >= s$max_items) {
      stop_reason <- "maximum items"
      break
    }
    if (!is.null(s$se_target) && t >= max(s$min_items, 1) && est[2] <= s$se_target) {
      stop_reason <- "SE target"
      break
    }
    theta <- if (t == 0) s$start else est[1]
    free <- setdiff(eligible, used)
    if (!is.null(s$blueprint)) {
      bp <- s$blueprint / sum(s$blueprint)
      names_bp <- sort(names(bp))
      bp <- bp[names_bp]
      counts <- vapply(names_bp, function(a) sum(bank$area[used] == a), 0)
      deficit <- (t + 1) * bp - counts
      ord <- order(-deficit, -bp, seq_along(bp))
      pick <- NA
      for (a in names_bp[ord]) {
        cand <- free[bank$area[free] == a]
        if (length(cand) > 0) {
          pick <- cand[which.max(vapply(cand, function(j) information(j, theta), 0))]
          break
        }
      }
      if (is.na(pick)) free <- integer(0)
    } else if (length(free) > 0) {
      pick <- free[which.max(vapply(free, function(j) information(j, theta), 0))]
    }
    if (length(free) == 0) {
      stop_reason <- "bank exhausted"
      break
    }
    step <- step + 1
    score <- as.integer(u[step] < prob(pick, true_theta))
    used <- c(used, pick)
    loglik <- loglik + if (score == 1) log(prob(pick, q$nodes)) else log(qprob(pick, q$nodes))
    post <- q$weights * exp(loglik - max(loglik))
    post <- post / sum(post)
    est[1] <- sum(post * q$nodes)
    est[2] <- sqrt(sum(post * (q$nodes - est[1])^2))
    rows[[step]] <- data.frame(step = step - 1, item = pick - 1, score = score, theta = g(est[1]), se = g(est[2]), stop = "")
  }
  rows[[step + 1]] <- data.frame(step = step, item = -1, score = NA, theta = g(est[1]), se = g(est[2]), stop = stop_reason)
  do.call(rbind, rows)
}

scenarios <- list(
  plain = list(
    min_items = 5, max_items = 30, se_target = 0.3, start = 0,
    quadrature = normal_quadrature(61, 0, 1), available = 1:n
  ),
  blueprint = list(
    min_items = 0, max_items = 20, start = 0.5,
    quadrature = normal_quadrature(41, 0.2, 1.1), available = 1:n,
    blueprint = c(algebra = 0.5, geometry = 0.3, number = 0.2)
  ),
  short = list(
    min_items = 1, se_target = 0.45, start = -1,
    quadrature = normal_quadrature(61, 0, 1), available = 1:12
  )
)
set.seed(5)
out <- list()
for (sc in names(scenarios)) {
  for (i in seq_along(c(-1.5, 0, 1.2, 2.5))) {
    true_theta <- c(-1.5, 0, 1.2, 2.5)[i]
    res <- run_cat(true_theta, scenarios[[sc]], runif(200))
    out[[length(out) + 1]] <- cbind(data.frame(scenario = sc, simulee = i - 1), res)
  }
}
write.csv(do.call(rbind, out), file.path(dir, "cat_golden.csv"), row.names = FALSE, quote = FALSE, na = "NA")
