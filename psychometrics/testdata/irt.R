# irt.R computes golden 3PL response probabilities with base R's plogis.
#
# Regenerate (from the repository root; needs Debian's r-base-core):
#
#   Rscript psychometrics/testdata/irt.R
#
# Golden written (numbers printed with %.17g):
#   irt_golden.csv  a,b,c,theta,p   with p = c + (1 - c) * plogis(a * (theta - b))
#                   (logistic, D = 1)

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."

items <- data.frame(
  a = c(1, 1.7, 0.5, 2.4, 0.8, 1.2, -0.6),
  b = c(0, -1.2, 2, 0.3, -3, 1.5, 0.4),
  c = c(0, 0.2, 0.25, 0.1, 0, 0.33, 0.05)
)
thetas <- c(-40, -4, -2.5, -1, -0.3, 0, 0.3, 1, 2.5, 4, 40)
g <- function(v) sprintf("%.17g", v)
rows <- list()
for (i in seq_len(nrow(items))) {
  it <- items[i, ]
  p <- it$c + (1 - it$c) * plogis(it$a * (thetas - it$b))
  rows[[i]] <- data.frame(a = g(it$a), b = g(it$b), c = g(it$c), theta = g(thetas), p = g(p))
}
write.csv(do.call(rbind, rows), file.path(dir, "irt_golden.csv"), row.names = FALSE, quote = FALSE)
