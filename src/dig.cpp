#include "igx/dig.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "ig_detail.h"
#include "igx/error.h"
#include "igx/json_text.h"
#include "igx/memory.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

// Distance rows are computed in chunks of about this many float32 values (32 MiB), which bounds
// the memory of the neighbour search whatever the vocabulary's size.
constexpr int64_t kChunkElements = int64_t{1} << 23;

void check_options(const DigOptions& options) {
  if (options.anchors() < 1) throw Error("DIG anchors (m) must be at least 1, got " + std::to_string(options.anchors()));
  if (options.upscale() < 1) throw Error("DIG upscale factor must be at least 1, got " + std::to_string(options.upscale()));
  if (options.neighbours() < 1) {
    throw Error("DIG neighbours (K) must be at least 1, got " + std::to_string(options.neighbours()));
  }
}

// The anchor search state of one moving token.
struct Token {
  int64_t example;
  int64_t position;
  int64_t word;                  // the current anchor word (the input word at first)
  std::vector<int64_t> visited;  // words on the path so far; they are not candidates again
  bool at_baseline = false;      // no candidate was left: the path stays at the baseline
};

// |a - b|^2 in float64 (float32 rows convert exactly), in a fixed order: eight partial sums
// over the dimensions d mod 8, so that the additions do not wait on each other, added pairwise.
// The same rows always give the same value.
template <typename Scalar>
double squared_distance(const Scalar* a, const Scalar* b, int64_t dimension) {
  double partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t d = 0;
  for (; d + 8 <= dimension; d += 8) {
    for (int k = 0; k < 8; ++k) {
      const double difference = static_cast<double>(a[d + k]) - static_cast<double>(b[d + k]);
      partial[k] += difference * difference;
    }
  }
  for (int k = 0; d < dimension; ++d, ++k) {
    const double difference = static_cast<double>(a[d]) - static_cast<double>(b[d]);
    partial[k] += difference * difference;
  }
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) + ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

// The neighbour search of one word. `screen` holds |c|^2 - 2 q.c for every word c, computed in
// float32 (one matrix product per chunk of words): the squared distance to q up to |q|^2 and
// an error of at most `margin`. The ranking is the exact one, by the squared distance computed
// in float64 from the rows and equal distances by id; the float32 values settle it wherever
// they are more than 2 margin apart, and only words closer than that are computed in float64:
//  1. a threshold: a strided sample's order statistic, raised until at least `count` words lie
//     at or below it, so it is at least the count-th smallest screened value t;
//  2. the words within t + 2 margin (those at or below the threshold, or the whole row again
//     when the threshold is below t + 2 margin): every one of the exact nearest is among them
//     (at least `count` words lie within t + margin exactly, so the count-th exact distance is
//     at most t + margin, and a word that near screens at most t + 2 margin);
//  3. sorted by screened value, then each run of words whose consecutive values differ by at
//     most 2 margin (whose order the screen cannot decide) sorted by (exact distance, id).
// The row is scratch: the word's own entry is overwritten.
template <typename Scalar>
std::vector<int64_t> nearest_in_row(float* screen, const Scalar* vocabulary, int64_t size, int64_t dimension,
                                    int64_t self, int64_t count, double margin, std::vector<int64_t>& indices,
                                    std::vector<std::pair<float, int64_t>>& near,
                                    std::vector<std::pair<double, int64_t>>& exact) {
  screen[self] = std::numeric_limits<float>::infinity();
  // 1. A threshold at or above the count-th smallest screened value.
  float threshold = std::numeric_limits<float>::infinity();
  constexpr int64_t kSample = 512;
  if (size > 8 * count && size > 2 * kSample) {
    float sample[kSample];
    for (int64_t k = 0; k < kSample; ++k) sample[k] = screen[k * size / kSample];
    // Twice the expected rank of the count-th value, so that one pass nearly always does.
    const int64_t rank = std::min<int64_t>(kSample - 1, 2 * count * kSample / size + 8);
    std::nth_element(sample, sample + rank, sample + kSample);
    threshold = sample[rank];
  }
  // 2. The words at or below it (branch-free: most are not), or all others when too few are.
  indices.resize(static_cast<size_t>(size));
  int64_t found = 0;
  for (int64_t j = 0; j < size; ++j) {
    indices[found] = j;
    found += screen[j] <= threshold;
  }
  if (found < count) {
    found = 0;
    for (int64_t j = 0; j < size; ++j) {
      if (j != self) indices[found++] = j;
    }
  }
  near.clear();
  for (int64_t k = 0; k < found; ++k) near.emplace_back(screen[indices[k]], indices[k]);
  std::nth_element(near.begin(), near.begin() + (count - 1), near.end());
  const double bound = static_cast<double>(near[count - 1].first) + 2 * margin;
  if (bound > static_cast<double>(threshold)) {
    // Words above the threshold can still be among the nearest: collect them all again.
    near.clear();
    for (int64_t j = 0; j < size; ++j) {
      if (j != self && static_cast<double>(screen[j]) <= bound) near.emplace_back(screen[j], j);
    }
  } else {
    near.erase(std::remove_if(near.begin(), near.end(),
                              [bound](const std::pair<float, int64_t>& entry) { return entry.first > bound; }),
               near.end());
  }
  // 3. Sorted by screened value; runs closer than 2 margin by exact distance.
  std::sort(near.begin(), near.end());
  std::vector<int64_t> words(near.size());
  for (size_t first = 0; first < near.size();) {
    size_t last = first + 1;
    while (last < near.size() &&
           static_cast<double>(near[last].first) - static_cast<double>(near[last - 1].first) <= 2 * margin) {
      ++last;
    }
    if (last - first == 1) {
      words[first] = near[first].second;
    } else {
      exact.clear();
      for (size_t k = first; k < last; ++k) {
        const int64_t word = near[k].second;
        exact.emplace_back(squared_distance(vocabulary + word * dimension, vocabulary + self * dimension, dimension),
                           word);
      }
      std::sort(exact.begin(), exact.end());
      for (size_t k = first; k < last; ++k) words[k] = exact[k - first].second;
    }
    first = last;
  }
  words.resize(static_cast<size_t>(count));
  return words;
}

