// fmalens eval: bits per byte (text) or top-1 accuracy (image) on held-out data.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli/cli.h"
#include "fmalens/train.h"

namespace fmalens::cli {

void add_eval(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a checkpoint: text bits per byte on held-out files, image top-1 accuracy");
  struct Args {
    std::string checkpoint, data, device = "auto";
    int64_t limit = 0;
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
  cmd->add_option("--device", a->device, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_flag("--json", a->json, "Print one JSON object on stdout");
  cmd->callback([a, &action] {
    action = [a]() -> int {
      const bool tty = !a->json;
      EvalResult r = evaluate(
          a->checkpoint, a->data, a->limit, a->device,
          [tty](double f) {
            if (!tty) return;
            std::fprintf(stderr, "\r%s", progress_bar(f).c_str());
            std::fflush(stderr);
          },
          a->folder);
      if (tty) std::fprintf(stderr, "\n");
      if (a->json) {
        nlohmann::json j = {{r.metric, r.value}, {"loss_nats", r.loss}, {"items", r.items},
                            {"checkpoint", a->checkpoint}, {"data", r.data}, {"wall_s", r.wall_s}};
        std::printf("%s\n", j.dump().c_str());
      } else if (r.metric == "accuracy") {
        std::printf("%s: top-1 accuracy %.2f%% on %lld held-out images of %s (%.1f s)\n", a->checkpoint.c_str(), 100 * r.value,
                    static_cast<long long>(r.items), r.data.c_str(), r.wall_s);
      } else {
        const bool masked = r.metric == "bits_per_masked_byte";
        std::printf("%s: %.4f bits per %sbyte on %lld %s bytes of %s (%.1f s)\n", a->checkpoint.c_str(), r.value, masked ? "masked " : "",
                    static_cast<long long>(r.items), masked ? "masked held-out" : "held-out", r.data.c_str(), r.wall_s);
      }
      return 0;
    };
  });
}

}  // namespace fmalens::cli
