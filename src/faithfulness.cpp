#include "igx/faithfulness.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "igx/error.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

enum class Perturbation { Replace, Delete, Keep };

// One perturbed sequence: whose, which change, at which percent (index into the percent list).
struct Request {
  int64_t example;
  Perturbation kind;
  size_t percent;
};

void check_percent(double percent) {
  if (!(percent > 0.0 && percent <= 100.0)) {
    throw Error("faithfulness percent " + std::to_string(percent) + " is outside (0, 100]");
  }
}

// Log-probabilities [N, C] of the sequences, `batch_size` at a time, padded to a common length.
torch::Tensor log_probabilities(const SequenceClassifier& classifier, const std::vector<std::vector<int64_t>>& sequences,
                                int64_t pad_id, int64_t batch_size) {
  std::vector<torch::Tensor> chunks;
  const size_t step = batch_size == 0 ? sequences.size() : static_cast<size_t>(batch_size);
  for (size_t begin = 0; begin < sequences.size(); begin += step) {
    const size_t end = std::min(sequences.size(), begin + step);
    size_t longest = 1;
    for (size_t i = begin; i < end; ++i) longest = std::max(longest, sequences[i].size());
    const int64_t rows = static_cast<int64_t>(end - begin);
    torch::Tensor ids = torch::full({rows, static_cast<int64_t>(longest)}, pad_id, torch::kLong);
    torch::Tensor mask = torch::zeros({rows, static_cast<int64_t>(longest)}, torch::kLong);
    for (size_t i = begin; i < end; ++i) {
      const int64_t row = static_cast<int64_t>(i - begin), length = static_cast<int64_t>(sequences[i].size());
      ids[row].narrow(0, 0, length).copy_(torch::tensor(sequences[i], torch::kLong));
      mask[row].narrow(0, 0, length).fill_(1);
    }
    torch::NoGradGuard no_grad;
    const torch::Tensor logits = classifier(ids, mask);
    if (!logits.defined() || logits.dim() != 2 || logits.size(0) != rows) {
      throw Error("the classifier returned shape " + (logits.defined() ? shape_string(logits) : std::string("(nothing)")) +
                  " for " + std::to_string(rows) + " sequences; expected [" + std::to_string(rows) + ", classes]");
    }
    chunks.push_back(torch::log_softmax(logits.to(torch::kCPU, torch::kDouble), 1));
  }
  return torch::cat(chunks);
}

}  // namespace

std::vector<int64_t> top_tokens(const torch::Tensor& scores, const torch::Tensor& rankable, double percent) {
  check_percent(percent);
  if (scores.dim() != 1 || rankable.sizes() != scores.sizes() || rankable.scalar_type() != torch::kBool) {
    throw Error("token scores have shape " + shape_string(scores) + " and the rankable mask " + shape_string(rankable) +
                " (" + std::string(c10::toString(rankable.scalar_type())) + "); expected [T] each, the mask bool");
  }
  const torch::Tensor values = scores.to(torch::kCPU, torch::kDouble).contiguous();
  const torch::Tensor allowed = rankable.to(torch::kCPU).contiguous();
  std::vector<int64_t> positions;
  for (int64_t t = 0; t < scores.size(0); ++t) {
    if (allowed.data_ptr<bool>()[t]) positions.push_back(t);
  }
  const auto count = static_cast<size_t>(std::floor(percent * static_cast<double>(positions.size()) / 100.0));
  const double* score = values.data_ptr<double>();
  std::stable_sort(positions.begin(), positions.end(), [&](int64_t a, int64_t b) { return score[a] > score[b]; });
  positions.resize(count);
  return positions;
}