// Adds one dimension's contribution to every candidate's score: `column` holds that dimension
// of each candidate. Greedy: |monotonized - candidate|^2, to which only the dimensions outside
// [low, high] contribute (they move to `moved`); MaxCount: 1 per monotone dimension. Written
// without branches over contiguous columns so that the compiler vectorises it.
template <typename Scalar, bool kGreedy>
void score_dimension(const Scalar* __restrict column, int64_t count, Scalar low, Scalar high, Scalar moved,
                     Scalar* __restrict scores) {
  for (int64_t j = 0; j < count; ++j) {
    const Scalar value = column[j];
    if constexpr (kGreedy) {
      const Scalar difference = moved - value;
      const Scalar square = difference * difference;
      scores[j] += value < low ? square : (value > high ? square : Scalar(0));
    } else {
      scores[j] += value < low ? Scalar(0) : (value > high ? Scalar(0) : Scalar(1));
    }
  }
}

// The best candidate of `list` for a token whose bounds are low..high and whose moved
// dimensions are `moved` (all in the vocabulary's dtype, where they are exact): the smallest
// Greedy score or the largest MaxCount score, the nearer neighbour among equals; -1 when every
// candidate is excluded (the baseline word and the words already on the path). The candidates
// are first copied column by column into `columns` ([D, K] scratch).
template <typename Scalar, bool kGreedy>
int64_t best_candidate(const Scalar* vocabulary, int64_t dimension, const std::vector<int64_t>& list,
                       const Token& token, int64_t baseline_word, const Scalar* low, const Scalar* high,
                       const Scalar* moved, std::vector<Scalar>& columns, std::vector<Scalar>& scores) {
  const int64_t count = static_cast<int64_t>(list.size());
  columns.resize(static_cast<size_t>(count * dimension));
  scores.assign(static_cast<size_t>(count), Scalar(0));
  // Eight rows at a time, so that each dimension's eight values fill one run of the column.
  constexpr int64_t kRows = 8;
  for (int64_t first = 0; first < count; first += kRows) {
    const int64_t rows = std::min(kRows, count - first);
    const Scalar* row[kRows];
    for (int64_t r = 0; r < rows; ++r) row[r] = vocabulary + list[first + r] * dimension;
    for (int64_t d = 0; d < dimension; ++d) {
      Scalar* column = columns.data() + d * count + first;
      for (int64_t r = 0; r < rows; ++r) column[r] = row[r][d];
    }
  }
  for (int64_t d = 0; d < dimension; ++d) {
    score_dimension<Scalar, kGreedy>(columns.data() + d * count, count, low[d], high[d], moved[d], scores.data());
  }
  int64_t best = -1;
  for (int64_t j = 0; j < count; ++j) {
    const int64_t word = list[j];
    if (word == baseline_word || std::find(token.visited.begin(), token.visited.end(), word) != token.visited.end()) {
      continue;
    }
    // Strictly better only: among equal scores the nearer neighbour wins.
    if (best < 0 || (kGreedy ? scores[j] < scores[best] : scores[j] > scores[best])) best = j;
  }
  return best < 0 ? -1 : list[best];
}

