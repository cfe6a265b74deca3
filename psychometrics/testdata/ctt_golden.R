# ctt_golden.R writes the golden values of the complete classical test theory
# analysis (ItemAnalysis, TestAnalysis, OptionAnalysis, ScoreChoices,
# LordCSEM) and the two data sets it adds.
#
# Regenerate (from the repository root; needs Debian's r-base-core and
# r-cran-psych):
#
#   Rscript psychometrics/testdata/ctt_golden.R
#
# It reads the score matrices that classical.R writes (responses.csv,
# responses_missing.csv, polytomous.csv) and does not change them.
#
# Inputs written:
#   ctt_fractional.csv  200 x 8 scores in {0, 0.5, 1, 1.5, 2}, about 4% NA:
#                       non-integer scores, so that ItemAnalysis takes its
#                       sorting path for the discriminative efficiency.
#   ctt_choices.csv     500 persons x 15 items of multiple-choice responses
#                       (options A-E, "" = no response), simulated with a
#                       3PL model for the correct answer and fixed distractor
#                       attractions. Deliberate faults: item 7 (column i8) is
#                       miskeyed (the key says C; B is the answer the model
#                       rewards), item 3 (i4) has distractor D chosen by about
#                       1% of persons (non-functioning), item 11 (i12) is very
#                       easy, item 12 (i13) very hard, item 14 (i15) does not
#                       discriminate.
#   ctt_key.csv         the key (one row, header i1..i15), with the miskey.
#   ctt_scored.csv      ctt_choices scored 0/1 against ctt_key (no response
#                       scores 0): the expected ScoreChoices output.
#
# Goldens written (numbers printed with %.17g; NA = undefined, NaN in Go):
#   ctt_items.csv    dataset,item,n,mean,sd,point_biserial,item_rest,
#                    alpha_if_deleted,biserial,upper_lower,
#                    discriminative_efficiency,flags
#   ctt_test.csv     dataset,n,items,mean,sd,alpha,sem,median,min,max,
#                    skewness,kurtosis,kr20,kr21,odd_even,spearman_brown
#   ctt_options.csv  item,row,option,is_key,count,proportion,point_biserial,
#                    mean_score,g1,g2,g3,g4,g5,flags (row = option|missing)
#   ctt_option_items.csv  item,key,flags
#   ctt_csem.csv     items,score,csem
#
# Where each reference value comes from:
#   n, mean, sd (items)   psych::describe on each column (NA removed), which
#                         is base R's mean and sd (n - 1).
#   point_biserial, item_rest, alpha_if_deleted, alpha
#                         psych::alpha on the complete cases (raw.r, r.drop,
#                         alpha.drop$raw_alpha, total$raw_alpha), checked
#                         against base R's cor().
#   biserial              Lord & Novick (1968) r_pb * sqrt(pq) / dnorm(qnorm(p))
#                         from base R; checked against psych::biserial, which
#                         uses sd() with divisor n - 1 where the formula's
#                         point-biserial uses n, so that psych's value times
#                         sqrt(n / (n - 1)) must equal ours (psych also clips
#                         at +-1, so only unclipped values are compared).
#   upper_lower           Kelley's 27% index from base R: order(total) (ties
#                         stay in row order), g = (27 n + 50) %/% 100 persons
#                         per group, difference in item means, divided by
#                         the item's highest observed score unless the item
#                         is 0/1.
#   discriminative_efficiency
#                         Moodle's definition from base R:
#                         cov(x, rest) / cov(sort(x), sort(rest)).
#   median, min, max, skewness, kurtosis
#                         psych::describe on the complete-case totals
#                         (type 3: skew = m3/sd^3, kurtosis = m4/sd^4 - 3),
#                         checked against base R's formulas.
#   kr20                  psych::alpha raw_alpha when every score is 0/1.
#   kr21, odd_even, spearman_brown, sem
#                         base R from the formulas in the Go doc comments
#                         (KR-21 with the total variance of divisor n).
#   flags                 the FlagRules defaults applied in base R to the
#                         values above (";"-separated).
#   ctt_options.csv       base R: table counts, cor() of the 0/1 choice
#                         indicator with the rest score, mean total score of
#                         choosers, and proportions within fifths of
#                         persons ranked by order(total), rank p (0-based) in
#                         group floor(5 p / n).
#   ctt_csem.csv          sqrt(x (k - x) / (k - 1)) (Lord, 1955).

