# subkoviak.R computes golden single-administration decision-consistency
# indices with the binomial error model of Subkoviak (1976), written here
# straight from the paper with base R's pbinom, independently of the Go code.
#
# Regenerate (from the repository root; needs Debian's r-base-core and
# r-cran-psych, and responses.csv from classical.R):
#
#   Rscript psychometrics/testdata/subkoviak.R
#
# Input written:
#   subkoviak_scores.csv  set,items,score: raw scores of two groups,
#                         "responses" (row totals of responses.csv, 12 items)
#                         and "long" (500 simulated scores on a 40-item test)
#
# Golden written (numbers printed with %.17g):
#   subkoviak_golden.csv  name,set,items,cut,reliability,agreement,kappa,chance
#
# Method (Subkoviak, M. J. 1976. Estimating reliability from a single
# administration of a criterion-referenced test. J. Educ. Meas. 13(4),
# 265-276), for n items, raw scores x_i, group mean m, reliability r and a
# cut c (pass when x >= ceiling(c)):
#   p_i  = r * x_i / n + (1 - r) * m / n      (Kelley's regressed estimate)
#   P_i  = Pr(X >= ceiling(c) | X ~ Binomial(n, p_i))
#   p0   = mean(P_i^2 + (1 - P_i)^2)
#   pc   = mean(P_i)^2 + (1 - mean(P_i))^2
#   kappa = (p0 - pc) / (1 - pc)

suppressPackageStartupMessages(library(psych))

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."

resp <- as.matrix(read.csv(file.path(dir, "responses.csv")))
set.seed(19761201)
long_p <- rbeta(500, 6, 3)
scores <- rbind(
  data.frame(set = "responses", items = ncol(resp), score = as.integer(rowSums(resp))),
  data.frame(set = "long", items = 40L, score = rbinom(500, 40, long_p))
)
write.csv(scores, file.path(dir, "subkoviak_scores.csv"), row.names = FALSE, quote = FALSE)
scores <- read.csv(file.path(dir, "subkoviak_scores.csv"))

kr21 <- function(x, n) {
  m <- mean(x)
  v <- var(x)
  n / (n - 1) * (1 - m * (n - m) / (n * v))
}

subkoviak <- function(x, n, cut, r) {
  cc <- ceiling(cut)
  p <- r * x / n + (1 - r) * mean(x) / n
  P <- pbinom(cc - 1, n, p, lower.tail = FALSE)
  p0 <- mean(P^2 + (1 - P)^2)
  pbar <- mean(P)
  pc <- pbar^2 + (1 - pbar)^2
  c(agreement = p0, kappa = (p0 - pc) / (1 - pc), chance = pc)
}

g <- function(v) sprintf("%.17g", v)
rows <- list()
add <- function(name, set, cut, r) {
  s <- scores[scores$set == set, ]
  n <- s$items[1]
  v <- subkoviak(s$score, n, cut, r)
  rows[[length(rows) + 1]] <<- data.frame(
    name = name, set = set, items = n, cut = g(cut), reliability = g(r),
    agreement = g(v[["agreement"]]), kappa = g(v[["kappa"]]), chance = g(v[["chance"]])
  )
}

x12 <- scores$score[scores$set == "responses"]
alpha12 <- psych::alpha(as.data.frame(resp), check.keys = FALSE, warnings = FALSE)$total$raw_alpha
kr21_12 <- kr21(x12, 12)
for (cut in c(1, 4, 6, 6.5, 9, 12)) {
  add(sprintf("responses alpha cut %g", cut), "responses", cut, alpha12)
  add(sprintf("responses kr21 cut %g", cut), "responses", cut, kr21_12)
}
add("responses reliability 1", "responses", 7, 1)
add("responses reliability 0", "responses", 7, 0)

x40 <- scores$score[scores$set == "long"]
kr21_40 <- kr21(x40, 40)
for (cut in c(20, 26, 28.4, 32, 40)) {
  add(sprintf("long kr21 cut %g", cut), "long", cut, kr21_40)
}

write.csv(do.call(rbind, rows), file.path(dir, "subkoviak_golden.csv"),
          row.names = FALSE, quote = FALSE)
