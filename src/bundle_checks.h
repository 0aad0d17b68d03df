#pragma once
// What a bundle's loader checks beyond igx.json's field types (not a public header): the
// tokenizer it declares, and the model against igx.json on a probe input. Every message names
// the field or method and points to docs/bundles.md.

#include <cstdint>
#include <vector>

#include "igx/bundle.h"
#include "igx/model.h"
#include "igx/tokenizer.h"

namespace igx::detail {

/// The tokenizer igx.json declares: tokenizer.type (wordpiece), tokenizer.vocab,
/// tokenizer.lowercase, and special_tokens (role -> id or token, checked against the vocabulary).
WordPieceTokenizer load_bundle_tokenizer(const BundleConfig& config);

/// Runs the text model on two probe texts (one of max_length tokens, one short and padded) and
/// checks: forward gives [B, labels] logits; embed gives [B, T, D] with D = embedding_dim;
/// forward_embeds(embed(ids)) equals forward(ids); the embedding matrix has one row per
/// vocabulary entry (vocab_size) and embed(ids) are its rows.
void check_text_model(const BundleConfig& config, const WordPieceTokenizer& tokenizer, TorchScriptModel& model,
                      int64_t max_length);

/// Runs the image model on a black image of input_shape and checks that it gives [1, labels].
void check_image_model(const BundleConfig& config, TorchScriptModel& model, const std::vector<int64_t>& input_shape);

}  // namespace igx::detail