suppressPackageStartupMessages(library(psych))

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."

set.seed(20250117)

g <- function(x) sprintf("%.17g", x)
write_plain <- function(df, name) {
  write.csv(df, file.path(dir, name), row.names = FALSE, quote = FALSE, na = "NA")
}

# ---- Data: fractional scores ------------------------------------------------
n_frac <- 200
k_frac <- 8
eta <- rnorm(n_frac)
frac <- sapply(seq_len(k_frac), function(j) {
  y <- eta * runif(1, 0.4, 1.4) + rnorm(n_frac)
  (as.integer(cut(y, breaks = c(-Inf, -1.2, -0.4, 0.4, 1.2, Inf))) - 1L) / 2
})
frac[matrix(runif(length(frac)) < 0.04, n_frac, k_frac)] <- NA
colnames(frac) <- paste0("i", seq_len(k_frac))
write.csv(frac, file.path(dir, "ctt_fractional.csv"), row.names = FALSE, na = "NA", quote = FALSE)

# ---- Data: multiple-choice responses ----------------------------------------
n_mc <- 500
k_mc <- 15
theta <- rnorm(n_mc)
a <- runif(k_mc, 0.8, 2.0)
b <- rnorm(k_mc, 0, 0.8)
cc3 <- rep(0.15, k_mc)
b[12] <- -4; cc3[12] <- 0   # very easy (item 11)
b[13] <- 3.5; cc3[13] <- 0  # very hard (item 12)
a[15] <- 0.05               # does not discriminate (item 14)
n_opt <- c(4, 4, 4, 4, 5, 4, 4, 4, 4, 5, 4, 4, 4, 4, 4)
opts_all <- c("A", "B", "C", "D", "E")
answer <- sample(c("A", "B", "C", "D"), k_mc, replace = TRUE)
answer[4] <- "A"
answer[8] <- "B"
choices <- matrix("", n_mc, k_mc)
for (j in seq_len(k_mc)) {
  opts <- opts_all[seq_len(n_opt[j])]
  distr <- setdiff(opts, answer[j])
  w <- runif(length(distr), 0.5, 1.5)
  if (j == 4) w[distr == "D"] <- 0.015 * sum(w[distr != "D"])  # non-functioning
  if (j == 8) w[distr == "C"] <- 2 * sum(w[distr != "C"])      # the wrong key is attractive
  p <- cc3[j] + (1 - cc3[j]) * plogis(a[j] * (theta - b[j]))
  correct <- runif(n_mc) < p
  wrong <- sample(distr, n_mc, replace = TRUE, prob = w / sum(w))
  choices[, j] <- ifelse(correct, answer[j], wrong)
  choices[runif(n_mc) < 0.03, j] <- ""
}
colnames(choices) <- paste0("i", seq_len(k_mc))
key <- answer
key[8] <- "C"  # miskeyed
write.csv(choices, file.path(dir, "ctt_choices.csv"), row.names = FALSE, quote = FALSE)
write.csv(matrix(key, 1, k_mc, dimnames = list(NULL, colnames(choices))),
          file.path(dir, "ctt_key.csv"), row.names = FALSE, quote = FALSE)

# Read back what was written, so the goldens describe the committed files.
read_choices <- function(name) {
  m <- as.matrix(read.csv(file.path(dir, name), colClasses = "character",
                          na.strings = character(0)))
  m
}
choices <- read_choices("ctt_choices.csv")
key <- as.vector(read_choices("ctt_key.csv")[1, ])
scored <- (choices == matrix(key, nrow(choices), k_mc, byrow = TRUE)) * 1
colnames(scored) <- colnames(choices)
write.csv(scored, file.path(dir, "ctt_scored.csv"), row.names = FALSE, quote = FALSE)

# ---- Flags (the FlagRules defaults) ------------------------------------------
item_flags <- function(disc, p, dich) {
  f <- character(0)
  if (!is.na(disc) && disc < 0) {
    f <- c(f, "negative_discrimination")
  } else if (!is.na(disc) && disc < 0.20) {
    f <- c(f, "low_discrimination")
  }
  if (dich && !is.na(p)) {
    if (p < 0.20) {
      f <- c(f, "too_hard")
    } else if (p > 0.95) {
      f <- c(f, "too_easy")
    }
  }
  f
}