// The bounds of monotonizing against `reference` (float64, [D]) towards `base`, in the
// vocabulary's dtype: each dimension's interval between the two, and where a dimension outside
// it moves, 1/m of the way from the reference to the baseline (rounding to the dtype keeps it
// between the two, which are representable).
template <typename Scalar>
struct Bounds {
  std::vector<Scalar> low, high, moved;
  Bounds(const double* reference, const double* base, int64_t dimension, double step)
      : low(dimension), high(dimension), moved(dimension) {
    for (int64_t d = 0; d < dimension; ++d) {
      low[d] = static_cast<Scalar>(std::min(reference[d], base[d]));
      high[d] = static_cast<Scalar>(std::max(reference[d], base[d]));
      moved[d] = static_cast<Scalar>(reference[d] - (reference[d] - base[d]) * step);
    }
  }
};

// The next point of a token at `point` (float64, [D]) towards `base`: the best candidate scored
// against `reference` (the point itself, or the previous anchor word), and that candidate
// monotonized against the point into `out` (the baseline when none is left). Returns the chosen
// word, -1 for none.
template <typename Scalar>
int64_t step_token(const NeighbourIndex& index, const std::vector<int64_t>& list, const Token& token,
                   int64_t baseline_word, const double* reference, const double* point, const double* base, double step,
                   bool greedy, double* out, std::vector<Scalar>& columns, std::vector<Scalar>& scores) {
  const int64_t dimension = index.vocabulary().size(1);
  const Bounds<Scalar> scored(reference, base, dimension, step);
  const Scalar* vocabulary = index.vocabulary().data_ptr<Scalar>();
  const int64_t best =
      greedy ? best_candidate<Scalar, true>(vocabulary, dimension, list, token, baseline_word, scored.low.data(),
                                            scored.high.data(), scored.moved.data(), columns, scores)
             : best_candidate<Scalar, false>(vocabulary, dimension, list, token, baseline_word, scored.low.data(),
                                             scored.high.data(), scored.moved.data(), columns, scores);
  if (best < 0) {
    std::copy(base, base + dimension, out);
    return best;
  }
  std::optional<Bounds<Scalar>> own;  // the point's bounds, when the score used the word's
  if (reference != point) own.emplace(point, base, dimension, step);
  const Bounds<Scalar>& path = own ? *own : scored;
  const Scalar* candidate = vocabulary + best * dimension;
  for (int64_t d = 0; d < dimension; ++d) {
    out[d] = candidate[d] >= path.low[d] && candidate[d] <= path.high[d] ? candidate[d] : path.moved[d];
  }
  return best;
}

