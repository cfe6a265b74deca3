# angoff.R generates a modified-Angoff ratings matrix and the golden cut
# score computed from it with base R.
#
# Regenerate (from the repository root; needs Debian's r-base-core):
#
#   Rscript psychometrics/testdata/angoff.R
#
# Input written:
#   angoff_ratings.csv  12 panelists x 40 items, header i1..i40, each rating
#                       the probability (0..1, two decimals) that a minimally
#                       competent candidate answers the item correctly
#
# Golden written (numbers printed with %.17g):
#   angoff_golden.csv   name,value: cut, se, panelists, items, then
#                       panelist_1..panelist_12 (each panelist's summed ratings)
#
# Definitions (Livingston & Zieky 1982; Cizek & Bunch 2007, ch. 6):
#   panelist cut  = rowSums(ratings)
#   cut           = mean(panelist cuts)
#   se            = sd(panelist cuts) / sqrt(panelists)   (sd uses n - 1)

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."

set.seed(19820301)

panelists <- 12
items <- 40
difficulty <- rnorm(items, 0, 1)
leniency <- rnorm(panelists, 0, 0.3)
r <- outer(leniency, difficulty, function(l, d) plogis(0.4 + l - d)) +
  matrix(rnorm(panelists * items, 0, 0.08), panelists, items)
r <- round(pmin(pmax(r, 0), 1), 2)
colnames(r) <- paste0("i", seq_len(items))
write.csv(r, file.path(dir, "angoff_ratings.csv"), row.names = FALSE, quote = FALSE)

x <- as.matrix(read.csv(file.path(dir, "angoff_ratings.csv")))
pc <- rowSums(x)
cut <- mean(pc)
se <- sd(pc) / sqrt(nrow(x))

g <- function(v) sprintf("%.17g", v)
out <- data.frame(
  name = c("cut", "se", "panelists", "items", paste0("panelist_", seq_along(pc))),
  value = c(g(cut), g(se), nrow(x), ncol(x), g(pc))
)
write.csv(out, file.path(dir, "angoff_golden.csv"), row.names = FALSE, quote = FALSE)