# ---- Item and test analysis ---------------------------------------------------
near <- function(x, y, tol = 1e-10) isTRUE(all.equal(as.vector(x), as.vector(y), tolerance = tol))

item_rows <- list()
test_rows <- list()
datasets <- c("responses", "responses_missing", "polytomous", "ctt_fractional", "ctt_scored")
for (name in datasets) {
  x <- as.matrix(read.csv(file.path(dir, paste0(name, ".csv"))))
  k <- ncol(x)
  cc <- na.omit(x)
  n <- nrow(cc)
  total <- rowSums(cc)
  a_out <- psych::alpha(as.data.frame(cc), check.keys = FALSE, warnings = FALSE)
  d_items <- psych::describe(x)
  stopifnot(near(d_items$mean, colMeans(x, na.rm = TRUE)))
  stopifnot(near(d_items$sd, apply(x, 2, sd, na.rm = TRUE)))

  pb <- sapply(seq_len(k), function(j) cor(cc[, j], total))
  ir <- sapply(seq_len(k), function(j) cor(cc[, j], total - cc[, j]))
  stopifnot(near(a_out$item.stats$raw.r, pb, 1e-12))
  stopifnot(near(a_out$item.stats$r.drop, ir, 1e-12))

  dich <- apply(x, 2, function(v) all(v[!is.na(v)] %in% c(0, 1)))
  hi <- apply(x, 2, max, na.rm = TRUE)

  # Biserial (Lord & Novick), checked against psych::biserial.
  p_cc <- colMeans(cc)
  bis <- ifelse(dich & p_cc > 0 & p_cc < 1,
                pb * sqrt(p_cc * (1 - p_cc)) / dnorm(qnorm(p_cc)), NA)
  for (j in which(!is.na(bis))) {
    invisible(capture.output(pbis <- psych::biserial(total, cc[, j])))
    if (abs(pbis) < 1) stopifnot(near(pbis * sqrt(n / (n - 1)), bis[j], 1e-10))
  }

  # Kelley's upper-lower 27% index.
  o <- order(total)
  gsz <- (27L * n + 50L) %/% 100L
  lower <- cc[o[seq_len(gsz)], , drop = FALSE]
  upper <- cc[o[(n - gsz + 1):n], , drop = FALSE]
  ul <- colMeans(upper) - colMeans(lower)
  ul <- ifelse(dich, ul, ifelse(hi > 0, ul / hi, NA))

  # Moodle's discriminative efficiency.
  de <- sapply(seq_len(k), function(j) {
    xj <- cc[, j]
    rest <- total - xj
    cmax <- cov(sort(xj), sort(rest))
    if (cmax == 0) NA else cov(xj, rest) / cmax
  })

  flags <- sapply(seq_len(k), function(j) {
    paste(item_flags(ir[j], colMeans(x, na.rm = TRUE)[j], dich[j]), collapse = ";")
  })

  item_rows[[name]] <- data.frame(
    dataset = name,
    item = seq_len(k) - 1L,
    n = colSums(!is.na(x)),
    mean = g(d_items$mean),
    sd = g(d_items$sd),
    point_biserial = g(a_out$item.stats$raw.r),
    item_rest = g(a_out$item.stats$r.drop),
    alpha_if_deleted = g(a_out$alpha.drop$raw_alpha),
    biserial = g(bis),
    upper_lower = g(ul),
    discriminative_efficiency = g(de),
    flags = flags
  )

  # Test level.
  d_total <- psych::describe(total)
  m <- mean(total)
  s <- sd(total)
  stopifnot(near(d_total$skew, sum((total - m)^3) / n / s^3))
  stopifnot(near(d_total$kurtosis, sum((total - m)^4) / n / s^4 - 3))
  stopifnot(near(d_total$median, median(total)))
  alpha <- a_out$total$raw_alpha
  binary <- all(cc %in% c(0, 1))
  kr20 <- if (binary) alpha else NA
  # KR-21 with the total-score variance of divisor n (Kuder & Richardson's
  # sigma^2), so that KR-21 <= KR-20.
  s2_pop <- s^2 * (n - 1) / n
  kr21 <- if (binary) k / (k - 1) * (1 - m * (k - m) / (k * s2_pop)) else NA
  if (binary) stopifnot(kr21 <= kr20)
  odd <- rowSums(cc[, seq(1, k, by = 2), drop = FALSE])
  even <- rowSums(cc[, seq(2, k, by = 2), drop = FALSE])
  r_oe <- cor(odd, even)
  test_rows[[name]] <- data.frame(
    dataset = name,
    n = n,
    items = k,
    mean = g(m),
    sd = g(s),
    alpha = g(alpha),
    sem = g(s * sqrt(1 - alpha)),
    median = g(d_total$median),
    min = g(d_total$min),
    max = g(d_total$max),
    skewness = g(d_total$skew),
    kurtosis = g(d_total$kurtosis),
    kr20 = g(kr20),
    kr21 = g(kr21),
    odd_even = g(r_oe),
    spearman_brown = g(2 * r_oe / (1 + r_oe))
  )
}
write_plain(do.call(rbind, item_rows), "ctt_items.csv")
write_plain(do.call(rbind, test_rows), "ctt_test.csv")

