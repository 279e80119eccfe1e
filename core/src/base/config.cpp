// Validation and JSON (de)serialisation of the configuration types.
#include "fmalens/config.h"
#include "fmalens/quote.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

#include <sstream>

namespace fmalens {
namespace {

bool is_power_of_two(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

int log2_exact(int64_t x) {
  int l = 0;
  while ((int64_t{1} << l) < x) ++l;
  return l;
}

[[noreturn]] void refuse(const std::string& rule) { throw ConfigError(rule); }

}  // namespace

const char* to_string(Variant v) {
  switch (v) {
    case Variant::causal: return "causal";
    case Variant::bidirectional: return "bidirectional";
    case Variant::grid2d: return "2d";
  }
  return "?";
}
const char* to_string(Downsampling d) {
  switch (d) {
    case Downsampling::groupedconv: return "groupedconv";
    case Downsampling::conv: return "conv";
    case Downsampling::avgpool: return "avgpool";
    case Downsampling::nested: return "nested";
  }
  return "?";
}
const char* to_string(Boundary b) { return b == Boundary::zero_pad ? "zero_pad" : "mask"; }

Variant variant_from_string(const std::string& s) {
  if (s == "causal") return Variant::causal;
  if (s == "bidirectional") return Variant::bidirectional;
  if (s == "2d" || s == "grid2d") return Variant::grid2d;
  refuse("variant must be causal, bidirectional or 2d, got " + quote(s));
}
Downsampling downsampling_from_string(const std::string& s) {
  if (s == "groupedconv") return Downsampling::groupedconv;
  if (s == "conv") return Downsampling::conv;
  if (s == "avgpool") return Downsampling::avgpool;
  if (s == "nested") return Downsampling::nested;
  refuse("downsampling must be groupedconv, conv, avgpool or nested, got " + quote(s));
}
Boundary boundary_from_string(const std::string& s) {
  if (s == "zero_pad") return Boundary::zero_pad;
  if (s == "mask") return Boundary::mask;
  refuse("boundary must be zero_pad or mask, got " + quote(s));
}

const char* to_string(AttentionKind k) {
  switch (k) {
    case AttentionKind::fma: return "fma";
    case AttentionKind::dense: return "dense";
    case AttentionKind::local: return "local";
    case AttentionKind::elu_linear: return "elu_linear";
  }
  return "?";
}

const char* attention_kind_name(AttentionKind k) {
  switch (k) {
    case AttentionKind::fma: return "FMA";
    case AttentionKind::dense: return "dense";
    case AttentionKind::local: return "local (FMA's fine band)";
    case AttentionKind::elu_linear: return "elu+1 linear";
  }
  return "?";
}

AttentionKind attention_kind_from_string(const std::string& s) {
  for (AttentionKind k : {AttentionKind::fma, AttentionKind::dense, AttentionKind::local, AttentionKind::elu_linear})
    if (s == to_string(k)) return k;
  refuse("attention_kind must be fma, dense, local or elu_linear, got " + quote(s));
}

void validate(const AttentionConfig& c) {
  std::ostringstream why;
  if (c.heads < 1) refuse("heads must be at least 1 (got " + std::to_string(c.heads) + ")");
  if (c.head_dim < 1)
    refuse("head dimension must be at least 1 (got " + std::to_string(c.head_dim) + ")");
  if (c.p < 1) refuse("p (summaries per block) must be at least 1 (got " + std::to_string(c.p) + ")");
  if (c.m < 1) refuse("m (fine block size) must be at least 1 (got " + std::to_string(c.m) + ")");
  if (c.variant == Variant::grid2d) {
    const int64_t g = c.grid_side, r = c.m;
    if (!is_power_of_two(g))
      refuse("the 2d grid must be square with a power-of-two side (got side " + std::to_string(g) + ")");
    if (!is_power_of_two(r) || g % r != 0 || g / r < 2)
      refuse("the 2d cell side r must be a power of two with grid_side / r >= 2 (grid " +
             std::to_string(g) + ", r " + std::to_string(r) + ")");
    if (c.p > r * r)
      refuse("p must not exceed the tokens of a fine cell r^2 (p " + std::to_string(c.p) +
             ", r^2 " + std::to_string(r * r) + ")");
    if (c.downsampling == Downsampling::nested)
      refuse("nested downsampling is for 1D attention (causal or bidirectional), not 2d");
    if (c.downsampling == Downsampling::avgpool && (r * r) % c.p != 0)
      refuse("avgpool needs p to divide r^2 (p " + std::to_string(c.p) + ", r^2 " +
             std::to_string(r * r) + ")");
  } else {
    if (c.n < 1 || c.n % c.m != 0 || !is_power_of_two(c.n / c.m) || c.n / c.m < 2)
      refuse("n/m must be a power of two >= 2 (n " + std::to_string(c.n) + ", m " +
             std::to_string(c.m) + ")");
    if (c.p > c.m)
      refuse("p must not exceed the fine block size m (p " + std::to_string(c.p) + ", m " +
             std::to_string(c.m) + ")");
    if ((c.downsampling == Downsampling::avgpool || c.downsampling == Downsampling::nested) && c.m % c.p != 0)
      refuse(std::string(to_string(c.downsampling)) + " needs p to divide m (p " + std::to_string(c.p) + ", m " +
             std::to_string(c.m) + ")");
  }
  if (c.query_downsampling && c.downsampling == Downsampling::nested)
    refuse("nested downsampling does not combine with query downsampling (the linear variant)");
  if (c.query_downsampling && c.variant == Variant::causal)
    refuse("query downsampling (the linear variant) cannot be causal: a block summary of "
           "queries mixes in future tokens; use bidirectional or 2d");
  if (c.boundary == Boundary::zero_pad && c.variant != Variant::causal)
    refuse("boundary zero_pad (the reference's phantom keys) exists only for causal attention; "
           "bidirectional and 2d mask out-of-range blocks");
}

int coarse_levels(const AttentionConfig& c) {
  validate(c);
  const int64_t ratio = c.variant == Variant::grid2d ? c.grid_side / c.m : c.n / c.m;
  const int all = log2_exact(ratio) - 1;
  return c.max_coarse_levels >= 0 ? std::min(all, c.max_coarse_levels) : all;
}

int64_t layout_length_at_least(int64_t m, int64_t tokens) {
  int64_t len = 2 * m;
  while (len < tokens) len *= 2;
  return len;
}

int64_t layout_length_at_most(int64_t m, int64_t tokens) {
  if (tokens < 2 * m) return 0;
  int64_t len = 2 * m;
  while (len * 2 <= tokens) len *= 2;
  return len;
}

int64_t ModelConfig::sequence_length() const {
  if (kind == ModelKind::text) return block_size;
  const int64_t g = grid_side();
  return g * g;
}

AttentionConfig ModelConfig::attention_config() const {
  AttentionConfig a = attention;
  if (attention_kind == AttentionKind::local) a.max_coarse_levels = 0;
  a.heads = n_head;
  a.head_dim = n_head > 0 ? n_embd / n_head : 0;
  if (kind == ModelKind::text) {
    a.n = block_size;
    a.grid_side = 0;
  } else {
    a.grid_side = grid_side();
    a.n = a.grid_side * a.grid_side;
  }
  return a;
}

void validate(const ModelConfig& c) {
  if (c.n_layer < 1 || c.n_layer > 256)
    refuse("n_layer must be between 1 and 256 (got " + std::to_string(c.n_layer) + ")");
  if (c.n_head < 1 || c.n_embd < 1 || c.n_embd % c.n_head != 0)
    refuse("n_embd must be a positive multiple of n_head (n_embd " + std::to_string(c.n_embd) +
           ", n_head " + std::to_string(c.n_head) + ")");
  if (c.n_embd > 65536) refuse("n_embd must be at most 65536 (got " + std::to_string(c.n_embd) + ")");
  if (c.kind == ModelKind::text) {
    if (c.block_size < 2 || c.block_size > (int64_t{1} << 20))
      refuse("block_size must be between 2 and 2^20 (got " + std::to_string(c.block_size) + ")");
    if (c.vocab_size < 1 || c.vocab_size > (int64_t{1} << 20))
      refuse("vocab_size must be between 1 and 2^20 (got " + std::to_string(c.vocab_size) + ")");
    if (c.attention.variant == Variant::grid2d)
      refuse("a text model needs 1D attention (causal or bidirectional), not 2d");
    if (c.stem_channels != 0 || c.stem_layers != 0) refuse("a convolutional stem is for image models, not text");
    if (c.local_mixing != 0 && (c.local_mixing < 3 || c.local_mixing > 63 || c.local_mixing % 2 == 0 || c.causal()))
      refuse("local_mixing must be an odd width from 3 to 63, for bidirectional text models (got " +
             std::to_string(c.local_mixing) + ")");
    if (c.masked_lm && (c.vocab_size != kMaskToken + 1 || c.attention.variant != Variant::bidirectional))
      refuse("a masked LM reads bytes and a mask token (vocab_size 257) with bidirectional attention (vocab_size " +
             std::to_string(c.vocab_size) + ", variant " + to_string(c.attention.variant) + ")");
  } else {
    if (c.channels != 1 && c.channels != 3)
      refuse("channels must be 1 or 3 (got " + std::to_string(c.channels) + ")");
    if (c.patch_size < 1 || c.image_size < c.patch_size || c.image_size % c.patch_size != 0 ||
        c.image_size > 4096)
      refuse("image_size must be a multiple of patch_size, at most 4096 (image_size " +
             std::to_string(c.image_size) + ", patch_size " + std::to_string(c.patch_size) + ")");
    if ((c.stem_channels == 0) != (c.stem_layers == 0) || c.stem_channels < 0 || c.stem_channels > 256 ||
        c.stem_layers < 0 || c.stem_layers > 4)
      refuse("a convolutional stem needs stem_channels from 1 to 256 and stem_layers from 1 to 4, or both 0 (stem_channels " +
             std::to_string(c.stem_channels) + ", stem_layers " + std::to_string(c.stem_layers) + ")");
    if (c.num_classes < 1 || c.num_classes > 100000)
      refuse("num_classes must be between 1 and 100000 (got " + std::to_string(c.num_classes) + ")");
    if (!c.class_names.empty() && static_cast<int64_t>(c.class_names.size()) != c.num_classes)
      refuse("class_names must list num_classes names (" + std::to_string(c.class_names.size()) +
             " for " + std::to_string(c.num_classes) + ")");
    if (uses_fma_bands(c.attention_kind) && c.attention.variant != Variant::grid2d)
      refuse("an image model needs 2d attention");
  }
  if (uses_fma_bands(c.attention_kind)) validate(c.attention_config());
}

std::string image_input_summary(const ModelConfig& c) {
  const std::string side = std::to_string(c.image_size), patch = std::to_string(c.patch_size), grid = std::to_string(c.grid_side());
  std::string s = side + "x" + side + "x" + std::to_string(c.channels) + ", patches " + patch + "x" + patch + " -> grid " + grid +
                  "x" + grid + ", " + std::to_string(c.num_classes) + " classes";
  if (c.stem_layers > 0)
    s += ", a convolutional stem of " + std::to_string(c.stem_layers) + " x 3x3 to " + std::to_string(c.stem_channels) + " channels";
  return s;
}

std::string to_json(const ModelConfig& c) {
  nlohmann::json a = {
      {"variant", to_string(c.attention.variant)},
      {"m", c.attention.m},
      {"p", c.attention.p},
      {"downsampling", to_string(c.attention.downsampling)},
      {"boundary", to_string(c.attention.boundary)},
      {"query_downsampling", c.attention.query_downsampling},
      {"scale_attn", c.attention.scale_attn},
  };
  nlohmann::json j = {
      {"kind", c.kind == ModelKind::text ? "text" : "image"},
      {"attention_kind", to_string(c.attention_kind)},
      {"n_layer", c.n_layer},
      {"n_head", c.n_head},
      {"n_embd", c.n_embd},
      {"bias", c.bias},
      {"attention", a},
  };
  if (c.kind == ModelKind::text) {
    j["block_size"] = c.block_size;
    j["vocab_size"] = c.vocab_size;
    j["masked_lm"] = c.masked_lm;
    if (c.local_mixing) j["local_mixing"] = c.local_mixing;
    if (!c.learned_positions) j["positions"] = "none";
  } else {
    j["image_size"] = c.image_size;
    j["patch_size"] = c.patch_size;
    j["channels"] = c.channels;
    if (c.stem_layers) {
      j["stem_channels"] = c.stem_channels;
      j["stem_layers"] = c.stem_layers;
    }
    j["num_classes"] = c.num_classes;
    j["class_names"] = c.class_names;
  }
  return j.dump();
}

namespace {

template <class T>
T field(const nlohmann::json& j, const char* name, const char* where) {
  if (!j.is_object() || !j.contains(name))
    refuse(std::string("model config: missing field '") + where + name + "'");
  const nlohmann::json& v = j.at(name);
  const std::string what = std::string("model config: field '") + where + name + "'";
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // nlohmann converts a float or a too-large integer to T without a check (undefined
    // behaviour, found by fuzz_config): take whole numbers in T's range only.
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::min());
    constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      if (static_cast<double>(u) >= hi) refuse(what + " is out of range");
      return static_cast<T>(u);
    }
    if (v.is_number_integer()) {
      const int64_t x = v.get<int64_t>();
      if (static_cast<double>(x) < lo || static_cast<double>(x) >= hi) refuse(what + " is out of range");
      return static_cast<T>(x);
    }
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (!std::isfinite(d) || d != std::floor(d) || d < lo || d >= hi) refuse(what + " must be a whole number in range");
      return static_cast<T>(d);
    }
    refuse(what + " has the wrong type");
  } else {
    try {
      return v.get<T>();
    } catch (const nlohmann::json::exception&) {
      refuse(what + " has the wrong type");
    }
  }
}

