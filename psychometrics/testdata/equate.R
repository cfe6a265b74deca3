# equate.R writes the data of the linking and equating tests and computes
# their reference values in base R, each straight from the published
# definitions (Kolen & Brennan 2014, "Test Equating, Scaling, and Linking",
# 3rd ed., ch. 2 and 6) and independently of the Go code.
#
# Regenerate (from the repository root; needs Debian's r-base-core):
#
#   Rscript psychometrics/testdata/equate.R
#
# Published data (typed in, not generated):
#   equate_kb_common.csv   the 11 common items of Kolen & Brennan's 3PL
#                          example (2004, 2nd ed., Table 6.5; also the plink
#                          package's KB04 data), new form X (source) and old
#                          form Y (target) estimates. a is on the published
#                          D = 1.7 metric: the tests and this script multiply
#                          it by 1.7 for the package's D = 1.
#   equate_kb_forms.csv    the 36-item forms of the same example for IRT
#                          true-score equating, form X already on the form Y
#                          scale (a on the D = 1.7 metric, as above).
#   equate_published.csv   name,value,tolerance. Kolen & Brennan's linking
#                          constants for the common items (Table 6.6 of the
#                          2nd ed.: mean/mean A 1.1449, B -.4790; mean/sigma
#                          A 1.1761, B -.5042, to 4 decimals); the form Y
#                          true-score equivalents and form X thetas of the
#                          36-item forms from Kolen's PolyEquate program (to 6
#                          decimals); and the equipercentile equivalents of
#                          Kolen & Brennan's small hypothetical example (ch. 2:
#                          form X relative frequencies .2 .3 .2 .2 .1 and form Y
#                          .1 .2 .2 .3 .2 on scores 0-4, equivalents .5, 1.75,
#                          2.8333, 3.5, 4.25). The numbers were taken from the
#                          test suites of the open-source jMetrik library
#                          (meyerjp3/psychometrics) and an R replication test,
#                          which quote the book and PolyEquate.
#
# Data written (seeded; set.seed below):
#   equate_common.csv      25 common items: target-scale parameters and
#                          source-scale estimates = the target items moved
#                          by the inverse of A = 1.25, B = -0.4, plus noise
#   equate_freq.csv        score,freq_x,freq_y: random-groups frequency
#                          distributions of two 40-item forms (3000 and 2500
#                          examinees; some scores have zero frequency)
#
# Golden written (name,value; numbers printed with %.17g):
#   equate_golden.csv
#     kb_meanmean_A/B, kb_meansigma_A/B, sim_meanmean_A/B,
#     sim_meansigma_A/B    closed forms: A = mean(a_src)/mean(a_tgt) or
#                          sd(b_tgt)/sd(b_src), B = mean(b_tgt) - A mean(b_src)
#     <set>_sl_<grid>_A/B  Stocking-Lord: optim() (Nelder-Mead, then BFGS with
#                          reltol 1e-16 and ndeps 1e-6) of
#                          sum_q w_q (sum_j P_tgt - sum_j P_src*)^2 over
#                          A, B; set kb or sim; grid normal61 = seq(-6, 6,
#                          0.2) with dnorm() weights normalised to 1, or
#                          uniform41 = seq(-4, 4, 0.2) with equal weights
#     kb_tse_theta_x, kb_tse_eq_x   IRT true-score equating of the 36-item
#                          forms, x = 0..36: theta by uniroot() (tol 1e-15)
#                          of sum_j P_Xj(theta) = x for sum c_X < x < 36,
#                          equivalent sum_j P_Yj(theta); x <= sum c_X maps
#                          linearly to x sum c_Y / sum c_X; 36 maps to 36
#     sim_tse_*            the same for the simulated items (source form
#                          moved to the target scale with the sim mean/sigma
#                          constants, against the target items)
#     eqp_x                equipercentile equivalent of x = 0..40: percentile
#                          rank P = F(x-1) + f(x)/2 and the inverse
#                          (P - G(yU - 1)) / g(yU) + yU - 1/2, yU the smallest
#                          y with G(y) > P (Kolen & Brennan ch. 2)

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(file_arg) == 1) dirname(normalizePath(file_arg)) else "."
path <- function(name) file.path(dir, name)

