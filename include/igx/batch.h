#pragma once
// Explaining a whole data set through the explanation service: the inputs read from a file or a
// folder, one record per input (the explanation of that input alone, schema igx.explanation/1,
// plus its id), and the statistics of the records. igx batch runs this in chunks, resumably and
// across processes (docs/batch.md); any front end that explains data sets can.
//
//   igx::BatchData data = igx::read_batch_data("test.jsonl", explainer->modality());
//   for (size_t begin = 0; begin < data.size(); begin += 8)
//     for (const nlohmann::json& record : igx::explain_records(*explainer, data, options, begin,
//                                                             std::min<size_t>(8, data.size() - begin)))
//       std::cout << record.dump() << "\n";

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "igx/explainer.h"

namespace igx {

/// The inputs of a data set, each with a unique id, in the data's order.
struct BatchData {
  Modality modality = Modality::Text;
  std::string path;                      ///< the file or folder read
  std::string format;                    ///< "jsonl", "npy" or "folder"
  std::vector<std::string> ids;          ///< one per input, unique
  std::vector<nlohmann::json> labels;    ///< JSONL: each line's "label" (null when absent); else empty
  std::vector<std::string> texts;        ///< texts (JSONL "text")
  std::vector<std::string> image_paths;  ///< image files (JSONL "image", a folder's pictures)
  /// .npy stacks and JSONL "input": image models [N, C, H, W] in [0, 1], tensor models [N, ...].
  torch::Tensor rows;
  std::string fingerprint;               ///< content_fingerprint of what was read

  size_t size() const { return ids.size(); }
  /// A request for inputs [begin, begin + count) with their ids; its options are left unset.
  ExplainRequest request(size_t begin, size_t count) const;
};

/// Reads the inputs of a data set for a model of `modality`:
///  - `.jsonl`: one object per line with "text" (text models), "image" (image models: a picture
///    file, relative to the JSONL file's folder) or "input" (tensor models: one example as a
///    nested array, all of one shape), and optionally "id" (string or number; default: the line number) and
///    "label" (any JSON, copied into the records). Blank lines are skipped; other keys ignored.
///  - `.npy`: a stack [N, ...]: tensor rows, or images [N, H, W] / [N, C, H, W] (uint8, or floats
///    in [0, 1]). Ids are the row numbers, from 0.
///  - a folder: its pictures (.png .jpg .jpeg .bmp .tga .gif .pgm .ppm .pnm), sorted by name,
///    for image models. Ids are the file names.
/// igx::Error naming the file (and line) for another format, an input of another modality,
/// duplicate ids, rows of different shapes, or a data set without inputs.
BatchData read_batch_data(const std::string& path, Modality modality);

/// 16 hex digits that change when the bytes of a file change, or the names and bytes of a
/// folder's files (recursively); equal on every host that holds a copy (FNV-1a, 64 bits).
std::string content_fingerprint(const std::string& path);

/// What a model's explanations depend on: content_fingerprint of a TorchScript file, or of a
/// bundle's model.pt, igx.json and vocab.txt (not its samples or notes). `model` as
/// Explainer::load takes it.
std::string model_fingerprint(const std::string& model);

/// Explains inputs [begin, begin + count) of `data` as one request and returns one record per
/// input, in order: the explanation of that input alone (to_json(select_examples(...)), schema
/// igx.explanation/1) plus "id", "item" (its position in the data), "label" (when the data has
/// one) and "seconds" (its share of the request's wall time, in proportion to its gradient
/// evaluations). The records of a range depend only on the range, the data and the options, so
/// recomputing a range gives the same numbers. When the request fails, each input is explained
/// alone, and an input that fails alone gets {"id", "item", "error": message} instead; errors
/// in the options are not caught (check them first with explainer.prepare()).
std::vector<nlohmann::json> explain_records(Explainer& explainer, const BatchData& data, const ExplainOptions& options,
                                            size_t begin, size_t count);

/// Statistics of explanation records (explain_records'), fed one at a time.
class BatchSummary {
 public:
  void add(const nlohmann::json& record);
  size_t records() const { return records_; }
  size_t failed() const { return failed_; }
  size_t certified() const { return certified_; }
  /// Records whose method certifies a tolerance (adaptive, doubling): the certified fraction's base.
  size_t certifiable() const { return certifiable_; }
  /// {"records", "explained", "failed", "certified", "certifiable", "certified_fraction",
  ///  "steps", "seconds", "relative_error" (each {"mean", "median", "p90", "p99", "max"}),
  ///  "relative_error_undefined", "failed_ids" (the first 20)}.
  nlohmann::json to_json() const;

 private:
  size_t records_ = 0, failed_ = 0, certified_ = 0, certifiable_ = 0, undefined_errors_ = 0;
  std::vector<double> steps_, seconds_, relative_errors_;
  std::vector<std::string> failed_ids_;
};

}  // namespace igx