# ---- Option analysis ------------------------------------------------------------
n <- nrow(choices)
total <- rowSums(scored)
o <- order(total)
grp <- integer(n)
grp[o] <- floor(5 * (seq_len(n) - 1) / n)
opt_rows <- list()
item_opt_rows <- list()
for (j in seq_len(k_mc)) {
  ch <- choices[, j]
  rest <- total - scored[, j]
  opts <- sort(unique(c(ch[ch != ""], key[j])), method = "radix")
  stat_of <- function(ind) {
    cnt <- sum(ind)
    r <- if (cnt == 0 || cnt == n) NA else cor(as.numeric(ind), rest)
    c(count = cnt, proportion = cnt / n, point_biserial = r,
      mean_score = if (cnt == 0) NA else mean(total[ind]),
      sapply(0:4, function(q) mean(ind[grp == q])))
  }
  st <- lapply(opts, function(op) stat_of(ch == op))
  miss <- stat_of(ch == "")
  key_st <- st[[which(opts == key[j])]]
  opt_flags <- sapply(seq_along(opts), function(c) {
    if (opts[c] == key[j]) return("")
    f <- character(0)
    if (st[[c]]["proportion"] < 0.05) f <- c(f, "nonfunctioning_distractor")
    if (!is.na(st[[c]]["point_biserial"]) && !is.na(key_st["point_biserial"]) &&
        st[[c]]["point_biserial"] > key_st["point_biserial"]) f <- c(f, "probable_miskey")
    paste(f, collapse = ";")
  })
  f <- item_flags(key_st["point_biserial"], key_st["proportion"], TRUE)
  if (any(grepl("nonfunctioning_distractor", opt_flags))) f <- c(f, "nonfunctioning_distractor")
  if (any(grepl("probable_miskey", opt_flags))) f <- c(f, "probable_miskey")
  item_opt_rows[[j]] <- data.frame(item = j - 1L, key = key[j], flags = paste(f, collapse = ";"))

  one <- function(s, row, option, is_key, flags) {
    data.frame(item = j - 1L, row = row, option = option, is_key = is_key,
               count = s[["count"]], proportion = g(s[["proportion"]]),
               point_biserial = g(s[["point_biserial"]]), mean_score = g(s[["mean_score"]]),
               g1 = g(s[[5]]), g2 = g(s[[6]]), g3 = g(s[[7]]), g4 = g(s[[8]]), g5 = g(s[[9]]),
               flags = flags)
  }
  rows <- lapply(seq_along(opts), function(c) one(st[[c]], "option", opts[c], opts[c] == key[j], opt_flags[c]))
  rows[[length(rows) + 1]] <- one(miss, "missing", "", FALSE, "")
  opt_rows[[j]] <- do.call(rbind, rows)
}
write_plain(do.call(rbind, opt_rows), "ctt_options.csv")
write_plain(do.call(rbind, item_opt_rows), "ctt_option_items.csv")

# The faults must show.
oi <- do.call(rbind, item_opt_rows)
stopifnot(grepl("probable_miskey", oi$flags[8]), grepl("nonfunctioning_distractor", oi$flags[4]))

# ---- Lord's binomial conditional SEM --------------------------------------------
csem <- do.call(rbind, lapply(c(2L, 5L, 12L, 40L), function(k) {
  x <- 0:k
  data.frame(items = k, score = x, csem = g(sqrt(x * (k - x) / (k - 1))))
}))
write_plain(csem, "ctt_csem.csv")