g <- function(v) sprintf("%.17g", v)
golden <- list()
put <- function(name, value) golden[[length(golden) + 1]] <<- data.frame(name = name, value = value)

p3 <- function(theta, a, b, c) c + (1 - c) / (1 + exp(-a * (theta - b)))
tcc <- function(theta, it) sapply(theta, function(t) sum(p3(t, it$a, it$b, it$c)))

# ---- Published data ---------------------------------------------------------
kb_common <- data.frame(
  a_x = c(0.455118, 0.583871, 0.754398, 0.663274, 1.068977, 0.967194, 0.347868, 1.457918, 0.701952, 1.407967, 1.299285),
  b_x = c(-0.710086, -0.856669, 0.021221, 0.050618, 0.961047, 0.194976, 2.276794, 1.024128, 2.240131, 1.555634, 2.158933),
  c_x = c(0.208748, 0.203834, 0.159961, 0.123961, 0.298628, 0.053538, 0.148927, 0.24527, 0.08529, 0.078897, 0.10753),
  a_y = c(0.441595, 0.572995, 0.598719, 0.604125, 0.990164, 0.808079, 0.413973, 1.355437, 0.633562, 1.134661, 0.925521),
  b_y = c(-1.334933, -1.321004, -0.709831, -0.353942, 0.531956, -0.115649, 2.553812, 0.581109, 1.896027, 1.079013, 2.133706),
  c_y = c(0.155883, 0.191298, 0.117663, 0.081759, 0.302443, 0.064791, 0.240967, 0.224322, 0.079396, 0.063009, 0.125873)
)
write.csv(kb_common, path("equate_kb_common.csv"), row.names = FALSE, quote = FALSE)

kb_forms <- data.frame(
  a_x = c(0.467344, 0.670924, 0.386976, 1.228024, 0.828161, 0.496452, 0.731571, 0.973113, 0.641447, 0.779740,
          0.815589, 0.563967, 1.047915, 0.892128, 0.908926, 0.781655, 0.759750, 0.822383, 0.557961, 0.897580,
          0.295784, 0.716916, 0.947343, 1.239634, 0.436801, 0.781728, 1.599493, 1.279241, 0.821706, 0.596854,
          1.075705, 0.728471, 1.197162, 0.493857, 0.787070, 1.104752),
  b_x = c(-2.616539, -1.068342, -1.339358, 0.064115, -0.701780, -1.511753, 0.030429, -0.657195, -0.479277, 0.688159,
          0.344648, -0.444704, -0.014127, 0.422782, 0.626040, 0.213016, 0.098919, -0.274926, -0.051057, 0.610857,
          2.173474, 0.742542, 0.180908, 0.700229, 1.117559, 0.763879, 1.149537, 1.270811, 1.311960, 2.130355,
          1.701967, 1.511532, 1.325326, 3.580113, 3.165387, 2.034859),
  c_x = c(0.175056, 0.116490, 0.208748, 0.282599, 0.262510, 0.203834, 0.322391, 0.220907, 0.159961, 0.364807,
          0.239862, 0.123961, 0.253470, 0.156932, 0.298628, 0.252099, 0.227257, 0.053538, 0.120098, 0.203621,
          0.148927, 0.233231, 0.064409, 0.245270, 0.142681, 0.087920, 0.199245, 0.164220, 0.143102, 0.085290,
          0.244298, 0.086474, 0.078897, 0.139884, 0.108961, 0.107530),
  a_y = c(0.870350, 0.462772, 0.441595, 0.544796, 0.619973, 0.572995, 1.175228, 0.445023, 0.598719, 0.847924,
          1.031996, 0.604125, 0.829722, 0.725171, 0.990164, 0.774935, 0.594230, 0.808079, 0.964044, 0.783557,
          0.413973, 0.761758, 1.195895, 1.355437, 1.186899, 1.029556, 1.041731, 1.205473, 0.969740, 0.633562,
          1.082216, 1.019458, 1.134661, 1.194845, 1.196146, 0.925521),
  b_y = c(-1.450715, -0.406996, -1.334933, -0.901734, -1.486483, -1.321004, 0.069050, 0.232402, -0.709831, -0.425342,
          -0.818383, -0.353942, -0.019137, -0.315511, 0.531956, 0.539442, 0.898656, -0.115649, -0.194763, 0.350592,
          2.553812, -0.158110, 0.505649, 0.581109, 0.622889, 0.389830, 0.939158, 1.135046, 0.697642, 1.896027,
          1.386423, 0.919670, 1.079013, 1.841148, 2.029683, 2.133706),
  c_y = c(0.157647, 0.109378, 0.155883, 0.138071, 0.211368, 0.191298, 0.294746, 0.272323, 0.117663, 0.144462,
          0.093584, 0.081759, 0.128310, 0.085425, 0.302443, 0.217930, 0.229885, 0.064791, 0.163258, 0.129939,
          0.240967, 0.113708, 0.239728, 0.224322, 0.257697, 0.185611, 0.165121, 0.232287, 0.107035, 0.079396,
          0.185511, 0.102719, 0.063009, 0.099913, 0.083187, 0.125873)
)
write.csv(kb_forms, path("equate_kb_forms.csv"), row.names = FALSE, quote = FALSE)

