# forensics.R computes, independently of the Go code, reference values for
# the lognormal response-time model (FitResponseTimes) and the
# Poisson-binomial upper tail behind the Generalized Binomial Test
# (PoissonBinomialTail).
#
# Regenerate (from the repository root; needs Debian's r-base-core only):
#
#   Rscript psychometrics/testdata/forensics.R
#
# Files written (numbers printed with %.17g):
#
#   forensics_times.csv         i1..i8: response times in seconds of
#                               40 persons on 8 items, simulated from the
#                               lognormal model (beta ~ N(4, 0.5^2), 1/alpha
#                               ~ U(0.3, 0.6), tau ~ N(0, 0.3^2)), about 10%
#                               missing (NA).
#   forensics_times_golden.csv  param,index,value: beta (item), alpha (item),
#                               tau (person), index 1-based. beta and tau are
#                               the least-squares fit of the two-way additive
#                               model lm(log t ~ 0 + item + person) with
#                               sum-to-zero person contrasts (so mean tau = 0),
#                               tau_i = -(person effect i); alpha_j =
#                               sqrt(n_j / sum of the item's squared lm
#                               residuals).
#   forensics_pbinom.csv        case,m,tail,p1..p40: 12 vectors of 40
#                               probabilities (uniform on [0.05, 0.95], or on
#                               [0.2, 0.7] for the later cases) and m; tail =
#                               P(M >= m) from the exact distribution
#                               computed by the discrete Fourier transform of
#                               the characteristic function (Hong, 2013) —
#                               a different algorithm from the Go code's
#                               recursive convolution.

set.seed(20261204)
dir <- "psychometrics/testdata"
fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

# --- lognormal response times -------------------------------------------
n <- 40; k <- 8
beta <- rnorm(k, 4, 0.5)
sigma <- runif(k, 0.3, 0.6)
tau <- rnorm(n, 0, 0.3)
logt <- outer(-tau, beta, "+") + matrix(rnorm(n * k), n, k) %*% diag(sigma)
times <- exp(logt)
times[matrix(runif(n * k) < 0.1, n, k)] <- NA
times <- round(times, 3)
out <- data.frame(row.names = 1:n)
for (j in 1:k) out[[sprintf("i%d", j)]] <- ifelse(is.na(times[, j]), "NA", sprintf("%.3f", times[, j]))
write.csv(out, file.path(dir, "forensics_times.csv"), row.names = FALSE, quote = FALSE)

long <- data.frame(
  y = log(as.vector(times)),
  item = factor(rep(1:k, each = n)),
  person = factor(rep(1:n, times = k))
)
long <- long[!is.na(long$y), ]
fit <- lm(y ~ 0 + item + person, data = long, contrasts = list(person = "contr.sum"))
cf <- coef(fit)
beta_hat <- cf[paste0("item", 1:k)]
eff <- cf[paste0("person", 1:(n - 1))]
eff <- c(eff, -sum(eff))
tau_hat <- -eff
r <- residuals(fit)
alpha_hat <- sapply(1:k, function(j) {
  rj <- r[long$item == j]
  sqrt(length(rj) / sum(rj^2))
})
golden <- rbind(
  data.frame(param = "beta", index = 1:k, value = fmt(beta_hat)),
  data.frame(param = "alpha", index = 1:k, value = fmt(alpha_hat)),
  data.frame(param = "tau", index = 1:n, value = fmt(tau_hat))
)
write.csv(golden, file.path(dir, "forensics_times_golden.csv"), row.names = FALSE, quote = FALSE)

# --- Poisson-binomial tail by DFT-CF (Hong, 2013) -----------------------
dpb <- function(p) {
  N <- length(p)
  l <- 0:N
  z <- exp(2i * pi * l / (N + 1))
  phi <- sapply(z, function(zl) prod(1 - p + p * zl))
  Re(fft(phi)) / (N + 1)
}
rows <- list()
for (case in 1:12) {
  p <- if (case <= 6) runif(40, 0.05, 0.95) else runif(40, 0.2, 0.7)
  mu <- sum(p)
  m <- as.integer(ceiling(mu) + (case %% 6) * 2)
  d <- pmax(dpb(p), 0)
  tail <- sum(d[(m + 1):41])
  rows[[case]] <- c(case = case, m = m, tail = fmt(tail), setNames(fmt(p), sprintf("p%d", 1:40)))
}
write.csv(do.call(rbind, rows), file.path(dir, "forensics_pbinom.csv"), row.names = FALSE, quote = FALSE)