// One round of the anchor search for `tokens` (indices into `all`): picks each token's next
// anchor, scored against its current anchor word or point as `options` say, and writes its point
// into `next` (the current points are in `current`, [T, D] float64 per example). Candidates are scored straight from the vocabulary rows, without materialising
// their monotonized versions; tokens are spread over the threads.
void advance(NeighbourIndex& index, std::vector<Token>& all, const std::vector<size_t>& tokens,
             const std::vector<torch::Tensor>& current, std::vector<torch::Tensor>& next, const torch::Tensor& baseline,
             int64_t baseline_word, const DigOptions& options) {
  const int64_t dimension = index.vocabulary().size(1);
  const double* base = baseline.data_ptr<double>();
  const double step = 1.0 / static_cast<double>(options.anchors());
  const bool greedy = options.strategy() == AnchorStrategy::Greedy;
  const bool word_scored = options.score() == AnchorScore::Word;
  const double* words = index.vocabulary_double().data_ptr<double>();
  const bool single = index.vocabulary().scalar_type() == torch::kFloat;
  std::vector<const std::vector<int64_t>*> lists(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) lists[i] = &index.of(all[tokens[i]].word);  // not thread-safe: first

  at::parallel_for(0, static_cast<int64_t>(tokens.size()), 1, [&](int64_t begin, int64_t end) {
    std::vector<float> float_columns, float_scores;  // scratch, per thread
    std::vector<double> double_columns, double_scores;
    for (int64_t i = begin; i < end; ++i) {
      Token& token = all[tokens[i]];
      const double* point = current[token.example].data_ptr<double>() + token.position * dimension;
      double* out = next[token.example].data_ptr<double>() + token.position * dimension;
      const double* reference = word_scored ? words + token.word * dimension : point;
      const int64_t best =
          single ? step_token<float>(index, *lists[i], token, baseline_word, reference, point, base, step, greedy,
                                     out, float_columns, float_scores)
                 : step_token<double>(index, *lists[i], token, baseline_word, reference, point, base, step, greedy,
                                      out, double_columns, double_scores);
      token.at_baseline = best < 0;
      token.word = best < 0 ? baseline_word : best;
      token.visited.push_back(token.word);
    }
  });
}

// The m + 2 points baseline, anchors (last first), input, with u - 1 points inserted between
// consecutive ones; each inserted point is clamped to its segment, so rounding cannot leave it.
torch::Tensor upscale(const torch::Tensor& points, int64_t factor) {
  if (factor == 1) return points;
  const torch::Tensor from = points.narrow(0, 0, points.size(0) - 1);
  const torch::Tensor to = points.narrow(0, 1, points.size(0) - 1);
  std::vector<int64_t> shape(points.dim() + 1, 1);
  shape[1] = factor;
  const torch::Tensor fractions = (torch::arange(factor, torch::kDouble) / static_cast<double>(factor)).view(shape);
  torch::Tensor inserted = from.unsqueeze(1) + fractions * (to - from).unsqueeze(1);
  inserted = torch::maximum(torch::minimum(inserted, torch::maximum(from, to).unsqueeze(1)),
                            torch::minimum(from, to).unsqueeze(1));
  std::vector<int64_t> flat_shape = points.sizes().vec();
  flat_shape[0] = (points.size(0) - 1) * factor;
  return torch::cat({inserted.reshape(flat_shape), points.narrow(0, points.size(0) - 1, 1)});
}

}  // namespace

NeighbourIndex::NeighbourIndex(torch::Tensor vocabulary, int64_t neighbours) : neighbours_(neighbours) {
  if (vocabulary.scalar_type() != torch::kFloat && vocabulary.scalar_type() != torch::kDouble) {
    throw Error("vocabulary has dtype " + std::string(c10::toString(vocabulary.scalar_type())) +
                "; expected float32 or float64 word embeddings");
  }
  if (vocabulary.dim() != 2 || vocabulary.size(0) < 2) {
    throw Error("vocabulary has shape " + shape_string(vocabulary) + "; expected [V, D] with at least 2 words");
  }
  if (neighbours < 1) throw Error("neighbours (K) must be at least 1, got " + std::to_string(neighbours));
  require_finite(vocabulary, "vocabulary");
  vocabulary_ = vocabulary.detach().to(torch::kCPU).contiguous();
  vocabulary_double_ = vocabulary_.to(torch::kDouble);
  const torch::Tensor squared_norms = vocabulary_double_.pow(2).sum(1);
  largest_squared_norm_ = squared_norms.max().item<double>();
  if (largest_squared_norm_ > 1e36) {
    throw Error("vocabulary has a row of norm " + std::to_string(std::sqrt(largest_squared_norm_)) +
                "; expected word embeddings within float32's range");
  }
  vocabulary_single_ = vocabulary_.to(torch::kFloat);
  squared_norms_single_ = squared_norms.to(torch::kFloat);
  lists_.resize(static_cast<size_t>(vocabulary_.size(0)));
}

void NeighbourIndex::check_word(int64_t word) const {
  if (word < 0 || word >= vocabulary_size()) {
    throw Error("word id " + std::to_string(word) + " is outside the vocabulary; expected 0.." +
                std::to_string(vocabulary_size() - 1));
  }
}