template <class T>
T field_or(const nlohmann::json& j, const char* name, const char* where, T fallback) {
  if (!j.is_object() || !j.contains(name)) return fallback;
  return field<T>(j, name, where);
}

}  // namespace

ModelConfig model_config_from_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {
    refuse("model config: not valid JSON");
  }
  if (!j.is_object()) refuse("model config: not a JSON object");
  ModelConfig c;
  const auto kind = field<std::string>(j, "kind", "");
  if (kind != "text" && kind != "image") refuse("model config: kind must be text or image, got " + quote(kind));
  c.kind = kind == "text" ? ModelKind::text : ModelKind::image;
  const auto ak = field_or<std::string>(j, "attention_kind", "", "fma");
  try {
    c.attention_kind = attention_kind_from_string(ak);
  } catch (const ConfigError& e) {
    refuse(std::string("model config: ") + e.what());
  }
  c.n_layer = field<int64_t>(j, "n_layer", "");
  c.n_head = field<int64_t>(j, "n_head", "");
  c.n_embd = field<int64_t>(j, "n_embd", "");
  c.bias = field_or<bool>(j, "bias", "", true);
  if (c.kind == ModelKind::text) {
    c.block_size = field<int64_t>(j, "block_size", "");
    c.vocab_size = field_or<int64_t>(j, "vocab_size", "", 256);
    c.masked_lm = field_or<bool>(j, "masked_lm", "", false);
    c.local_mixing = field_or<int64_t>(j, "local_mixing", "", 0);
    const std::string positions = field_or<std::string>(j, "positions", "", "learned");
    if (positions != "learned" && positions != "none") refuse("model config: positions must be learned or none, got " + quote(positions));
    c.learned_positions = positions == "learned";
  } else {
    c.image_size = field<int64_t>(j, "image_size", "");
    c.patch_size = field<int64_t>(j, "patch_size", "");
    c.channels = field_or<int64_t>(j, "channels", "", 1);
    c.stem_channels = field_or<int64_t>(j, "stem_channels", "", 0);
    c.stem_layers = field_or<int64_t>(j, "stem_layers", "", 0);
    c.num_classes = field<int64_t>(j, "num_classes", "");
    c.class_names = field_or<std::vector<std::string>>(j, "class_names", "", {});
  }
  const nlohmann::json a = j.contains("attention") ? j["attention"] : nlohmann::json::object();
  c.attention.variant = variant_from_string(
      field_or<std::string>(a, "variant", "attention.", c.kind == ModelKind::text ? "causal" : "2d"));
  c.attention.m = field_or<int64_t>(a, "m", "attention.", c.attention.m);
  c.attention.p = field_or<int64_t>(a, "p", "attention.", c.attention.p);
  c.attention.downsampling =
      downsampling_from_string(field_or<std::string>(a, "downsampling", "attention.", "groupedconv"));
  c.attention.boundary = boundary_from_string(field_or<std::string>(a, "boundary", "attention.", "mask"));
  c.attention.query_downsampling = field_or<bool>(a, "query_downsampling", "attention.", false);
  c.attention.scale_attn = field_or<bool>(a, "scale_attn", "attention.", true);
  validate(c);
  return c;
}

}  // namespace fmalens
