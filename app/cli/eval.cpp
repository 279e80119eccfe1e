// fmalens eval: bits per byte (text) or top-1 accuracy (image) on held-out data.
#include <nlohmann/json.hpp>

#include <climits>
#include <cstdio>
#include <memory>

#include <unistd.h>

#include "cli/cli.h"
#include "fmalens/train.h"

namespace fmalens::cli {

void add_eval(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a checkpoint: text bits per byte on held-out files, image top-1 accuracy");
  struct Args {
    std::string checkpoint, data, device = "auto";
    int64_t limit = 0, context = 0, mask_span = 0;  // mask_span 0: as trained
    bool json = false;
    ImageFolderOptions folder;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--checkpoint", a->checkpoint, "Model file (.safetensors or reference ckpt.pt)")->required();
  cmd->add_option("--data", a->data,
                  "Text file or folder / Fashion-MNIST folder / image folder (its held-out images) (default: the training default)");
  cmd->add_option("--val-fraction", a->folder.val_fraction, "Image folders without train/ and val/: the share of each class held out, as in training");
  cmd->add_flag("--skip-bad-images", a->folder.skip_bad_images, "Image folders: leave out (and list) images that cannot be decoded");
  cmd->add_option("--limit", a->limit, "Evaluate at most this many bytes or images");
  cmd->add_option("--context", a->context,
                  "Causal text: score every byte of the held-out files (DATA/heldout/ as it is, or DATA's files; the first 128 KiB of "
                  "each) once with sliding windows of N bytes, stride N/2, within its file; also report bits/byte by the byte's "
                  "offset in its file (0-1K, 1K-4K, 4K-16K, 16K-64K, 64K+)")
      ->check(CLI::Range(int64_t{2}, int64_t{1} << 24));
  cmd->add_option("--mask-span", a->mask_span,
                  "Masked LMs: mask " + std::to_string(static_cast<int>(kTrainingMaskRate * 100)) +
                      "% of each held-out window in spans of 1..N bytes (default " + std::to_string(kTrainingMaskSpan) +
                      ", as in training); 1 masks single bytes, each predicted from both sides")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
  cmd->add_option("--device", a->device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_flag("--json", a->json, "Print one JSON object on stdout");
  cmd->callback([a, &action] {
    action = [a]() -> int {
      // The bar goes to stderr: with --json too when a person watches it (a long-context eval runs for minutes).
      const bool bar = !a->json || isatty(STDERR_FILENO);
      EvalResult r = evaluate(
          a->checkpoint, a->data, a->limit, a->device,
          [bar](double f) {
            if (!bar) return;
            std::fprintf(stderr, "\r%s", progress_bar(f).c_str());
            std::fflush(stderr);
          },
          a->folder, a->context, a->mask_span);
      if (bar) std::fprintf(stderr, "\n");
      if (a->json) {
        nlohmann::json j = {{r.metric, r.value}, {"loss_nats", r.loss}, {"items", r.items},
                            {"checkpoint", a->checkpoint}, {"data", r.data}, {"wall_s", r.wall_s}};
        if (r.context > 0) {
          j["context"] = r.context;
          for (const OffsetBucket& b : r.by_offset)
            j["by_offset"].push_back({{"offset", b.name}, {"from", b.from}, {"to", b.to == INT64_MAX ? nlohmann::json() : nlohmann::json(b.to)},
                                      {"bits_per_byte", b.bits_per_byte}, {"bytes", b.bytes}});
        }
        if (r.mask_span > 0) j["mask_span"] = r.mask_span;
        for (const OffsetBucket& b : r.by_mask_gap)
          j["by_mask_gap"].push_back({{"gap", b.name}, {"bits_per_masked_byte", b.bits_per_byte}, {"bytes", b.bytes}});
        std::printf("%s\n", j.dump().c_str());
      } else if (r.metric == "accuracy") {
        std::printf("%s: top-1 accuracy %.2f%% on %lld held-out images of %s (%.1f s)\n", a->checkpoint.c_str(), 100 * r.value,
                    static_cast<long long>(r.items), r.data.c_str(), r.wall_s);
      } else if (r.context > 0) {
        std::printf("%s: %.4f bits per byte on %lld bytes of %s (%.1f s)\n", a->checkpoint.c_str(), r.value,
                    static_cast<long long>(r.items), r.data.c_str(), r.wall_s);
        for (const OffsetBucket& b : r.by_offset)
          std::printf("  offset %-8s %8lld bytes  %.4f bits/byte\n", b.name.c_str(), static_cast<long long>(b.bytes), b.bits_per_byte);
      } else {
        const bool masked = r.metric == "bits_per_masked_byte";
        const std::string spans = !masked ? "" : r.mask_span == 1 ? " (single-byte masks)" : " (spans of 1-" + std::to_string(r.mask_span) + ")";
        std::printf("%s: %.4f bits per %sbyte on %lld %s bytes%s of %s (%.1f s)\n", a->checkpoint.c_str(), r.value, masked ? "masked " : "",
                    static_cast<long long>(r.items), masked ? "masked held-out" : "held-out", spans.c_str(), r.data.c_str(), r.wall_s);
        // How far a masked byte lies from the nearest byte the model sees.
        for (const OffsetBucket& b : r.by_mask_gap)
          std::printf("  %-24s %8lld bytes  %.4f bits/byte\n",
                      b.name == "alone" ? "alone (both neighbours)" : ("run, distance " + b.name).c_str(),
                      static_cast<long long>(b.bytes), b.bits_per_byte);
      }
      return 0;
    };
  });
}

}  // namespace fmalens::cli