void NeighbourIndex::prepare(const std::vector<int64_t>& words) {
  std::vector<int64_t> missing;
  for (int64_t word : words) {
    check_word(word);
    if (lists_[word].empty()) missing.push_back(word);
  }
  std::sort(missing.begin(), missing.end());
  missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
  const int64_t size = vocabulary_size(), dimension = vocabulary_.size(1);
  const int64_t count = std::min(neighbours_, size - 1);
  const int64_t chunk = std::max<int64_t>(1, kChunkElements / size);
  // The error of a screened value |c|^2 - 2 q.c in float32 (inputs rounded to float32, a
  // D-term dot product in any order, |c|^2 rounded, one subtraction) is at most
  // (D + 5) u (|q|^2 + |c|^2) <= 2 (D + 5) u max |c|^2 with u = 2^-24; twice that, for the
  // terms of second order.
  const double margin = 4 * static_cast<double>(dimension + 5) * std::ldexp(1.0, -24) * largest_squared_norm_;
  const bool single = vocabulary_.scalar_type() == torch::kFloat;
  for (size_t begin = 0; begin < missing.size(); begin += chunk) {
    const size_t end = std::min(missing.size(), begin + static_cast<size_t>(chunk));
    const torch::Tensor query_ids =
        torch::tensor(std::vector<int64_t>(missing.begin() + begin, missing.begin() + end), torch::kLong);
    torch::Tensor screen =
        torch::addmm(squared_norms_single_.unsqueeze(0), vocabulary_single_.index_select(0, query_ids),
                     vocabulary_single_.t(), 1.0, -2.0)
            .contiguous();
    float* rows = screen.data_ptr<float>();
    at::parallel_for(0, static_cast<int64_t>(end - begin), 1, [&](int64_t first, int64_t last) {
      std::vector<int64_t> indices;
      std::vector<std::pair<float, int64_t>> near;
      std::vector<std::pair<double, int64_t>> exact;
      for (int64_t row = first; row < last; ++row) {
        const int64_t word = missing[begin + row];
        // The exact distances read the rows as given (float32 rows are exact in float64).
        lists_[word] = single ? nearest_in_row(rows + row * size, vocabulary_.data_ptr<float>(), size, dimension, word,
                                               count, margin, indices, near, exact)
                              : nearest_in_row(rows + row * size, vocabulary_.data_ptr<double>(), size, dimension,
                                               word, count, margin, indices, near, exact);
      }
    });
    known_ += static_cast<int64_t>(end - begin);
  }
}

void NeighbourIndex::prepare_all() {
  std::vector<int64_t> all(static_cast<size_t>(vocabulary_size()));
  for (int64_t word = 0; word < vocabulary_size(); ++word) all[word] = word;
  prepare(all);
}

const std::vector<int64_t>& NeighbourIndex::of(int64_t word) {
  check_word(word);
  if (lists_[word].empty()) prepare({word});
  return lists_[word];
}

std::string anchor_strategy_name(AnchorStrategy strategy) {
  return strategy == AnchorStrategy::Greedy ? "greedy" : "maxcount";
}

AnchorStrategy parse_anchor_strategy(const std::string& name) {
  if (name == "greedy") return AnchorStrategy::Greedy;
  if (name == "maxcount") return AnchorStrategy::MaxCount;
  throw UsageError("unknown DIG anchor strategy '" + name + "'; expected greedy or maxcount");
}

std::string anchor_score_name(AnchorScore score) { return score == AnchorScore::Word ? "word" : "point"; }

AnchorScore parse_anchor_score(const std::string& name) {
  if (name == "word") return AnchorScore::Word;
  if (name == "point") return AnchorScore::Point;
  throw UsageError("unknown DIG anchor score '" + clip_text(name) + "'; expected word or point");
}

