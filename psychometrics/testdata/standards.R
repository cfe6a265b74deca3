# standards.R generates the data of the standard-setting tests and computes
# their reference values in base R (and psych::ICC), each straight from the
# published definition and independently of the Go code.
#
# Regenerate (from the repository root; needs Debian's r-base-core and
# r-cran-psych):
#
#   Rscript psychometrics/testdata/standards.R
#
# Data written (seeded; set.seed below):
#   standards_angoff_round1.csv .. _round3.csv
#                              10 panelists x 30 items, probability ratings
#                              (two decimals) over three rounds; ratings move
#                              toward the panel's item means between rounds
#   standards_yesno.csv        12 panelists x 25 items, 0/1 Yes/No judgements
#   standards_bookmark_items.csv  40 3PL items (a, b, c; D = 1)
#   standards_bookmark_pages.csv  15 panelists' bookmark pages (1-based)
#   standards_scores.csv       600 raw scores on a 60-item test, with 5 NA
#                              (candidates not tested)
#   standards_hofstee_judges.csv  8 judges: min_cut, max_cut, min_fail, max_fail
#   standards_hofstee_strict.csv  the same judges with fail rates so low that
#                              the Hofstee line misses the curve (clamped cut)
#   standards_beuk_judges.csv  10 judges: cut, pass_rate
#   standards_borderline.csv   38 scores of a borderline group
#   standards_contrasting.csv  scores of 120 masters and 80 non-masters
#                              (score, master 1/0)
#
# Golden written (name,value; numbers printed with %.17g):
#   standards_golden.csv, names prefixed by method:
#   angoff_r{1,2,3}_*   per round: cut, se, cutsd, icc2, icc3 (psych::ICC,
#                       lmer = FALSE: Shrout & Fleiss ICC(2,1), ICC(3,1) of the
#                       items x panelists matrix), item_j means, panelist_p cuts
#   yesno_*             the same for the Yes/No matrix
#   bookmark_<s>_*      s = default (RP .67, page before, median), midpoint,
#                       mean, rp50; theta, se, cut, panelist_p thetas, and
#                       order_p / loc_p (1-based item of page p, its location).
#                       Locations solve P_j(theta) = RP with uniroot() (not
#                       the closed form); cut = sum_j P_j(theta).
#   hofstee_*, hofstee_strict_*  cut, fail, clamped, means of the judgements.
#                       F(c) = mean(scores < c) at integers, approxfun()
#                       between; the cut is uniroot() of F(c) - line(c) on
#                       [k_min, k_max], or the nearer end when no root.
#   beuk_*              cut, pass, mean/sd of judgements. All roots of
#                       Q(c) - line(c) found by uniroot() between sign
#                       changes on the integer grid (and on the two rays);
#                       the one nearest the mean cut is taken.
#   borderline_*        median(), mean(), se = sqrt(pi/2) * sd / sqrt(n)
#   contrasting_*       glm(binomial) (epsilon 1e-14): intercept, slope,
#                       cut = (log(w) - b0) / b1 and its delta-method SE from
#                       vcov(), for w = 1 and w = 2; min-error integer cut by
#                       brute force over the integers, with its counts.

suppressMessages(library(psych))

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."
path <- function(name) file.path(dir, name)

set.seed(20070401)

g <- function(v) sprintf("%.17g", v)
golden <- list()
put <- function(name, value) golden[[length(golden) + 1]] <<- data.frame(name = name, value = value)

# ---- Angoff over rounds (Cizek & Bunch 2007, ch. 6) -------------------------
panelists <- 10
items <- 30
difficulty <- rnorm(items, 0, 1)
leniency <- rnorm(panelists, 0, 0.4)
r1 <- outer(leniency, difficulty, function(l, d) plogis(0.3 + l - d)) +
  matrix(rnorm(panelists * items, 0, 0.1), panelists, items)
r1 <- round(pmin(pmax(r1, 0), 1), 2)
toward <- function(r, w) {
  m <- matrix(colMeans(r), nrow(r), ncol(r), byrow = TRUE)
  round(pmin(pmax((1 - w) * r + w * m + matrix(rnorm(length(r), 0, 0.02), nrow(r)), 0), 1), 2)
}
r2 <- toward(r1, 0.4)
r3 <- toward(r2, 0.4)
for (k in 1:3) {
  r <- list(r1, r2, r3)[[k]]
  colnames(r) <- paste0("i", seq_len(items))
  write.csv(r, path(sprintf("standards_angoff_round%d.csv", k)), row.names = FALSE, quote = FALSE)
}

