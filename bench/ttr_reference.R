# R's TTR (Debian r-cran-ttr, C kernels under R calls) on a 1,048,576-bar random walk (1 % moves,
# high/low around open/close, as random_walk.hpp), window 20: ns per bar, median of 9 calls.
# The side-by-side reference of bench_indicators' 1M-bar rows (bench/README.md); run both in turn:
#   Rscript bench/ttr_reference.R; build/bench/bench_indicators --benchmark_filter='batch/1048576'
# Needs R and TTR, which make deps does not install (only this optional reference uses them):
#   make bench-deps (or: apt-get install -y --no-install-recommends r-cran-ttr)
suppressMessages(library(TTR))
n <- 1048576
set.seed(42)
close <- 100 * exp(cumsum(rnorm(n, 0, 0.01)))
open <- c(100, close[-n])
high <- pmax(open, close) * (1 + abs(rnorm(n, 0, 0.01)) * 0.5)
low <- pmin(open, close) * (1 - abs(rnorm(n, 0, 0.01)) * 0.5)
hlc <- cbind(high, low, close)
ns_per_bar <- function(f) {
    t <- numeric(9)
    for (i in seq_along(t)) {
        t0 <- proc.time()[["elapsed"]]
        f()
        t[i] <- proc.time()[["elapsed"]] - t0
    }
    median(t) * 1e9 / n
}
cat(sprintf("TTR %s, %d bars, window 20, ns per bar:\n", packageVersion("TTR"), n))
cat(sprintf("  SMA %.1f\n", ns_per_bar(function() SMA(close, 20))))
cat(sprintf("  EMA %.1f\n", ns_per_bar(function() EMA(close, 20))))
cat(sprintf("  RSI (Wilder, TTR's default) %.1f\n", ns_per_bar(function() RSI(close, 20))))
cat(sprintf("  RSI (SMA of gains and losses: Cutler) %.1f\n", ns_per_bar(function() RSI(close, 20, maType = "SMA"))))
cat(sprintf("  BBands %.1f\n", ns_per_bar(function() BBands(close, 20))))
cat(sprintf("  stoch (fastK 20, fastD 20, SMA) %.1f\n",
            ns_per_bar(function() stoch(hlc, nFastK = 20, nFastD = 20, nSlowD = 3, maType = "SMA"))))