std::vector<DigPath> build_dig_paths(NeighbourIndex& index, const torch::Tensor& ids, const torch::Tensor& moving,
                                     int64_t baseline_word, const DigOptions& options) {
  check_options(options);
  if (options.neighbours() != index.neighbours()) {
    throw Error("DIG options ask for " + std::to_string(options.neighbours()) + " neighbours but the index holds " +
                std::to_string(index.neighbours()) + "; expected the same K");
  }
  if (ids.dim() != 2 || ids.size(0) < 1 || ids.size(1) < 1 || ids.scalar_type() != torch::kLong) {
    throw Error("DIG token ids have shape " + shape_string(ids) + " and dtype " + std::string(c10::toString(ids.scalar_type())) +
                "; expected int64 [B, T] with B, T >= 1");
  }
  if (moving.sizes() != ids.sizes() || moving.scalar_type() != torch::kBool) {
    throw Error("DIG moving-token mask has shape " + shape_string(moving) + " and dtype " +
                std::string(c10::toString(moving.scalar_type())) + "; expected bool " + shape_string(ids));
  }
  if (baseline_word < 0 || baseline_word >= index.vocabulary_size()) {
    throw Error("DIG baseline word " + std::to_string(baseline_word) + " is outside the vocabulary; expected 0.." +
                std::to_string(index.vocabulary_size() - 1));
  }
  // The paths hold (m + 2) * upscale points of [T, D] float64 per example, the anchor chain m + 1.
  const double path_points = (static_cast<double>(options.anchors()) + 2) * static_cast<double>(options.upscale()) +
                             static_cast<double>(options.anchors()) + 1;
  require_memory(path_points * static_cast<double>(ids.numel()) * static_cast<double>(index.vocabulary().size(1)) * 8,
                 "DIG with " + std::to_string(options.anchors()) + " anchors and upscale " +
                     std::to_string(options.upscale()) + " on " + std::to_string(ids.size(0)) + " text(s) of " +
                     std::to_string(ids.size(1)) + " tokens");
  const torch::Tensor cpu_ids = ids.to(torch::kCPU).contiguous();
  const torch::Tensor cpu_moving = moving.to(torch::kCPU).contiguous();
  const int64_t batch = ids.size(0), length = ids.size(1), m = options.anchors();
  for (int64_t i = 0; i < cpu_ids.numel(); ++i) {
    const int64_t word = cpu_ids.data_ptr<int64_t>()[i];
    if (word < 0 || word >= index.vocabulary_size()) {
      throw Error("token id " + std::to_string(word) + " at [" + std::to_string(i / length) + ", " +
                  std::to_string(i % length) + "] is outside the vocabulary; expected 0.." +
                  std::to_string(index.vocabulary_size() - 1));
    }
  }
  const torch::ScalarType dtype = index.vocabulary().scalar_type();
  const torch::Tensor& vocabulary = index.vocabulary_double();
  const torch::Tensor baseline = vocabulary[baseline_word];

  // chain[s][b] is [T, D]: every token's point after s anchors (s = 0: the input).
  std::vector<std::vector<torch::Tensor>> chain(static_cast<size_t>(m + 1));
  chain[0].resize(batch);
  for (int64_t b = 0; b < batch; ++b) chain[0][b] = vocabulary.index_select(0, cpu_ids[b]);
  std::vector<Token> tokens;
  const bool* moves = cpu_moving.data_ptr<bool>();
  const int64_t* words_of = cpu_ids.data_ptr<int64_t>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t t = 0; t < length; ++t) {
      if (!moves[b * length + t]) continue;
      const int64_t word = words_of[b * length + t];
      tokens.push_back({b, t, word, {word}, word == baseline_word});
    }
  }
  for (int64_t s = 1; s <= m; ++s) {
    chain[s].resize(batch);
    for (int64_t b = 0; b < batch; ++b) chain[s][b] = chain[s - 1][b].clone();  // tokens that stay stay
    std::vector<size_t> searching;
    std::vector<int64_t> words;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i].at_baseline) {
        chain[s][tokens[i].example][tokens[i].position].copy_(baseline);
        tokens[i].visited.push_back(baseline_word);
      } else {
        searching.push_back(i);
        words.push_back(tokens[i].word);
      }
    }
    index.prepare(words);
    advance(index, tokens, searching, chain[s - 1], chain[s], baseline, baseline_word, options);
  }

  std::vector<DigPath> paths(static_cast<size_t>(batch));
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<torch::Tensor> rows;
    torch::Tensor start = chain[0][b].clone();
    for (const Token& token : tokens) {
      if (token.example == b) start[token.position].copy_(baseline);
    }
    rows.push_back(start);
    for (int64_t s = m; s >= 0; --s) rows.push_back(chain[s][b]);
    paths[b].points = upscale(torch::stack(rows), options.upscale()).to(dtype);
    paths[b].anchors.resize(static_cast<size_t>(length));
  }
  for (const Token& token : tokens) {
    paths[token.example].anchors[token.position].assign(token.visited.begin() + 1, token.visited.end());
  }
  return paths;
}

