// fmalens info: what a checkpoint holds (format, config, FMA levels, parameters, training).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

#include "cli/cli.h"
#include "fmalens/model.h"

namespace fmalens::cli {

void add_info(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("info", "Show a checkpoint's format, config, FMA levels, parameter counts and training summary");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto tokenizer = std::make_shared<std::string>();
  cmd->add_option("--checkpoint", *path, "Model file (.safetensors or reference ckpt.pt)")->required();
  cmd->add_option("--tokenizer", *tokenizer, "Its tokenizer, when not bytes and not found beside it (see inspect --help)");
  cmd->add_flag("--json", *json, "Print one JSON object on stdout");
  cmd->callback([path, json, tokenizer, &action] {
    action = [path, json, tokenizer]() -> int {
      auto model = Model::load(*path, *tokenizer);
      if (!*json) {
        std::fputs(model->describe().c_str(), stdout);
        return 0;
      }
      const ModelInfo& i = model->info();
      nlohmann::json j = {{"path", i.path}, {"format", i.format}, {"config", nlohmann::json::parse(to_json(i.config))},
                          {"parameters", i.parameters}};
      if (i.config.kind == ModelKind::text) j["tokenizer"] = i.tokenizer.empty() ? nlohmann::json() : nlohmann::json(i.tokenizer);
      for (const auto& g : i.groups) j["parameter_groups"][g.name] = g.count;
      if (!i.training_json.empty()) j["training"] = nlohmann::json::parse(i.training_json, nullptr, false);
      std::printf("%s\n", j.dump().c_str());
      return 0;
    };
  });
}

}  // namespace fmalens::cli
