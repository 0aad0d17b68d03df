"""A BERT sequence classifier in plain PyTorch with Hugging Face's module layout.

igx's tests, its export script and its shipped BERT-layout model use this one definition to
stand in for `transformers.BertForSequenceClassification` (which no package registry here
ships): the attribute names and the parameter names of the state dict are Hugging Face's
(`bert.embeddings.word_embeddings.weight`, `bert.encoder.layer.0.attention.self.query.weight`,
..., `classifier.weight`), the forward takes `input_ids`, `attention_mask`, `token_type_ids`
and `inputs_embeds` as Hugging Face's does, and it returns a dict with `logits` (or the logits
tensor alone with `return_dict=False` semantics via `BertConfig.return_logits_only`).

    from hf_bert import BertConfig, BertForSequenceClassification, saturate
    model = BertForSequenceClassification(BertConfig(vocab_size=8000, num_labels=2))
    logits = model(input_ids, attention_mask)["logits"]
    saturate(model, scale=4.0, layers=[2, 3])   # scaled layers: softmax outputs near 0 and 1

Everything is scriptable with `torch.jit.script` (Python 3 annotations, no dynamic attributes)
so that a wrapper module can export `forward`, `embed` and `forward_embeds` from it.
"""

import math
from dataclasses import dataclass
from typing import Dict, List, Optional

import torch
import torch.nn as nn


@dataclass
class BertConfig:
    """The fields of Hugging Face's BertConfig that the architecture needs, with its names."""

    vocab_size: int = 30522
    hidden_size: int = 256
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    intermediate_size: int = 1024
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    num_labels: int = 2
    initializer_range: float = 0.02
    return_logits_only: bool = False  # True: forward returns the logits tensor, not a dict


class BertEmbeddings(nn.Module):
    """word + position + token-type embeddings, LayerNorm, dropout (Hugging Face's order)."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: Optional[torch.Tensor] = None, token_type_ids: Optional[torch.Tensor] = None,
                inputs_embeds: Optional[torch.Tensor] = None) -> torch.Tensor:
        if inputs_embeds is None:
            assert input_ids is not None, "input_ids or inputs_embeds is required"
            inputs_embeds = self.word_embeddings(input_ids)
        length = inputs_embeds.size(1)
        positions = torch.arange(length, device=inputs_embeds.device).unsqueeze(0)
        if token_type_ids is None:
            token_type_ids = torch.zeros(inputs_embeds.shape[:2], dtype=torch.long, device=inputs_embeds.device)
        embeddings = inputs_embeds + self.position_embeddings(positions) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(embeddings))


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_attention_heads = config.num_attention_heads
        self.attention_head_size = config.hidden_size // config.num_attention_heads
        self.all_head_size = self.num_attention_heads * self.attention_head_size
        self.query = nn.Linear(config.hidden_size, self.all_head_size)
        self.key = nn.Linear(config.hidden_size, self.all_head_size)
        self.value = nn.Linear(config.hidden_size, self.all_head_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(x.size(0), x.size(1), self.num_attention_heads, self.attention_head_size).permute(0, 2, 1, 3)

    def forward(self, hidden_states: torch.Tensor, extended_mask: torch.Tensor) -> torch.Tensor:
        query = self.split_heads(self.query(hidden_states))
        key = self.split_heads(self.key(hidden_states))
        value = self.split_heads(self.value(hidden_states))
        scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(self.attention_head_size)
        probabilities = self.dropout(torch.softmax(scores + extended_mask, dim=-1))
        context = torch.matmul(probabilities, value).permute(0, 2, 1, 3).contiguous()
        return context.view(context.size(0), context.size(1), self.all_head_size)


class BertSelfOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config)

    def forward(self, hidden_states: torch.Tensor, extended_mask: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(hidden_states, extended_mask), hidden_states)


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.intermediate_act_fn = nn.GELU()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(hidden_states))


class BertOutput(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.intermediate_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden_states: torch.Tensor, input_tensor: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden_states)) + input_tensor)


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertOutput(config)

    def forward(self, hidden_states: torch.Tensor, extended_mask: torch.Tensor) -> torch.Tensor:
        attention_output = self.attention(hidden_states, extended_mask)
        return self.output(self.intermediate(attention_output), attention_output)


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.layer = nn.ModuleList([BertLayer(config) for _ in range(config.num_hidden_layers)])

    def forward(self, hidden_states: torch.Tensor, extended_mask: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            hidden_states = layer(hidden_states, extended_mask)
        return hidden_states


class BertPooler(nn.Module):
    """tanh(dense(hidden state of the first token, [CLS]))."""

    def __init__(self, config: BertConfig):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden_states[:, 0]))


class BertModel(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)

    def forward(self, input_ids: Optional[torch.Tensor] = None, attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None,
                inputs_embeds: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The pooled output [B, hidden_size]."""
        embeddings = self.embeddings(input_ids, token_type_ids, inputs_embeds)
        if attention_mask is None:
            attention_mask = torch.ones(embeddings.shape[:2], dtype=torch.long, device=embeddings.device)
        # Hugging Face's additive mask: 0 on real tokens, float32's most negative value on padding
        # (torch.finfo(dtype).min, which TorchScript cannot call).
        extended_mask = (1.0 - attention_mask[:, None, None, :].to(embeddings.dtype)) * -3.4028234663852886e38
        return self.pooler(self.encoder(embeddings, extended_mask))