angoff_golden <- function(prefix, x) {
  pc <- rowSums(x)
  icc <- ICC(t(x), lmer = FALSE)$results
  put(paste0(prefix, "cut"), g(mean(pc)))
  put(paste0(prefix, "se"), g(sd(pc) / sqrt(nrow(x))))
  put(paste0(prefix, "cutsd"), g(sd(pc)))
  put(paste0(prefix, "icc2"), g(icc["Single_random_raters", "ICC"]))
  put(paste0(prefix, "icc3"), g(icc["Single_fixed_raters", "ICC"]))
  put(paste0(prefix, "item_", seq_len(ncol(x))), g(colMeans(x)))
  put(paste0(prefix, "panelist_", seq_len(nrow(x))), g(pc))
}
for (k in 1:3) {
  x <- as.matrix(read.csv(path(sprintf("standards_angoff_round%d.csv", k))))
  angoff_golden(sprintf("angoff_r%d_", k), x)
}

# ---- Yes/No Angoff (Impara & Plake 1997) -----------------------------------
yn <- matrix(rbinom(12 * 25, 1, outer(rnorm(12, 0, 0.5), rnorm(25), function(l, d) plogis(0.5 + l - d))), 12, 25)
colnames(yn) <- paste0("i", 1:25)
write.csv(yn, path("standards_yesno.csv"), row.names = FALSE, quote = FALSE)
angoff_golden("yesno_", as.matrix(read.csv(path("standards_yesno.csv"))))

# ---- Bookmark (Mitzel, Lewis, Patz & Green 2001) ---------------------------
nb <- 40
it <- data.frame(a = round(rlnorm(nb, 0, 0.3), 3), b = round(rnorm(nb), 3), c = round(runif(nb, 0, 0.25), 3))
it$b[7] <- it$b[3] <- 0.5; it$a[7] <- it$a[3]; it$c[7] <- it$c[3] # a tie: keeps item order
write.csv(it, path("standards_bookmark_items.csv"), row.names = FALSE, quote = FALSE)
pages <- data.frame(page = sample(18:26, 15, replace = TRUE))
write.csv(pages, path("standards_bookmark_pages.csv"), row.names = FALSE, quote = FALSE)

it <- read.csv(path("standards_bookmark_items.csv"))
pages <- read.csv(path("standards_bookmark_pages.csv"))$page
p3 <- function(theta, a, b, c) c + (1 - c) / (1 + exp(-a * (theta - b)))
bookmark <- function(prefix, rp, midpoint, use_mean) {
  loc <- sapply(seq_len(nrow(it)), function(j) {
    uniroot(function(t) p3(t, it$a[j], it$b[j], it$c[j]) - rp, c(-50, 50), tol = 1e-15)$root
  })
  ord <- order(loc)
  sl <- loc[ord]
  th <- sl[pages - 1]
  if (midpoint) th <- (sl[pages - 1] + sl[pages]) / 2
  theta <- if (use_mean) mean(th) else median(th)
  put(paste0(prefix, "theta"), g(theta))
  put(paste0(prefix, "se"), g(sd(th) / sqrt(length(th))))
  put(paste0(prefix, "cut"), g(sum(p3(theta, it$a, it$b, it$c))))
  put(paste0(prefix, "panelist_", seq_along(th)), g(th))
  put(paste0(prefix, "order_", seq_along(ord)), ord)
  put(paste0(prefix, "loc_", seq_along(sl)), g(sl))
}
bookmark("bookmark_default_", 0.67, FALSE, FALSE)
bookmark("bookmark_midpoint_", 0.67, TRUE, FALSE)
bookmark("bookmark_mean_", 0.67, FALSE, TRUE)
bookmark("bookmark_rp50_", 0.50, FALSE, FALSE)

# ---- Scores for the compromise methods -------------------------------------
ability <- rbeta(600, 6, 3.5)
scores <- rbinom(600, 60, ability)
scores[sample(600, 5)] <- NA
write.csv(data.frame(score = scores), path("standards_scores.csv"), row.names = FALSE, quote = FALSE)
scores <- read.csv(path("standards_scores.csv"))$score
scores <- scores[!is.na(scores)]
Fc <- local({
  grid <- seq(floor(min(scores)), floor(max(scores)) + 1)
  approxfun(grid, sapply(grid, function(c) mean(scores < c)), rule = 2)
})

