// Loading and saving whole models: native safetensors, and import of reference / nanoGPT
// torch.save checkpoints.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "fmalens/checkpoint.h"
#include "model/network.h"

namespace fmalens {

struct LoadedNetwork {
  std::unique_ptr<Network> network;
  std::string format;                           // "safetensors" or "torch_zip"
  std::map<std::string, std::string> metadata;  // safetensors __metadata__; imports: a summary
};

// Loads any supported checkpoint onto the CPU. Throws Error "<path>: <rule>" on any problem:
// unreadable container, missing config, invalid config, missing / unknown keys (named),
// shapes that disagree with the config, unsupported dtypes.
LoadedNetwork load_network(const std::string& path);

// Native checkpoint: the parameters (float32) and `metadata`, with the model config under
// "fmalens_config". Written atomically.
void save_network(const std::string& path, Network& network, std::map<std::string, std::string> metadata,
                  const TensorMap& extra_tensors = {});

// The parameters of `module` as named TensorData (float32, CPU, contiguous).
TensorMap module_tensors(torch::nn::Module& module);
// Copies `tensors` into `module`'s parameters; every parameter must be present with its
// shape and nothing else (keys listed in `ignored` are allowed and skipped).
void load_module_tensors(torch::nn::Module& module, const TensorMap& tensors, const std::string& path);

// Copies into `module` every parameter of `source` with the same name and shape, and for a
// 2-D parameter whose column count matches, its leading rows (a vocabulary grown by a mask
// token keeps the bytes' embeddings). Returns what was copied, what was partly copied and
// what kept its initialisation, for the log.
struct TransplantReport {
  std::vector<std::string> copied, partly_copied, kept;
};
TransplantReport transplant_tensors(torch::nn::Module& module, torch::nn::Module& source);

TensorData to_tensor_data(const torch::Tensor& tensor);
torch::Tensor from_tensor_data(const TensorData& data);

// The model config that a nanoGPT-style `model_args` dict describes: with m and p, causal FMA
// with the reference's zero_pad boundary; without them, a dense GPT.
ModelConfig config_from_model_args(const std::string& model_args_json, const std::string& path);

}  // namespace fmalens
