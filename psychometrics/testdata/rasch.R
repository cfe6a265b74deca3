# rasch.R simulates dichotomous Rasch data sets and computes the golden values
# of CalibrateRasch, RaschItemFit and RaschPersonFit with R's eRm and
# psychotools packages.
#
# Regenerate (from the repository root; needs Debian's r-base-core,
# r-cran-erm and r-cran-psychotools; takes about 15 seconds):
#
#   Rscript psychometrics/testdata/rasch.R
#
# Data written (0/1, NA = not administered, header I01, I02, ...):
#   rasch_complete.csv  500 persons x 15 items, complete
#   rasch_missing.csv   600 persons x 12 items, three linked booklets (items
#                       1-8, 5-12, 1-12) plus 15% random NA in the third
#   rasch_long.csv      400 persons x 100 items, complete, b in [-3, 3]
#
# Goldens written (numbers printed with %.17g):
#   rasch_items_golden.csv    dataset,item,b_cml,b_psychotools,se_psychotools,
#                             b_erm,se_erm,n,chisq,pvalue,outfit,infit,
#                             outfit_z,infit_z
#   rasch_persons_golden.csv  dataset,person,theta_erm,n,chisq,pvalue,outfit,
#                             infit,outfit_z,infit_z
#   rasch_summary_golden.csv  dataset,items,persons,excluded,
#                             loglik_psychotools,loglik_erm
# (item and person are 0-based, as in Go).
#
# Where each value comes from:
#   b_psychotools, se_psychotools, loglik_psychotools:
#       psychotools::raschmodel(x, reltol = 1e-14, maxit = 1000): CML with
#       analytic gradient (BFGS) and analytic Hessian. raschmodel fixes the
#       FIRST item at 0; the difficulties are re-centred to sum zero,
#       b = c(0, coef) - mean(c(0, coef)), and their covariance is
#       P E vcov E' P with E = rbind(0, I) and P = I - 1/k (the covariance of
#       the centred difficulties, which is the Moore-Penrose inverse of the
#       information matrix); se = sqrt(diag(.)), from the analytic Hessian
#       at raschmodel's own estimate. loglik = logLik(model).
#   b_erm, se_erm, loglik_erm:
#       eRm::RM(x) (sum0 = TRUE): betapar are EASINESS parameters that sum to
#       zero, so b = -betapar; se_erm = se.beta = sqrt(diag(W solve(hessian)
#       W')) with W the sum-zero design (first item = minus the sum of the
#       others). eRm maximises with nlm using a numerical gradient and a
#       numerical Hessian, so its b agree with the exact CML solution only to
#       about 1e-5 and its se to about 1e-4 (relative); b_cml below is the
#       precise reference. eRm is not run on rasch_long (too slow).
#   b_cml: the psychotools estimate polished by Newton-Raphson steps until
#       the largest step is below 1e-12: par <- par + vcov %*% gradient, with
#       the gradient of the conditional log-likelihood per NA pattern from
#       psychotools' elementary_symmetric_functions (first derivatives), as in
#       raschmodel's own gradient; re-centred like b_psychotools. BFGS stops
#       on a relative change of the log-likelihood, which on 100 items leaves
#       the raw raschmodel estimate about 1e-6 from the maximum; b_cml is the
#       maximum to about 1e-10.
#   theta_erm: eRm::person.parameter(RM(x)) "Person Parameter" (NA for the
#       persons eRm excludes: raw score 0 or perfect on the items administered).
#   n, chisq, outfit, infit, outfit_z, infit_z (items):
#       eRm::itemfit(pp): i.df, i.fit, i.outfitMSQ, i.infitMSQ, i.outfitZ,
#       i.infitZ, computed from eRm's own betapar and person parameters, so
#       the Go test passes b_erm and theta_erm to RaschItemFit. i.df is the
#       number of responses to the item by persons eRm did not exclude.
#   pvalue: pchisq(chisq, n - 1, lower.tail = FALSE), the p-value eRm's print
#       method shows (it uses 1 - pchisq(...)).
#   the same columns for persons: eRm::personfit(pp): p.df, p.fit,
#       p.outfitMSQ, p.infitMSQ, p.outfitZ, p.infitZ (NA for excluded persons).

suppressMessages({
  library(eRm)
  library(psychotools)
})

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."

g <- function(v) ifelse(is.na(v), "NA", sprintf("%.17g", v))

simulate <- function(theta, b) {
  p <- plogis(outer(theta, b, "-"))
  x <- matrix(as.integer(runif(length(p)) < p), length(theta), length(b))
  colnames(x) <- sprintf("I%02d", seq_along(b))
  x
}

set.seed(20240611)
complete <- simulate(rnorm(500), seq(-2, 2, length.out = 15))

set.seed(20240612)
missing <- simulate(rnorm(600, 0.2, 1.2), seq(-1.8, 2.2, length.out = 12))
booklet <- rep(1:3, each = 200)
missing[booklet == 1, 9:12] <- NA
missing[booklet == 2, 1:4] <- NA
third <- which(booklet == 3)
holes <- matrix(runif(length(third) * 12) < 0.15, length(third), 12)
part <- missing[third, ]
part[holes] <- NA
missing[third, ] <- part

set.seed(20240613)
long <- simulate(rnorm(400, 0, 1.5), runif(100, -3, 3))