Attribution integrate_dig_paths(Model& model, const std::vector<DigPath>& paths, const DigOptions& options,
                                const ExtraInputs& extras) {
  if (paths.empty()) throw Error("no DIG path to integrate; expected at least one");
  const torch::IntArrayRef shape = paths.front().points.sizes();
  for (size_t b = 0; b < paths.size(); ++b) {
    if (!paths[b].points.defined() || paths[b].points.dim() < 2 || paths[b].points.size(0) < 2 ||
        paths[b].points.sizes() != shape) {
      throw Error("DIG path " + std::to_string(b) + " has points of shape " +
                  (paths[b].points.defined() ? shape_string(paths[b].points) : std::string("(none)")) + "; expected " +
                  shape_string(shape) + " like path 0, with at least 2 points");
    }
  }
  const int64_t batch = static_cast<int64_t>(paths.size());
  std::vector<torch::Tensor> ends;
  for (const DigPath& path : paths) ends.push_back(path.points[path.points.size(0) - 1]);
  const torch::Tensor inputs = torch::stack(ends);
  detail::check_inputs(inputs, extras);

  Integrator integrator(model, extras, options.output(), options.internal_batch_size());
  detail::set_targets(integrator, options.target(), options.output(), inputs, false);
  std::vector<PointListPath> lists;
  std::vector<torch::Tensor> steps;  // p_{k+1} - p_k, 0 after the last point
  lists.reserve(paths.size());
  for (const DigPath& path : paths) {
    const torch::Tensor points = path.points.to(torch::kDouble);
    const int64_t count = points.size(0);
    steps.push_back(torch::cat({points.narrow(0, 1, count - 1) - points.narrow(0, 0, count - 1),
                                torch::zeros_like(points.narrow(0, 0, 1))}));
    lists.emplace_back(path.points, steps.back());
  }
  std::vector<PathJob> jobs;
  for (int64_t b = 0; b < batch; ++b) jobs.push_back({&lists[b], b, /*keep_gradients=*/true});
  const std::vector<PathResult> results = integrator.integrate(jobs);

  Attribution attribution;
  std::vector<torch::Tensor> values;
  for (int64_t b = 0; b < batch; ++b) {
    const PathResult& result = results[b];
    values.push_back(result.weighted_gradient_sum);
    ExampleReport report;
    report.target = integrator.targets()[b].item<int64_t>();
    report.output_baseline = result.values.front();
    report.output_input = result.values.back();
    report.attribution_sum = result.weighted_gradient_sum.sum().item<double>();
    report.delta = report.attribution_sum - (report.output_input - report.output_baseline);
    report.relative_error = relative_error(report.delta, report.output_input, report.output_baseline,
                                           options.min_output_gap(), inputs.scalar_type());
    report.steps = static_cast<int64_t>(result.values.size());
    if (report.relative_error) {
      // Each segment's left sum against its exact integral F(p_{k+1}) - F(p_k).
      const int64_t count = report.steps;
      const torch::Tensor slopes = (result.gradients.to(torch::kCPU, torch::kDouble) * steps[b]).reshape({count, -1}).sum(1);
      const torch::Tensor outputs = torch::tensor(result.values, torch::kDouble);
      const torch::Tensor exact = outputs.narrow(0, 1, count - 1) - outputs.narrow(0, 0, count - 1);
      report.error_bound = (slopes.narrow(0, 0, count - 1) - exact).abs().sum().item<double>() /
                           std::abs(report.output_input - report.output_baseline);
    }
    attribution.examples.push_back(report);
  }
  attribution.values = torch::stack(values).to(inputs.device(), inputs.scalar_type());
  attribution.counts = integrator.counts();
  return attribution;
}

Attribution discretized_integrated_gradients(Model& model, NeighbourIndex& index, const torch::Tensor& ids,
                                             const torch::Tensor& moving, int64_t baseline_word,
                                             const DigOptions& options, const ExtraInputs& extras) {
  return integrate_dig_paths(model, build_dig_paths(index, ids, moving, baseline_word, options), options, extras);
}

}  // namespace igx