# ---- Hofstee (1983) ---------------------------------------------------------
hj <- data.frame(
  min_cut = round(runif(8, 28, 34)), max_cut = round(runif(8, 38, 45)),
  min_fail = round(runif(8, 0.05, 0.15), 2), max_fail = round(runif(8, 0.25, 0.45), 2)
)
write.csv(hj, path("standards_hofstee_judges.csv"), row.names = FALSE, quote = FALSE)
strict <- hj
strict$min_fail <- round(strict$min_fail / 10, 3)
strict$max_fail <- round(strict$max_fail / 10, 3)
write.csv(strict, path("standards_hofstee_strict.csv"), row.names = FALSE, quote = FALSE)
hofstee <- function(prefix, file) {
  j <- read.csv(path(file))
  kmin <- mean(j$min_cut); kmax <- mean(j$max_cut)
  fmin <- mean(j$min_fail); fmax <- mean(j$max_fail)
  line <- function(c) fmax - (fmax - fmin) * (c - kmin) / (kmax - kmin)
  gfun <- function(c) Fc(c) - line(c)
  clamped <- 0
  if (gfun(kmin) > 0) {
    cut <- kmin; clamped <- 1
  } else if (gfun(kmax) < 0) {
    cut <- kmax; clamped <- 1
  } else {
    cut <- uniroot(gfun, c(kmin, kmax), tol = 1e-13)$root
  }
  put(paste0(prefix, "cut"), g(cut))
  put(paste0(prefix, "fail"), g(Fc(cut)))
  put(paste0(prefix, "clamped"), clamped)
  put(paste0(prefix, c("min_cut", "max_cut", "min_fail", "max_fail")), g(c(kmin, kmax, fmin, fmax)))
}
hofstee("hofstee_", "standards_hofstee_judges.csv")
hofstee("hofstee_strict_", "standards_hofstee_strict.csv")

# ---- Beuk (1984) ------------------------------------------------------------
bj <- data.frame(cut = round(rnorm(10, 36, 3)), pass_rate = round(rnorm(10, 0.7, 0.08), 2))
write.csv(bj, path("standards_beuk_judges.csv"), row.names = FALSE, quote = FALSE)
bj <- read.csv(path("standards_beuk_judges.csv"))
kbar <- mean(bj$cut); pbar <- mean(bj$pass_rate)
sk <- sd(bj$cut); sp <- sd(bj$pass_rate)
h <- function(c) (1 - Fc(c)) - (pbar - sp / sk * (c - kbar))
lo <- floor(min(scores)); hi <- floor(max(scores)) + 1
pts <- c(lo - 1000, seq(lo, hi), hi + 1000) # the rays are linear: one far point each
roots <- c()
for (i in seq_len(length(pts) - 1)) {
  a <- pts[i]; b <- pts[i + 1]
  if (h(a) == 0) roots <- c(roots, a)
  if (h(a) * h(b) < 0) roots <- c(roots, uniroot(h, c(a, b), tol = 1e-13)$root)
}
cut <- roots[which.min(abs(roots - kbar))]
put("beuk_cut", g(cut))
put("beuk_pass", g(1 - Fc(cut)))
put("beuk_roots", length(unique(roots)))
put(c("beuk_mean_cut", "beuk_mean_pass", "beuk_sd_cut", "beuk_sd_pass"), g(c(kbar, pbar, sk, sp)))

# ---- Borderline group (Livingston & Zieky 1982) ------------------------------
bl <- rbinom(38, 60, 0.55)
write.csv(data.frame(score = bl), path("standards_borderline.csv"), row.names = FALSE, quote = FALSE)
bl <- read.csv(path("standards_borderline.csv"))$score
put("borderline_cut", g(median(bl)))
put("borderline_mean", g(mean(bl)))
put("borderline_se", g(sqrt(pi / 2) * sd(bl) / sqrt(length(bl))))
put("borderline_n", length(bl))

# ---- Contrasting groups (Livingston & Zieky 1982; Clauser & Clyman 1994) ----
cg <- rbind(
  data.frame(score = rbinom(120, 60, 0.66), master = 1),
  data.frame(score = rbinom(80, 60, 0.50), master = 0)
)
write.csv(cg, path("standards_contrasting.csv"), row.names = FALSE, quote = FALSE)
cg <- read.csv(path("standards_contrasting.csv"))
fit <- glm(master ~ score, family = binomial, data = cg, control = glm.control(epsilon = 1e-14, maxit = 100))
b <- coef(fit); v <- vcov(fit)
put("contrasting_intercept", g(b[[1]]))
put("contrasting_slope", g(b[[2]]))
for (w in c(1, 2)) {
  cut <- (log(w) - b[[1]]) / b[[2]]
  grad <- c(-1 / b[[2]], -cut / b[[2]])
  se <- sqrt(drop(t(grad) %*% v %*% grad))
  cand <- seq(floor(min(cg$score)), floor(max(cg$score)) + 1)
  loss <- sapply(cand, function(c) w * sum(cg$score[cg$master == 0] >= c) + sum(cg$score[cg$master == 1] < c))
  best <- cand[which(loss == min(loss))[1]]
  pre <- sprintf("contrasting_w%d_", w)
  put(paste0(pre, "cut"), g(cut))
  put(paste0(pre, "se"), g(se))
  put(paste0(pre, "min_error_cut"), best)
  put(paste0(pre, "false_passes"), sum(cg$score[cg$master == 0] >= best))
  put(paste0(pre, "false_fails"), sum(cg$score[cg$master == 1] < best))
}

write.csv(do.call(rbind, golden), path("standards_golden.csv"), row.names = FALSE, quote = FALSE)