# cml_gradient returns the gradient of the conditional log-likelihood with
# respect to the difficulties b (all k), grouping persons by NA pattern:
# sum over persons of -x_ij + pi_rj, pi_rj = P(x_j = 1 | raw score r), from
# psychotools' elementary symmetric functions (raschmodel's agrad is minus
# this, the gradient of the negative log-likelihood it minimises).
cml_gradient <- function(x, b) {
  grad <- numeric(ncol(x))
  pattern <- apply(is.na(x), 1, paste, collapse = "")
  for (p in unique(pattern)) {
    rows <- which(pattern == p)
    items <- which(!is.na(x[rows[1], ]))
    y <- x[rows, items, drop = FALSE]
    rs <- rowSums(y)
    esf <- elementary_symmetric_functions(b[items], order = 1)
    grad[items] <- grad[items] +
      colSums(-y + esf[[2]][rs + 1, , drop = FALSE] / esf[[1]][rs + 1])
  }
  grad
}

write_data <- function(x, name) {
  write.csv(x, file.path(dir, name), row.names = FALSE, quote = FALSE, na = "NA")
}
write_data(complete, "rasch_complete.csv")
write_data(missing, "rasch_missing.csv")
write_data(long, "rasch_long.csv")

item_rows <- list()
person_rows <- list()
summary_rows <- list()

for (name in c("complete", "missing", "long")) {
  x <- get(name)
  k <- ncol(x)

  pm <- raschmodel(x, reltol = 1e-14, maxit = 1000)
  stopifnot(pm$code == 0, all(pm$items == "0/1"))
  cf <- c(0, coef(pm))
  b_pt <- cf - mean(cf)
  E <- rbind(0, diag(k - 1))
  P <- diag(k) - 1 / k
  se_pt <- sqrt(diag(P %*% E %*% vcov(pm) %*% t(E) %*% P))
  par <- coef(pm)
  for (it in 1:20) {
    step <- as.vector(vcov(pm) %*% cml_gradient(x, c(0, par))[-1])
    par <- par + step
    if (max(abs(step)) < 1e-12) break
  }
  stopifnot(max(abs(step)) < 1e-12)
  b_cml <- c(0, par) - mean(c(0, par))

  rs <- rowSums(x, na.rm = TRUE)
  ni <- rowSums(!is.na(x))
  extreme <- rs == 0 | rs == ni

  na_items <- rep(NA_real_, k)
  b_erm <- se_erm <- na_items
  fit <- list(n = na_items, chisq = na_items, outfit = na_items, infit = na_items,
              outfit_z = na_items, infit_z = na_items)
  na_persons <- rep(NA_real_, nrow(x))
  theta <- na_persons
  pfit <- list(n = na_persons, chisq = na_persons, outfit = na_persons, infit = na_persons,
               outfit_z = na_persons, infit_z = na_persons)
  loglik_erm <- NA
  if (name != "long") {
    m <- RM(x)
    stopifnot(m$convergence <= 2, abs(sum(m$betapar)) < 1e-12)
    b_erm <- -m$betapar
    se_erm <- m$se.beta
    loglik_erm <- m$loglik
    pp <- suppressMessages(person.parameter(m))
    stopifnot(identical(sort(pp$pers.ex), which(extreme)))
    theta <- pp$theta.table[, "Person Parameter"]
    theta[extreme] <- NA
    ifit <- itemfit(pp)
    fit <- list(n = ifit$i.df, chisq = ifit$i.fit, outfit = ifit$i.outfitMSQ,
                infit = ifit$i.infitMSQ, outfit_z = ifit$i.outfitZ, infit_z = ifit$i.infitZ)
    pf <- personfit(pp)
    used <- which(!extreme)
    pfit$n[used] <- pf$p.df
    pfit$chisq[used] <- pf$p.fit
    pfit$outfit[used] <- pf$p.outfitMSQ
    pfit$infit[used] <- pf$p.infitMSQ
    pfit$outfit_z[used] <- pf$p.outfitZ
    pfit$infit_z[used] <- pf$p.infitZ
    pfit$n[extreme] <- 0
  }

  item_rows[[name]] <- data.frame(
    dataset = name, item = seq_len(k) - 1,
    b_cml = g(b_cml), b_psychotools = g(b_pt), se_psychotools = g(se_pt),
    b_erm = g(b_erm), se_erm = g(se_erm),
    n = ifelse(is.na(fit$n), "NA", fit$n), chisq = g(fit$chisq),
    pvalue = g(pchisq(fit$chisq, fit$n - 1, lower.tail = FALSE)),
    outfit = g(fit$outfit), infit = g(fit$infit),
    outfit_z = g(fit$outfit_z), infit_z = g(fit$infit_z))
  if (name != "long") {
    person_rows[[name]] <- data.frame(
      dataset = name, person = seq_len(nrow(x)) - 1, theta_erm = g(theta),
      n = pfit$n, chisq = g(pfit$chisq),
      pvalue = g(pchisq(pfit$chisq, pfit$n - 1, lower.tail = FALSE)),
      outfit = g(pfit$outfit), infit = g(pfit$infit),
      outfit_z = g(pfit$outfit_z), infit_z = g(pfit$infit_z))
  }
  summary_rows[[name]] <- data.frame(
    dataset = name, items = k, persons = sum(!extreme), excluded = sum(extreme),
    loglik_psychotools = g(as.numeric(logLik(pm))), loglik_erm = g(loglik_erm))

  cat(sprintf("%-8s max|b_psychotools - b_cml| = %.2g, max|b_erm - b_cml| = %.2g, max se rel diff = %.2g, loglik diff = %.2g\n",
              name, max(abs(b_pt - b_cml)), max(abs(b_erm - b_cml)), max(abs(se_erm / se_pt - 1)),
              loglik_erm - as.numeric(logLik(pm))))
}

write.csv(do.call(rbind, item_rows), file.path(dir, "rasch_items_golden.csv"),
          row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, person_rows), file.path(dir, "rasch_persons_golden.csv"),
          row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, summary_rows), file.path(dir, "rasch_summary_golden.csv"),
          row.names = FALSE, quote = FALSE)
