#pragma once
// The fixed test splits the shipped models were evaluated on (scripts/fetch_data.sh writes them
// into .cache/data), and any files of the same two formats: JSON lines of texts, and .npy stacks
// of images.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace igx {

/// Texts and their labels, in file order.
struct TextDataset {
  std::vector<std::string> ids;  ///< each line's "id", or its 1-based line number when it has none
  std::vector<std::string> texts;
  std::vector<int64_t> labels;   ///< each line's "label" (spam split: 0 ham, 1 spam), -1 when absent
  size_t size() const { return texts.size(); }
};

/// Images and their labels, in file order.
struct ImageDataset {
  torch::Tensor images;         ///< [N, C, H, W] float32 in [0, 1]
  std::vector<int64_t> labels;  ///< one per image; -1 each when no label file was given
  int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

/// Reads JSON lines: one object per line with a string "text", and optionally "id" (string or
/// number) and an integer "label". Blank lines are skipped. igx::Error naming the file and the
/// line for a line that is not such an object, and for a file without any text.
TextDataset read_text_jsonl(const std::string& path);

/// Reads a stack of images from .npy: [N, H, W] (one channel) or [N, C, H, W]. uint8 values are
/// divided by 255; floating values must already lie in [0, 1]. `labels_path` ("" for none) is a
/// .npy of N integers. igx::Error naming the file for another shape, out-of-range values, or a
/// label count that differs from N.
ImageDataset read_image_npy(const std::string& images_path, const std::string& labels_path = "");

/// The folder scripts/fetch_data.sh fills: $IGX_DATA_DIR when set, else the first existing
/// .cache/data of the source tree (looked for next to the executable, then in the working
/// directory). When none exists, ".cache/data", so that the readers' errors name it.
std::string find_data_directory();

/// `data_directory`/spam/SPLIT.jsonl ("train", "validation" or "test"). igx::Error naming the
/// missing file and saying to run scripts/fetch_data.sh when it is not there.
TextDataset read_spam_split(const std::string& data_directory, const std::string& split = "test");

/// `data_directory`/mnist/SPLIT.npy and SPLIT_labels.npy ("train" or "test"): [N, 1, 28, 28] in
/// [0, 1]. igx::Error naming the missing file and saying to run scripts/fetch_data.sh.
ImageDataset read_mnist_split(const std::string& data_directory, const std::string& split = "test");

}  // namespace igx
