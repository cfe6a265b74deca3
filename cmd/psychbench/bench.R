# bench.R times the R reference implementations on data sets written by
# psychbench (go run ./cmd/psychbench), and writes their estimates so that
# psychbench can check that Go and R agree on the same data.
#
#   Rscript cmd/psychbench/bench.R <task> <data dir> <repetitions>
#
# Tasks (needs Debian's r-base-core, r-cran-psych, r-cran-psychotools):
#   ctt    psych::alpha on ctt.csv (persons x items, 0/1)
#   rasch  psychotools::raschmodel on rasch.csv (Rasch CML)
#   dif    base R mantelhaen.test for every item of dif.csv, groups in
#          dif_groups.csv, stratified on the total score
#
# Output: <data dir>/<task>_r.csv with the columns name,value: "seconds" (the
# median elapsed time over the repetitions) followed by the estimates.

args <- commandArgs(trailingOnly = TRUE)
task <- args[1]
dir <- args[2]
reps <- as.integer(args[3])

timed <- function(f) {
  times <- numeric(reps)
  for (r in seq_len(reps)) {
    gc()
    times[r] <- system.time(res <- f())[["elapsed"]]
  }
  list(seconds = median(times), result = res)
}

write_out <- function(seconds, names, values) {
  out <- data.frame(name = c("seconds", names), value = c(seconds, values))
  write.csv(out, file.path(dir, paste0(task, "_r.csv")), row.names = FALSE)
}

read_matrix <- function(name) {
  x <- read.csv(file.path(dir, name), check.names = FALSE)
  as.matrix(x[, -1])  # drop the person column
}

if (task == "ctt") {
  suppressPackageStartupMessages(library(psych))
  x <- read_matrix("ctt.csv")
  t <- timed(function() psych::alpha(x, warnings = FALSE, check.keys = FALSE))
  a <- t$result
  write_out(t$seconds,
            c("alpha", paste0("item_rest_", seq_len(ncol(x)))),
            c(a$total$raw_alpha, a$item.stats$r.drop))
} else if (task == "rasch") {
  suppressPackageStartupMessages(library(psychotools))
  x <- read_matrix("rasch.csv")
  t <- timed(function() psychotools::raschmodel(x))
  b <- coef(t$result)            # item 1 fixed at 0; b_2..b_k
  b <- c(0, b); b <- b - mean(b) # centred, as Touchstone reports
  write_out(t$seconds, c("loglik", paste0("b_", seq_along(b))),
            c(as.numeric(logLik(t$result)), b))
} else if (task == "dif") {
  x <- read_matrix("dif.csv")
  g <- read.csv(file.path(dir, "dif_groups.csv"))$group
  group <- factor(g, levels = c("reference", "focal"))
  total <- rowSums(x)
  t <- timed(function() {
    sapply(seq_len(ncol(x)), function(j) {
      tab <- table(factor(x[, j], levels = c(1, 0)), group, total)
      tab <- tab[, , apply(tab, 3, function(s) sum(s) >= 2), drop = FALSE]
      mantelhaen.test(tab, correct = TRUE)$statistic
    })
  })
  write_out(t$seconds, paste0("chi2_", seq_len(ncol(x))), t$result)
} else {
  stop("unknown task ", task)
}
