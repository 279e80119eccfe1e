// The model config parser (model_config_from_json + validate) on arbitrary text. A config it
// accepts must validate, serialise to JSON that parses back to the same config, and give a
// layout whose levels tile every query (checked on small sequences).
#include "fmalens/config.h"
#include "fmalens/layout.h"
#include "fuzz_util.h"

using namespace fmalens;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  ModelConfig c;
  try {
    c = model_config_from_json(text);
  } catch (const ConfigError& e) {
    fuzz::check_message(e);
    return 0;
  }
  validate(c);  // must not throw: it was accepted
  const std::string json = to_json(c);
  ModelConfig back;
  try {
    back = model_config_from_json(json);
  } catch (const ConfigError& e) {
    fuzz::finding(std::string("an accepted config does not parse back: ") + e.what() + "\n" + json);
  }
  fuzz::check(to_json(back) == json, "config changed in a JSON round trip: " + json);
  fuzz::check(c.sequence_length() >= 1, "accepted config with no tokens: " + json);
  if (!uses_fma_bands(c.attention_kind)) return 0;

  const AttentionConfig a = c.attention_config();
  const int levels = coarse_levels(a);
  fuzz::check(levels >= 0 && levels < 64, "bad number of coarse levels: " + json);
  if (a.tokens() > 1024) return 0;  // keep each input fast
  const Layout layout(a);
  fuzz::check(layout.num_levels() == levels + 1, "layout and coarse_levels disagree: " + json);
  for (int l = 0; l < layout.num_levels(); ++l) {
    const LevelGeometry& g = layout.level(l);
    fuzz::check(g.slots >= 1 && g.group_queries * g.groups == layout.tokens(), "level geometry: " + json);
  }
  // Every key token of every query is served by exactly one level (causal: the past only).
  const int64_t n = layout.tokens();
  const int64_t step = n > 64 ? n / 64 : 1;
  for (int64_t i = 0; i < n; i += step)
    for (int64_t t = 0; t < n; ++t) {
      int64_t first = -1;
      const int l = layout.locate(i, t, &first);
      const bool attended = a.variant != Variant::causal || t <= i;
      fuzz::check((l >= 0) == attended, "locate leaves a key token unserved: " + json);
      if (l >= 0)
        fuzz::check(first >= 0 && first < layout.level(l).slots, "locate returns a slot out of range: " + json);
    }
  return 0;
}