class BertForSequenceClassification(nn.Module):
    def __init__(self, config: BertConfig):
        super().__init__()
        self.num_labels = config.num_labels
        self.return_logits_only = config.return_logits_only
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.apply(lambda module: _init_weights(module, config.initializer_range))

    def logits(self, input_ids: Optional[torch.Tensor] = None, attention_mask: Optional[torch.Tensor] = None,
               token_type_ids: Optional[torch.Tensor] = None,
               inputs_embeds: Optional[torch.Tensor] = None) -> torch.Tensor:
        pooled = self.bert(input_ids, attention_mask, token_type_ids, inputs_embeds)
        return self.classifier(self.dropout(pooled))

    def forward(self, input_ids: Optional[torch.Tensor] = None, attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None,
                inputs_embeds: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """{"logits": [B, num_labels]}, as Hugging Face's SequenceClassifierOutput exposes them."""
        return {"logits": self.logits(input_ids, attention_mask, token_type_ids, inputs_embeds)}

    def get_input_embeddings(self) -> nn.Embedding:
        return self.bert.embeddings.word_embeddings


def _init_weights(module: nn.Module, std: float) -> None:
    """Hugging Face's BERT initialisation: normal(0, std) weights, zero biases, unit LayerNorm."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        module.weight.data.normal_(mean=0.0, std=std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            module.bias.data.zero_()
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            module.weight.data[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        module.bias.data.zero_()
        module.weight.data.fill_(1.0)


@torch.no_grad()
def saturate(model: BertForSequenceClassification, scale: float, layers: Optional[List[int]] = None,
             classifier_scale: Optional[float] = None) -> BertForSequenceClassification:
    """Scales the attention query/key and feed-forward weights of `layers` (all when None) and
    the classifier by `scale` (or `classifier_scale`), so that attention and the output softmax
    saturate: probabilities near 0 and 1 that switch over short stretches of an IG path. For
    testing error control on the kind of model a fixed step count gets wrong."""
    chosen = range(len(model.bert.encoder.layer)) if layers is None else layers
    for index in chosen:
        layer = model.bert.encoder.layer[index]
        for linear in (layer.attention.self.query, layer.attention.self.key, layer.intermediate.dense):
            linear.weight.mul_(scale)
    model.classifier.weight.mul_(scale if classifier_scale is None else classifier_scale)
    return model


class IgxTextWrapper(nn.Module):
    """The methods an igx text bundle exports, over a BertForSequenceClassification:
    forward(ids, mask), embed(ids) (word embeddings only: the attribution space),
    forward_embeds(embeds, mask) through `inputs_embeds`, and word_embeddings() ([V, D])."""

    def __init__(self, model: BertForSequenceClassification):
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.forward_embeds(self.embed(input_ids), attention_mask)

    @torch.jit.export
    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model.bert.embeddings.word_embeddings(input_ids)

    @torch.jit.export
    def forward_embeds(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model.logits(None, attention_mask, None, embeds)

    @torch.jit.export
    def word_embeddings(self) -> torch.Tensor:
        return self.model.bert.embeddings.word_embeddings.weight.detach()
