# classical.R generates the response data sets used by the classical test
# theory tests and the golden values they are checked against.
#
# Regenerate (from the repository root; needs Debian's r-base-core and
# r-cran-psych):
#
#   Rscript psychometrics/testdata/classical.R
#
# Inputs written (persons x items, header i1..ik, NA = not administered):
#   responses.csv          250 x 12, 0/1, simulated from a 3PL model
#   responses_missing.csv  the same matrix with about 5% of cells set to NA
#   polytomous.csv         150 x 6, integer scores 0..3
#
# Goldens written (numbers printed with %.17g):
#   classical_items.csv  dataset,item,n,mean,point_biserial,item_rest,alpha_if_deleted
#   classical_test.csv   dataset,n,items,mean,sd,alpha,sem
#
# The reference values come from psych::alpha (raw.r = item-total
# correlation with the item included, r.drop = item-rest correlation,
# alpha.drop$raw_alpha = alpha if item deleted, total$raw_alpha = alpha) and
# from base R (colMeans, sd, rowSums); psych's correlations are checked
# against base R's cor() before they are written. Correlations, alpha and the
# test statistics use listwise deletion (na.omit): only persons with every item
# administered. n and mean per item use every person administered the item.
#
# ctt_golden.R reads the data sets written here and writes the goldens of the
# other classical statistics (item SD, biserial, upper-lower index,
# discriminative efficiency, flags, test-score moments, KR-20/21, split half,
# option analysis, Lord's CSEM).

suppressPackageStartupMessages(library(psych))

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."

set.seed(20240601)

# Dichotomous 3PL data (D = 1).
n_persons <- 250
n_items <- 12
theta <- rnorm(n_persons)
a <- runif(n_items, 0.6, 2.0)
b <- rnorm(n_items, 0, 1)
c <- runif(n_items, 0, 0.25)
p <- sapply(seq_len(n_items), function(j) c[j] + (1 - c[j]) * plogis(a[j] * (theta - b[j])))
resp <- matrix(rbinom(length(p), 1, p), n_persons, n_items)
colnames(resp) <- paste0("i", seq_len(n_items))

# Not-administered cells.
miss <- resp
miss[matrix(runif(length(miss)) < 0.05, n_persons, n_items)] <- NA

# Polytomous 0..3 scores driven by a common trait.
n_poly <- 150
k_poly <- 6
eta <- rnorm(n_poly)
poly <- sapply(seq_len(k_poly), function(j) {
  y <- eta * runif(1, 0.5, 1.5) + rnorm(n_poly, 0, 1) + rnorm(1, 0, 0.5)
  as.integer(cut(y, breaks = c(-Inf, -1, 0, 1, Inf))) - 1L
})
colnames(poly) <- paste0("i", seq_len(k_poly))

write_data <- function(m, name) {
  write.csv(m, file.path(dir, name), row.names = FALSE, na = "NA", quote = FALSE)
}
write_data(resp, "responses.csv")
write_data(miss, "responses_missing.csv")
write_data(poly, "polytomous.csv")

g <- function(x) sprintf("%.17g", x)

item_rows <- list()
test_rows <- list()
for (name in c("responses", "responses_missing", "polytomous")) {
  # Read back what was written so the goldens describe the committed files.
  x <- as.matrix(read.csv(file.path(dir, paste0(name, ".csv"))))
  k <- ncol(x)
  cc <- na.omit(x)
  a_out <- psych::alpha(as.data.frame(cc), check.keys = FALSE, warnings = FALSE)

  total <- rowSums(cc)
  pb <- sapply(seq_len(k), function(j) cor(cc[, j], total))
  ir <- sapply(seq_len(k), function(j) cor(cc[, j], total - cc[, j]))
  stopifnot(isTRUE(all.equal(unname(a_out$item.stats$raw.r), pb, tolerance = 1e-12)))
  stopifnot(isTRUE(all.equal(unname(a_out$item.stats$r.drop), ir, tolerance = 1e-12)))

  item_rows[[name]] <- data.frame(
    dataset = name,
    item = seq_len(k) - 1L,
    n = colSums(!is.na(x)),
    mean = g(colMeans(x, na.rm = TRUE)),
    point_biserial = g(a_out$item.stats$raw.r),
    item_rest = g(a_out$item.stats$r.drop),
    alpha_if_deleted = g(a_out$alpha.drop$raw_alpha)
  )

  alpha <- a_out$total$raw_alpha
  s <- sd(total)
  test_rows[[name]] <- data.frame(
    dataset = name,
    n = nrow(cc),
    items = k,
    mean = g(mean(total)),
    sd = g(s),
    alpha = g(alpha),
    sem = g(s * sqrt(1 - alpha))
  )
}

write.csv(do.call(rbind, item_rows), file.path(dir, "classical_items.csv"),
          row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, test_rows), file.path(dir, "classical_test.csv"),
          row.names = FALSE, quote = FALSE)
