#include "render/synthetic_snapshot.h"

#include <cmath>
#include <random>
#include <string>

#include "fmalens/layout.h"

namespace fmalens::render {
namespace {

constexpr const char* kPangram = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n";
const int64_t kPangramLength = static_cast<int64_t>(std::char_traits<char>::length(kPangram));

}  // namespace

SyntheticSpec SyntheticSpec::sequence(Variant variant, int64_t n, int64_t m, int64_t p, int layers, int heads) {
  SyntheticSpec s;
  s.variant = variant;
  s.n = n;
  s.m = m;
  s.p = p;
  s.layers = layers;
  s.heads = heads;
  return s;
}

SyntheticSpec SyntheticSpec::grid(int64_t side, int64_t r, int64_t p, int layers, int heads) {
  SyntheticSpec s = sequence(Variant::grid2d, side * side, r, p, layers, heads);
  s.grid_side = side;
  return s;
}

Snapshot make_synthetic_snapshot(const SyntheticSpec& spec) {
  AttentionConfig a;
  a.variant = spec.variant;
  a.m = spec.m;
  a.p = spec.p;
  a.heads = spec.heads;
  a.head_dim = spec.head_dim;
  a.boundary = spec.variant == Variant::causal ? spec.boundary : Boundary::mask;
  a.downsampling = Downsampling::avgpool;
  if (spec.variant == Variant::grid2d) {
    a.grid_side = spec.grid_side;
    a.n = spec.grid_side * spec.grid_side;
  } else {
    a.n = spec.n;
  }
  const Layout layout(a);  // validates
  const int64_t n = layout.tokens(), d = spec.head_dim, H = spec.heads;

  Snapshot s;
  s.attention = layout.config();
  ModelConfig& c = s.config;
  c.attention_kind = AttentionKind::fma;
  c.n_layer = spec.layers;
  c.n_head = H;
  c.n_embd = H * d;
  c.attention = s.attention;
  if (spec.variant == Variant::grid2d) {
    c.kind = ModelKind::image;
    c.patch_size = 4;
    c.image_size = spec.grid_side * c.patch_size;
    c.channels = 1;
    c.num_classes = 10;
    c.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    s.tokens = n;
    const int64_t S = c.image_size;
    s.image.shape = std::vector<int64_t>{S, S, 1};
    for (int64_t y = 0; y < S; ++y)
      for (int64_t x = 0; x < S; ++x) {
        const double r = std::hypot(static_cast<double>(x) - S * 0.5, static_cast<double>(y) - S * 0.45) / static_cast<double>(S);
        s.image.data.push_back(static_cast<float>(r < 0.3 ? 0.85 - r : 0.05));
      }
    s.logits.shape = std::vector<int64_t>{10};
    for (int k = 0; k < 10; ++k) s.logits.data.push_back(k == 7 ? 4.0f : static_cast<float>(k % 3) - 1.0f);
  } else {
    c.kind = ModelKind::text;
    c.block_size = n;
    c.vocab_size = 256;
    s.tokens = spec.tokens > 0 && spec.tokens <= n ? spec.tokens : n;
    for (int64_t t = 0; t < s.tokens; ++t) s.text.push_back(kPangram[t % kPangramLength]);
    s.logits.shape = std::vector<int64_t>{s.tokens, 256};
    s.logits.data.assign(static_cast<size_t>(s.tokens * 256), -2.0f);
    for (int64_t t = 0; t < s.tokens; ++t) {
      s.logits.data[static_cast<size_t>(t * 256 + static_cast<uint8_t>(kPangram[(t + 1) % kPangramLength]))] = 5.0f;
      s.logits.data[static_cast<size_t>(t * 256 + ' ')] = 2.0f;
    }
  }

  std::mt19937_64 rng(spec.seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const double inv_sqrt_d = 1.0 / std::sqrt(static_cast<double>(d));
  for (int layer = 0; layer < spec.layers; ++layer) {
    LayerSnapshot ls;
    ls.q.shape = std::vector<int64_t>{H, n, d};
    ls.k.shape = std::vector<int64_t>{H, n, d};
    ls.q.data.resize(static_cast<size_t>(H * n * d));
    ls.k.data.resize(static_cast<size_t>(H * n * d));
    // Smooth positional features (so that near keys score alike) plus noise.
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < n; ++t)
        for (int64_t j = 0; j < d; ++j) {
          const double phase = static_cast<double>(t) / (4.0 + 7.0 * j + 3.0 * h + layer);
          const size_t at = static_cast<size_t>((h * n + t) * d + j);
          ls.q.data[at] = static_cast<float>(2.0 * std::sin(phase) + 0.5 * normal(rng));
          ls.k.data[at] = static_cast<float>(2.0 * std::cos(phase) + 0.5 * normal(rng));
        }
    // Average-pooled summary keys per level: [blocks * p, d] per head.
    std::vector<std::vector<float>> summaries(static_cast<size_t>(layout.num_levels()));
    for (int l = 1; l < layout.num_levels(); ++l) {
      const LevelGeometry& g = layout.level(l);
      auto& sk = summaries[static_cast<size_t>(l)];
      sk.assign(static_cast<size_t>(H * g.blocks * spec.p * d), 0.0f);
      for (int64_t b = 0; b < g.blocks; ++b) {
        const auto tok = layout.block_tokens(l, b);  // split into p consecutive segments
        const int64_t seg = static_cast<int64_t>(tok.size()) / spec.p;
        for (int64_t h = 0; h < H; ++h)
          for (int64_t sm = 0; sm < spec.p; ++sm)
            for (int64_t j = 0; j < d; ++j) {
              double acc = 0;
              for (int64_t u = sm * seg; u < (sm + 1) * seg; ++u) acc += ls.k.data[static_cast<size_t>((h * n + tok[static_cast<size_t>(u)]) * d + j)];
              sk[static_cast<size_t>(((h * g.blocks + b) * spec.p + sm) * d + j)] = static_cast<float>(acc / static_cast<double>(seg));
            }
      }
    }
    for (int l = 0; l < layout.num_levels(); ++l) {
      Array band;
      band.shape = std::vector<int64_t>{H, n, layout.level(l).slots};
      band.data.assign(static_cast<size_t>(H * n * layout.level(l).slots), 0.0f);
      ls.bands.push_back(std::move(band));
    }
    ls.row_max.shape = std::vector<int64_t>{H, n};
    ls.row_norm.shape = std::vector<int64_t>{H, n};
    ls.row_max.data.resize(static_cast<size_t>(H * n));
    ls.row_norm.data.resize(static_cast<size_t>(H * n));
    std::vector<double> scores;
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < n; ++i) {
        const float* qi = &ls.q.data[static_cast<size_t>((h * n + i) * d)];
        scores.clear();
        double mx = -1e300;
        for (int l = 0; l < layout.num_levels(); ++l) {
          const LevelGeometry& g = layout.level(l);
          for (int64_t k = 0; k < g.slots; ++k) {
            const SlotRef r = layout.slot(l, i, k);
            double sc = -1e300;
            if (r.valid && r.phantom) sc = 0.0;  // the reference's zero keys
            else if (r.valid) {
              const float* key = l == 0 ? &ls.k.data[static_cast<size_t>((h * n + r.block) * d)]
                                        : &summaries[static_cast<size_t>(l)][static_cast<size_t>(((h * g.blocks + r.block) * spec.p + r.summary) * d)];
              double dot = 0;
              for (int64_t j = 0; j < d; ++j) dot += static_cast<double>(qi[j]) * key[j];
              sc = dot * inv_sqrt_d;
            }
            scores.push_back(sc);
            mx = std::max(mx, sc);
          }
        }
        double z = 0;
        size_t at = 0;
        for (int l = 0; l < layout.num_levels(); ++l)
          for (int64_t k = 0; k < layout.level(l).slots; ++k, ++at)
            if (scores[at] > -1e299) z += layout.level(l).alpha * std::exp(scores[at] - mx);
        at = 0;
        for (int l = 0; l < layout.num_levels(); ++l) {
          const LevelGeometry& g = layout.level(l);
          for (int64_t k = 0; k < g.slots; ++k, ++at)
            if (scores[at] > -1e299)
              ls.bands[static_cast<size_t>(l)].data[static_cast<size_t>((h * n + i) * g.slots + k)] =
                  static_cast<float>(g.alpha * std::exp(scores[at] - mx) / z);
        }
        ls.row_max.data[static_cast<size_t>(h * n + i)] = static_cast<float>(mx);
        ls.row_norm.data[static_cast<size_t>(h * n + i)] = static_cast<float>(z);
      }
    if (s.tokens < n) {  // like a model run: rows for the input's tokens only
      auto narrow = [&](Array& a, int64_t cols) {
        Array out;
        out.shape = a.shape;
        out.shape[1] = s.tokens;
        for (int64_t h = 0; h < H; ++h)
          out.data.insert(out.data.end(), a.data.begin() + static_cast<std::ptrdiff_t>(h * n * cols),
                          a.data.begin() + static_cast<std::ptrdiff_t>((h * n + s.tokens) * cols));
        a = std::move(out);
      };
      for (int l = 0; l < layout.num_levels(); ++l) narrow(ls.bands[static_cast<size_t>(l)], layout.level(l).slots);
      narrow(ls.q, d);
      narrow(ls.k, d);
      narrow(ls.row_max, 1);
      narrow(ls.row_norm, 1);
    }
    s.layers.push_back(std::move(ls));
    // Average pooling as downsampling weights: summary s weighs its segment's tokens by p / w.
    std::vector<LevelWeights> weights;
    for (int l = 1; l < layout.num_levels(); ++l) {
      const int64_t bt = layout.level(l).block_tokens, seg = bt / spec.p;
      LevelWeights w;
      w.keys.shape = std::vector<int64_t>{spec.p, d, bt};
      w.values.shape = w.keys.shape;
      w.keys.data.assign(static_cast<size_t>(spec.p * d * bt), 0.0f);
      for (int64_t sm = 0; sm < spec.p; ++sm)
        for (int64_t j = 0; j < d; ++j)
          for (int64_t u = sm * seg; u < (sm + 1) * seg; ++u)
            w.keys.data[static_cast<size_t>((sm * d + j) * bt + u)] = 1.0f / static_cast<float>(seg);
      w.values.data = w.keys.data;
      weights.push_back(std::move(w));
    }
    s.downsampling.push_back(std::move(weights));
  }
  s.device = "synthetic";
  return s;
}

ModelInfo make_synthetic_model_info(const Snapshot& s) {
  ModelInfo info;
  info.path = "synthetic";
  info.format = "synthetic";
  info.config = s.config;
  const int64_t C = s.config.n_embd;
  info.groups = {{"attention projections", s.config.n_layer * 4 * C * C}, {"mlp", s.config.n_layer * 8 * C * C}};
  for (const auto& g : info.groups) info.parameters += g.count;
  std::string curve = "[";
  for (int step = 0; step <= 1000; step += 50) {
    const double train = 1.2 + 4.3 * std::exp(-step / 180.0);
    curve += (step ? "," : "") + std::string("{\"step\":") + std::to_string(step) + ",\"time\":" + std::to_string(step * 0.1) +
             ",\"train\":" + std::to_string(train) + ",\"lr\":0.001" +
             (step % 250 == 0 ? ",\"val\":" + std::to_string(train + 0.08) : "") + "}";
  }
  info.training_json = "{\"steps_done\":1000,\"wall_s\":100,\"device\":\"synthetic\",\"loss_curve\":" + curve + "]}";
  return info;
}

}  // namespace fmalens::render
