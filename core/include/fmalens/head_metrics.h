// Per-head statistics of a captured FMA run, computed from the bands (O(n log n) per head, never
// an n x n matrix): the mass each level carries, how far the head looks (attended distance as a
// mass distribution over log-spaced bins, by the level that serves each distance), how spread its
// rows are (entropy), and how much it gives the first token (an attention sink) or the
// reference's phantom zero keys. The head finder and distance views, `fmalens inspect`'s
// head_metrics.json and the tests read these. Torch-free.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fmalens/snapshot.h"

namespace fmalens {

// Distance bins: bin 0 holds distance 0, bin b >= 1 the distances [2^(b-1), 2^b). Distance is
// |query - key| in tokens (1D) or the Chebyshev distance in patches (2D). A coarse block's mass
// is spread evenly over its tokens, as the implied matrix draws it.
int distance_bin(int64_t distance);
int64_t distance_bin_start(int bin);  // the smallest distance of bin `bin`
int distance_bins(int64_t tokens);    // bins a run of `tokens` tokens needs

struct HeadStats {
  int layer = 0, head = 0;
  std::vector<double> level_mass;  // [levels] mean over rows of the mass at each level (0 = fine)
  double sink_mass = 0;            // mean over rows of the weight on token 0 (the query 0 row left out)
  double phantom_mass = 0;         // mean over rows of the mass on phantom zero keys (zero_pad)
  double mean_distance = 0;        // the mass-weighted mean attended distance, over all rows
  double median_distance = 0;      // the median of that mass distribution (within its bin: linear)
  double entropy_bits = 0;         // mean over rows of the entropy of the row's token weights
  // [levels][bins]: attention mass at each distance bin served by each level, summed over rows
  // and divided by the rows (a head's profile sums to 1 minus its phantom mass).
  std::vector<std::vector<double>> distance_mass;
};

// Every layer x head of an FMA (or local) run, layer-major. Throws Error for a run without bands.
std::vector<HeadStats> head_stats(const Snapshot& snapshot);

// The mean over a layer's heads (head = -1): level masses, distances and profiles averaged.
HeadStats mean_of_heads(const std::vector<HeadStats>& stats, int layer);

// The names of the head finder's metrics, in the order of head_metric(): "fine mass",
// "L1 mass", ..., "mean distance", "median distance", "entropy", "sink mass", "phantom mass".
std::vector<std::string> head_metric_names(int levels);
double head_metric(const HeadStats& stats, int metric);

// head_metrics.json: {"metrics": [names], "heads": [{"layer", "head", "values": [...], "profile": ...}]}.
std::string head_stats_json(const std::vector<HeadStats>& stats, int levels, int64_t tokens);

}  // namespace fmalens

namespace fmalens {

// How far FMA's weights are from exact softmax attention with the same q and k, row by row over
// the whole input: total variation 0.5 sum_t |fma - exact| (phantom mass counted as off) and
// KL(exact || fma) in bits, per query; their mean by distance bin and by serving level; and the
// worst rows. Exact rows are computed one at a time (O(n^2 d) work, O(n) memory). head -1
// compares the mean of the heads' rows. `keep_going(fraction)` may stop it (returns false:
// throws Cancelled).
struct FmaErrorProfile {
  int layer = 0, head = -1;
  std::vector<float> tv, kl;        // [tokens]
  std::vector<double> tv_by_bin;    // [distance bins]: mean over rows of 0.5 sum |fma - exact| over the bin's keys
  std::vector<double> tv_by_level;  // [levels]: the same over the keys each level serves
  std::vector<int64_t> worst;       // up to 20 rows, largest total variation first
  double mean_tv = 0, max_tv = 0, mean_kl = 0;
};
FmaErrorProfile fma_error_profile(const Snapshot& snapshot, int layer, int head, const std::function<bool(double)>& keep_going = {});

}  // namespace fmalens