std::vector<FaithfulnessScores> faithfulness(const SequenceClassifier& classifier, const torch::Tensor& ids,
                                             const torch::Tensor& attention_mask, const torch::Tensor& rankable,
                                             const torch::Tensor& scores, int64_t pad_id,
                                             const FaithfulnessOptions& options) {
  if (ids.dim() != 2 || ids.size(0) < 1 || ids.scalar_type() != torch::kLong) {
    throw Error("token ids have shape " + shape_string(ids) + "; expected int64 [B, T] with B >= 1");
  }
  auto require_like_ids = [&](const torch::Tensor& tensor, const std::string& name) {
    if (!tensor.defined() || tensor.sizes() != ids.sizes()) {
      throw Error(name + " has shape " + (tensor.defined() ? shape_string(tensor) : std::string("(none)")) +
                  "; expected " + shape_string(ids) + " like the token ids");
    }
  };
  require_like_ids(attention_mask, "attention mask");
  require_like_ids(rankable, "rankable mask");
  require_like_ids(scores, "token scores");
  if (options.batch_size() < 0) throw Error("faithfulness batch size must be >= 0, got " + std::to_string(options.batch_size()));
  std::vector<double> percents = options.aopc_percents();
  if (percents.empty()) throw Error("no AOPC percents given; expected at least one, e.g. 1, 5, 10, 20, 50");
  for (double percent : percents) check_percent(percent);
  check_percent(options.percent());
  percents.push_back(options.percent());
  const size_t headline = percents.size() - 1;

  const int64_t batch_size = ids.size(0), length = ids.size(1);
  const torch::Tensor cpu_ids = ids.to(torch::kCPU).contiguous();
  const torch::Tensor present = attention_mask.to(torch::kCPU).ne(0).contiguous();
  const torch::Tensor ranked = rankable.to(torch::kCPU, torch::kBool).logical_and(present).contiguous();
  const torch::Tensor score_values = scores.to(torch::kCPU, torch::kDouble);

  std::vector<std::vector<int64_t>> sequences;
  std::vector<Request> requests;
  for (int64_t b = 0; b < batch_size; ++b) {
    const int64_t* row = cpu_ids.data_ptr<int64_t>() + b * length;
    const bool* is_present = present.data_ptr<bool>() + b * length;
    const bool* is_ranked = ranked.data_ptr<bool>() + b * length;
    std::vector<int64_t> original;
    for (int64_t t = 0; t < length; ++t) {
      if (is_present[t]) original.push_back(row[t]);
    }
    sequences.push_back(original);
    requests.push_back({b, Perturbation::Keep, percents.size()});  // the input itself
    for (size_t p = 0; p < percents.size(); ++p) {
      const std::vector<int64_t> top = top_tokens(score_values[b], ranked[b], percents[p]);
      if (top.empty()) continue;  // nothing removed: every score is 0
      std::vector<bool> chosen(static_cast<size_t>(length), false);
      for (int64_t t : top) chosen[t] = true;
      std::vector<int64_t> replaced, deleted, kept;
      for (int64_t t = 0; t < length; ++t) {
        if (!is_present[t]) continue;
        replaced.push_back(chosen[t] ? pad_id : row[t]);
        if (!chosen[t]) deleted.push_back(row[t]);
        if (chosen[t] || !is_ranked[t]) kept.push_back(row[t]);
      }
      if (p == headline) {
        sequences.push_back(replaced);
        requests.push_back({b, Perturbation::Replace, p});
      }
      sequences.push_back(deleted);
      requests.push_back({b, Perturbation::Delete, p});
      sequences.push_back(kept);
      requests.push_back({b, Perturbation::Keep, p});
    }
  }
  const torch::Tensor log_p = log_probabilities(classifier, sequences, pad_id, options.batch_size());

  std::vector<FaithfulnessScores> results(static_cast<size_t>(batch_size));
  std::vector<std::vector<double>> comprehensiveness(batch_size, std::vector<double>(percents.size(), 0.0));
  std::vector<std::vector<double>> sufficiency(batch_size, std::vector<double>(percents.size(), 0.0));
  std::vector<double> original_log_p(static_cast<size_t>(batch_size), 0.0);
  for (size_t r = 0; r < requests.size(); ++r) {
    const Request& request = requests[r];
    FaithfulnessScores& result = results[request.example];
    const torch::Tensor row = log_p[static_cast<int64_t>(r)];
    if (request.percent == percents.size()) {  // the input: fixes y and p(y)
      result.predicted = row.argmax().item<int64_t>();
      original_log_p[request.example] = row[result.predicted].item<double>();
      result.probability = std::exp(original_log_p[request.example]);
      continue;
    }
    const double perturbed_log_p = row[result.predicted].item<double>();
    const double drop = result.probability - std::exp(perturbed_log_p);
    switch (request.kind) {
      case Perturbation::Replace:
        result.log_odds = perturbed_log_p - original_log_p[request.example];
        break;
      case Perturbation::Delete:
        comprehensiveness[request.example][request.percent] = drop;
        break;
      case Perturbation::Keep:
        sufficiency[request.example][request.percent] = drop;
        break;
    }
  }
  const double aopc_count = static_cast<double>(headline);
  for (int64_t b = 0; b < batch_size; ++b) {
    FaithfulnessScores& result = results[b];
    result.comprehensiveness = comprehensiveness[b][headline];
    result.sufficiency = sufficiency[b][headline];
    result.aopc_comprehensiveness =
        std::accumulate(comprehensiveness[b].begin(), comprehensiveness[b].begin() + headline, 0.0) / aopc_count;
    result.aopc_sufficiency = std::accumulate(sufficiency[b].begin(), sufficiency[b].begin() + headline, 0.0) / aopc_count;
  }
  return results;
}

std::vector<FaithfulnessScores> faithfulness(TextClassifier& classifier, const TextBatch& batch,
                                             const torch::Tensor& token_scores, const FaithfulnessOptions& options) {
  return faithfulness([&](const torch::Tensor& ids, const torch::Tensor& mask) { return classifier.logits(ids, mask); },
                      batch.ids, batch.mask, classifier.ordinary_tokens(batch), token_scores,
                      classifier.tokenizer().pad_id(), options);
}

std::vector<FaithfulnessScores> faithfulness(TextClassifier& classifier, const Explanation& explanation,
                                             const FaithfulnessOptions& options) {
  if (explanation.modality != Modality::Text) {
    throw Error("faithfulness scores token attributions; the explanation is of " + modality_name(explanation.modality) +
                "s");
  }
  std::vector<std::string> texts;
  for (const ExampleExplanation& example : explanation.examples) texts.push_back(example.text);
  const TextBatch batch = classifier.encode(texts);
  torch::Tensor scores = torch::zeros(batch.ids.sizes(), torch::kDouble);
  for (size_t b = 0; b < explanation.examples.size(); ++b) {
    const std::vector<double>& example = explanation.examples[b].token_scores;
    scores[static_cast<int64_t>(b)]
        .narrow(0, 0, static_cast<int64_t>(example.size()))
        .copy_(torch::tensor(example, torch::kDouble));
  }
  return faithfulness(classifier, batch, scores, options);
}

torch::Tensor random_token_scores(const TextBatch& batch, uint64_t seed) {
  const int64_t length = batch.ids.size(1);
  std::vector<torch::Tensor> rows;
  for (int64_t i = 0; i < batch.ids.size(0); ++i) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed + static_cast<uint64_t>(i));
    rows.push_back(torch::rand({length}, generator, torch::kDouble));
  }
  return torch::stack(rows);
}

}  // namespace igx