pe_eq <- c(0.000000, 0.888027, 1.776054, 2.66408, 3.552107, 4.440134, 5.328161, 6.134033, 7.185802, 8.39496,
           9.621725, 10.82559, 12.000215, 13.149525, 14.280262, 15.399495, 16.513518, 17.627108, 18.742944,
           19.861174, 20.979305, 22.09259, 23.194994, 24.280626, 25.345249, 26.387408, 27.408805, 28.413824,
           29.408303, 30.397704, 31.384411, 32.363711, 33.317925, 34.209551, 34.979905, 35.575623, 36.000000)
pe_theta <- c(rep(NA, 7),
              -4.336128, -2.770096, -2.063286, -1.607182, -1.268170, -0.995059, -0.763274, -0.559258, -0.374740,
              -0.204264, -0.044016, 0.108779, 0.256195, 0.399813, 0.540889, 0.680503, 0.819717, 0.959750,
              1.102159, 1.249018, 1.403104, 1.568130, 1.749146, 1.953320, 2.191603, 2.482434, 2.860365,
              3.399176, 4.321431, NA)
published <- rbind(
  data.frame(name = c("kb_meanmean_A", "kb_meanmean_B", "kb_meansigma_A", "kb_meansigma_B"),
             value = c("1.1449", "-0.4790", "1.1761", "-0.5042"), tolerance = "5e-5"),
  data.frame(name = paste0("kb_tse_eq_", 0:36), value = sprintf("%.6f", pe_eq), tolerance = "5e-6"),
  # PolyEquate's theta is on the D = 1.7 metric of the published a; D = 1
  # thetas are the same, since only a is rescaled.
  data.frame(name = paste0("kb_tse_theta_", 0:36), value = ifelse(is.na(pe_theta), "NA", sprintf("%.6f", pe_theta)), tolerance = "5e-6"),
  data.frame(name = paste0("kb_small_eqp_", 0:4), value = c("0.5", "1.75", "2.8333", "3.5", "4.25"), tolerance = "5e-5")
)
write.csv(published, path("equate_published.csv"), row.names = FALSE, quote = FALSE)

# ---- Simulated common items ---------------------------------------------------
set.seed(19830601)
nc <- 25
tgt <- data.frame(a = rlnorm(nc, 0, 0.3), b = rnorm(nc), c = runif(nc, 0.05, 0.25))
A0 <- 1.25; B0 <- -0.4
src <- data.frame(
  a = tgt$a * A0 * exp(rnorm(nc, 0, 0.08)),
  b = (tgt$b - B0) / A0 + rnorm(nc, 0, 0.08),
  c = pmin(pmax(tgt$c + rnorm(nc, 0, 0.02), 0), 0.4)
)
sim <- data.frame(a_x = src$a, b_x = src$b, c_x = src$c, a_y = tgt$a, b_y = tgt$b, c_y = tgt$c)
write.csv(data.frame(lapply(sim, g)), path("equate_common.csv"), row.names = FALSE, quote = FALSE)

