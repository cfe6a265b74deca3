# dif.R simulates responses of two groups with differential item functioning
# (DIF) and computes golden Mantel-Haenszel DIF statistics for every item with
# base R's mantelhaen.test, independently of the Go code.
#
# Regenerate (from the repository root; needs Debian's r-base-core only):
#
#   Rscript psychometrics/testdata/dif.R
#
# Input written:
#   dif_responses.csv  focal,i1..i20: 2,000 persons (1,200 reference with
#                      theta ~ N(0, 1), 800 focal with theta ~ N(-0.5, 1)),
#                      focal = 1 for the focal group; 0/1 scores drawn under
#                      the 2PL model (D = 1). Item i5 is 0.5 logit harder for
#                      the focal group, item i12 1.2 logits harder, item i17
#                      0.8 logit easier; the other items have no DIF. About 3%
#                      of the persons miss one item (NA), and must be dropped.
#   dif_anchor.csv     anchor: a matching score per person, the total over
#                      the 17 items without DIF (NA for the persons with a
#                      missing item), used as DIFSettings.Matching.
#
# Golden written (numbers printed with %.17g):
#   dif_golden.csv  set,item,reference,focal,alpha,delta,se_delta,chi2,p,
#                   chi2_uncorrected,p_uncorrected,class
#   set "total" matches on the total score over all 20 items (the studied
#   item included), set "anchor" on dif_anchor.csv.
#
# Where each value comes from, for each item, with the complete cases only and
# the 2 x 2 x K table t = table(item, group, stratum) built with the factor
# levels item = c(1, 0) (right first) and group = c("reference", "focal"), so
# that t[1, 1, k] = A_k (reference right), t[2, 1, k] = B_k (reference wrong),
# t[1, 2, k] = C_k (focal right), t[2, 2, k] = D_k (focal wrong) and
# mantelhaen.test's estimate is sum(A D / T) / sum(B C / T), the alpha_MH of
# Holland & Thayer (1988):
#   chi2, p                     mantelhaen.test(t, correct = TRUE): statistic, p.value
#   chi2_uncorrected,
#   p_uncorrected               mantelhaen.test(t, correct = FALSE): statistic, p.value
#   alpha                       mantelhaen.test(t)$estimate
#   delta                       -2.35 * log(alpha)
#   se_delta                    2.35 * SE(log alpha), where SE(log alpha) is the
#                               Robins-Breslow-Greenland (1986) SE that
#                               mantelhaen.test uses for conf.int: the interval
#                               is alpha * exp(-/+ qnorm(0.975) * SE), so
#                               SE = (log(upper) - log(lower)) / (2 * qnorm(0.975))
#   class                       ETS rule (Zwick 2012, ETS RR-12-08): A if
#                               |delta| < 1 or p >= .05; C if |delta| >= 1.5 and
#                               (|delta| - 1) / se_delta > qnorm(0.95); else B
# Strata with fewer than two persons are removed before calling
# mantelhaen.test, which refuses them; they carry no information.

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."

set.seed(19880101)
n_ref <- 1200
n_foc <- 800
n_items <- 20
focal <- c(rep(0L, n_ref), rep(1L, n_foc))
theta <- c(rnorm(n_ref, 0, 1), rnorm(n_foc, -0.5, 1))
a <- round(runif(n_items, 0.7, 2), 2)
b <- round(seq(-1.8, 1.8, length.out = n_items), 2)
shift <- rep(0, n_items)
shift[5] <- 0.5
shift[12] <- 1.2
shift[17] <- -0.8
x <- matrix(0L, length(theta), n_items)
for (j in seq_len(n_items)) {
  bj <- b[j] + shift[j] * focal
  x[, j] <- as.integer(runif(length(theta)) < plogis(a[j] * (theta - bj)))
}
missing <- sample(length(theta), 60)
for (i in missing) x[i, sample(n_items, 1)] <- NA
colnames(x) <- paste0("i", seq_len(n_items))
write.csv(data.frame(focal = focal, x), file.path(dir, "dif_responses.csv"),
          row.names = FALSE, quote = FALSE, na = "NA")
anchor_items <- setdiff(seq_len(n_items), c(5, 12, 17))
anchor <- rowSums(x[, anchor_items])
write.csv(data.frame(anchor = anchor), file.path(dir, "dif_anchor.csv"),
          row.names = FALSE, quote = FALSE, na = "NA")

# Read back what was written, so the goldens describe exactly the files.
d <- read.csv(file.path(dir, "dif_responses.csv"))
x <- as.matrix(d[, -1])
focal <- d$focal
anchor <- read.csv(file.path(dir, "dif_anchor.csv"))$anchor

g <- function(v) sprintf("%.17g", v)
z975 <- qnorm(0.975)

mh <- function(set, matching) {
  keep <- complete.cases(x) & !is.na(matching)
  xs <- x[keep, , drop = FALSE]
  grp <- factor(ifelse(focal[keep] == 1, "focal", "reference"),
                levels = c("reference", "focal"))
  stratum <- matching[keep]
  n_ref <- sum(grp == "reference")
  n_foc <- sum(grp == "focal")
  big <- stratum %in% as.numeric(names(which(table(stratum) >= 2)))
  rows <- list()
  for (j in seq_len(ncol(xs))) {
    item <- factor(xs[big, j], levels = c(1, 0))
    t <- table(item, grp[big], factor(stratum[big]))
    mc <- mantelhaen.test(t, correct = TRUE)
    mu <- mantelhaen.test(t, correct = FALSE)
    alpha <- unname(mc$estimate)
    se_log <- (log(mc$conf.int[2]) - log(mc$conf.int[1])) / (2 * z975)
    delta <- -2.35 * log(alpha)
    se <- 2.35 * se_log
    cls <- if (abs(delta) < 1 || mc$p.value >= 0.05) {
      "A"
    } else if (abs(delta) >= 1.5 && (abs(delta) - 1) / se > qnorm(0.95)) {
      "C"
    } else {
      "B"
    }
    rows[[j]] <- data.frame(
      set = set, item = j - 1, reference = n_ref, focal = n_foc,
      alpha = g(alpha), delta = g(delta), se_delta = g(se),
      chi2 = g(unname(mc$statistic)), p = g(mc$p.value),
      chi2_uncorrected = g(unname(mu$statistic)), p_uncorrected = g(mu$p.value),
      class = cls
    )
  }
  do.call(rbind, rows)
}

total <- rowSums(x)
golden <- rbind(mh("total", total), mh("anchor", anchor))
write.csv(golden, file.path(dir, "dif_golden.csv"), row.names = FALSE, quote = FALSE)
