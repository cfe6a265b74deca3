# mml_sx2.R computes reference S-X^2 item fit statistics (Orlando & Thissen,
# 2000) for SX2, in base R only, independently of the Go code.
#
# For item j and summed score k = 1..n-1 the expected proportion correct is
#
#   E_jk = integral P_j(t) S_{k-1}^(-j)(t) dN(t) / integral S_k(t) dN(t)
#
# with the summed-score probabilities S from the Lord-Wingersky (1984)
# recursion and each integral done by integrate() over (-Inf, Inf) against
# the N(0, 1) density. S-X^2 = sum_k [(O1 - E1)^2 / E1 + (O0 - E0)^2 / E0]
# over the counts of correct (1) and incorrect (0) answers, after dropping
# empty score groups and collapsing: while a group has an expected count
# below 1, the lowest such group is merged into the next group (first
# group), the previous group (last group) or else the neighbour with fewer
# persons (the lower on a tie), as in R's mirt. df = groups - params,
# p = pchisq(chi2, df, lower.tail = FALSE). Persons with an NA are dropped.
#
# Regenerate (from the repository root; needs only Debian's r-base-core):
#
#   Rscript psychometrics/testdata/mml_sx2.R
#
# Input:
#   lsat6.csv            LSAT6 patterns and frequencies
# Written:
#   mml_sx2_items.csv    case,item,a,b,c: the item parameters used
#                        lsat6_2pl: the 2PL estimates printed by R's irtQ
#                          (est_irt example, sx2_fit()$item_df; see
#                          lsat6_published.md), params = 2
#                        sim: the generating parameters of mml_sx2_data.csv
#                          (2PL and 3PL items), params = 3
#   mml_sx2_data.csv     600 x 8 responses simulated here (set.seed(77)),
#                        with an NA in 30 rows
#   mml_sx2_golden.csv   case,item,chi2,df,p,groups

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."

lw <- function(p) {
  s <- 1
  for (pj in p) s <- c(s * (1 - pj), 0) + c(0, s * pj)
  s
}
prob <- function(it, t) it$c + (1 - it$c) * plogis(it$a * (t - it$b))

sx2 <- function(X, items, params) {
  X <- X[complete.cases(X), , drop = FALSE]
  n <- ncol(X)
  score <- rowSums(X)
  integ <- function(f) integrate(function(t) vapply(t, f, 0) * dnorm(t), -Inf, Inf, rel.tol = 1e-13, abs.tol = 0)$value
  den <- vapply(1:(n - 1), function(k) integ(function(t) lw(prob(items, t))[k + 1]), 0)
  out <- NULL
  for (j in seq_len(n)) {
    g <- NULL
    for (k in 1:(n - 1)) {
      nk <- sum(score == k)
      if (nk == 0) next
      e <- integ(function(t) prob(items[j, ], t) * lw(prob(items[-j, ], t))[k]) / den[k]
      g <- rbind(g, c(n = nk, o = sum(X[score == k, j]), e = nk * e))
    }
    repeat {
      if (nrow(g) <= 1) break
      bad <- which(g[, "e"] < 1 | g[, "n"] - g[, "e"] < 1)
      if (length(bad) == 0) break
      b <- bad[1]
      into <- if (b == 1) 2 else if (b == nrow(g)) b - 1 else if (g[b - 1, "n"] <= g[b + 1, "n"]) b - 1 else b + 1
      g[into, ] <- g[into, ] + g[b, ]
      g <- g[-b, , drop = FALSE]
    }
    chi2 <- sum((g[, "o"] - g[, "e"])^2 / g[, "e"] + (g[, "o"] - g[, "e"])^2 / (g[, "n"] - g[, "e"]))
    df <- nrow(g) - params
    p <- if (df >= 1) pchisq(chi2, df, lower.tail = FALSE) else NaN
    out <- rbind(out, data.frame(item = j - 1, chi2 = chi2, df = df, p = p, groups = nrow(g)))
  }
  out
}

g17 <- function(v) sprintf("%.17g", v)

lsat <- read.csv(file.path(dir, "lsat6.csv"))
X6 <- as.matrix(lsat[rep(seq_len(nrow(lsat)), lsat$freq), 1:5])
it6 <- data.frame(
  a = c(0.8255888, 0.7229138, 0.8904047, 0.6884844, 0.6570762),
  b = c(-3.3590452, -1.3697963, -0.2797759, -1.8661188, -3.1250079),
  c = 0
)

set.seed(77)
N <- 600
its <- data.frame(
  a = c(1.0, 1.5, 0.7, 2.0, 1.2, 0.9, 1.8, 1.1),
  b = c(-1.5, -0.8, -0.2, 0.0, 0.4, 0.9, 1.3, 2.0),
  c = c(0, 0.2, 0, 0.15, 0, 0.25, 0, 0.1)
)
theta <- rnorm(N)
P <- sapply(seq_len(nrow(its)), function(j) prob(its[j, ], theta))
X <- (matrix(runif(N * nrow(its)), N) < P) * 1
X[cbind(sample(N, 30), sample(nrow(its), 30, replace = TRUE))] <- NA
colnames(X) <- paste0("item", seq_len(ncol(X)))
write.csv(X, file.path(dir, "mml_sx2_data.csv"), row.names = FALSE, quote = FALSE)

items_out <- rbind(
  data.frame(case = "lsat6_2pl", item = 0:4, a = g17(it6$a), b = g17(it6$b), c = g17(it6$c)),
  data.frame(case = "sim", item = 0:7, a = g17(its$a), b = g17(its$b), c = g17(its$c))
)
write.csv(items_out, file.path(dir, "mml_sx2_items.csv"), row.names = FALSE, quote = FALSE)

r1 <- sx2(X6, it6, 2)
r2 <- sx2(X, its, 3)
print(r1)
print(r2)
gold <- rbind(cbind(case = "lsat6_2pl", r1), cbind(case = "sim", r2))
gold$chi2 <- g17(gold$chi2)
gold$p <- g17(gold$p)
write.csv(gold, file.path(dir, "mml_sx2_golden.csv"), row.names = FALSE, quote = FALSE)