# ---- Linking ---------------------------------------------------------------------
items_of <- function(d, form, scale = 1) data.frame(a = d[[paste0("a_", form)]] * scale, b = d[[paste0("b_", form)]], c = d[[paste0("c_", form)]])
grids <- list(
  normal61 = local({ n <- seq(-6, 6, by = 0.2); list(nodes = n, w = dnorm(n) / sum(dnorm(n))) }),
  uniform41 = local({ n <- seq(-4, 4, by = 0.2); list(nodes = n, w = rep(1 / length(n), length(n))) })
)
link <- function(prefix, d, scale) {
  s <- items_of(d, "x", scale); t <- items_of(d, "y", scale)
  A <- mean(s$a) / mean(t$a)
  put(paste0(prefix, "_meanmean_A"), g(A)); put(paste0(prefix, "_meanmean_B"), g(mean(t$b) - A * mean(s$b)))
  A <- sd(t$b) / sd(s$b)
  put(paste0(prefix, "_meansigma_A"), g(A)); put(paste0(prefix, "_meansigma_B"), g(mean(t$b) - A * mean(s$b)))
  for (gn in names(grids)) {
    q <- grids[[gn]]
    tt <- tcc(q$nodes, t)
    crit <- function(par) {
      ts <- tcc(q$nodes, data.frame(a = s$a / par[1], b = par[1] * s$b + par[2], c = s$c))
      sum(q$w * (tt - ts)^2)
    }
    fit <- optim(c(1, 0), crit, control = list(reltol = 1e-14, maxit = 5000))
    fit <- optim(fit$par, crit, method = "BFGS", control = list(reltol = 1e-16, maxit = 1000, ndeps = c(1e-6, 1e-6)))
    put(paste0(prefix, "_sl_", gn, "_A"), g(fit$par[1])); put(paste0(prefix, "_sl_", gn, "_B"), g(fit$par[2]))
  }
}
kb_common <- read.csv(path("equate_kb_common.csv"))
sim <- read.csv(path("equate_common.csv"))
link("kb", kb_common, 1.7)
link("sim", sim, 1)

# ---- IRT true-score equating --------------------------------------------------------
tse <- function(prefix, x, y) {
  cx <- sum(x$c); cy <- sum(y$c); n <- nrow(x)
  for (s in 0:n) {
    if (s == n) {
      th <- NA; e <- nrow(y)
    } else if (s <= cx) {
      th <- NA; e <- s * cy / cx
    } else {
      th <- uniroot(function(t) tcc(t, x) - s, c(-60, 60), tol = 1e-15)$root
      e <- tcc(th, y)
    }
    put(paste0(prefix, "_tse_theta_", s), g(th)); put(paste0(prefix, "_tse_eq_", s), g(e))
  }
}
kb_forms <- read.csv(path("equate_kb_forms.csv"))
tse("kb", items_of(kb_forms, "x", 1.7), items_of(kb_forms, "y", 1.7))
s <- items_of(sim, "x"); t <- items_of(sim, "y")
A <- sd(t$b) / sd(s$b); B <- mean(t$b) - A * mean(s$b)
tse("sim", data.frame(a = s$a / A, b = A * s$b + B, c = s$c), t)

# ---- Random-groups equipercentile equating --------------------------------------------
set.seed(19820101)
fx <- tabulate(rbinom(3000, 40, rbeta(3000, 5, 4)) + 1, nbins = 41)
fy <- tabulate(rbinom(2500, 40, rbeta(2500, 5.5, 3.5)) + 1, nbins = 41)
fy[c(1:3, 20)] <- 0 # scores nobody obtained, below and inside the range
write.csv(data.frame(score = 0:40, freq_x = fx, freq_y = fy), path("equate_freq.csv"), row.names = FALSE, quote = FALSE)
fr <- read.csv(path("equate_freq.csv"))
equipercentile <- function(fx, fy) {
  Fx <- cumsum(fx) / sum(fx)
  Gy <- cumsum(fy) / sum(fy)
  gy <- fy / sum(fy)
  P <- c(0, head(Fx, -1)) + fx / sum(fx) / 2
  Ky <- length(fy) - 1
  sapply(P, function(p) {
    if (p >= 1) return(Ky + 0.5)
    yu <- which(Gy > p)[1] - 1 # the score, 0-based
    below <- if (yu > 0) Gy[yu] else 0
    (p - below) / gy[yu + 1] + yu - 0.5
  })
}
put(paste0("eqp_", 0:40), g(equipercentile(fr$freq_x, fr$freq_y)))

write.csv(do.call(rbind, golden), path("equate_golden.csv"), row.names = FALSE, quote = FALSE)
