#include "model/model_io.h"
#include "fmalens/quote.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <set>
#include <sstream>

namespace fmalens {
namespace {

torch::ScalarType scalar_type(DType d) {
  switch (d) {
    case DType::F64: return torch::kDouble;
    case DType::F32: return torch::kFloat;
    case DType::F16: return torch::kHalf;
    case DType::BF16: return torch::kBFloat16;
    case DType::I64: return torch::kLong;
    case DType::I32: return torch::kInt;
    case DType::I16: return torch::kShort;
    case DType::I8: return torch::kChar;
    case DType::U8: return torch::kByte;
    case DType::BOOL: return torch::kBool;
  }
  return torch::kFloat;
}

std::string shape_str(c10::IntArrayRef s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

std::string list_some(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 4; ++i) out += (i ? ", " : "") + quote(names[i]);
  if (names.size() > 4) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

}  // namespace

TensorData to_tensor_data(const torch::Tensor& tensor) {
  auto t = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
  TensorData d;
  d.dtype = DType::F32;
  d.shape.assign(t.sizes().begin(), t.sizes().end());
  d.bytes.resize(static_cast<size_t>(t.numel()) * sizeof(float));
  if (!d.bytes.empty()) std::memcpy(d.bytes.data(), t.data_ptr<float>(), d.bytes.size());
  return d;
}

torch::Tensor from_tensor_data(const TensorData& data) {
  auto t = torch::empty(data.shape, scalar_type(data.dtype));
  if (!data.bytes.empty()) std::memcpy(t.data_ptr(), data.bytes.data(), data.bytes.size());
  return t;
}

TensorMap module_tensors(torch::nn::Module& module) {
  TensorMap out;
  for (const auto& p : module.named_parameters()) out[p.key()] = to_tensor_data(p.value());
  return out;
}

void load_module_tensors(torch::nn::Module& module, const TensorMap& tensors, const std::string& path) {
  std::vector<std::string> missing, unknown;
  std::set<std::string> expected;
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) {
    expected.insert(p.key());
    auto it = tensors.find(p.key());
    if (it == tensors.end()) {
      missing.push_back(p.key());
      continue;
    }
    const TensorData& d = it->second;
    if (!c10::IntArrayRef(d.shape).equals(p.value().sizes()))
      throw Error(shown_path(path) + ": tensor '" + p.key() + "' has shape " + shape_str(d.shape) + " but the config needs " +
                  shape_str(p.value().sizes()));
    if (d.dtype != DType::F32 && d.dtype != DType::F16 && d.dtype != DType::BF16 && d.dtype != DType::F64)
      throw Error(shown_path(path) + ": tensor '" + p.key() + "' has dtype " + dtype_name(d.dtype) + ", expected a float type");
    auto t = from_tensor_data(d).to(torch::kFloat);
    if (!torch::isfinite(t).all().item<bool>())
      throw Error(shown_path(path) + ": tensor '" + p.key() + "' holds NaN or infinite values");
    p.value().copy_(t);
  }
  for (const auto& kv : tensors)
    if (!expected.count(kv.first)) unknown.push_back(kv.first);
  if (!missing.empty()) throw Error(shown_path(path) + ": missing tensors " + list_some(missing));
  if (!unknown.empty()) throw Error(shown_path(path) + ": unknown tensors " + list_some(unknown));
}

TransplantReport transplant_tensors(torch::nn::Module& module, torch::nn::Module& source) {
  TransplantReport report;
  std::map<std::string, torch::Tensor> from;
  for (const auto& p : source.named_parameters()) from[p.key()] = p.value();
  torch::NoGradGuard no_grad;
  for (auto& p : module.named_parameters()) {
    auto it = from.find(p.key());
    torch::Tensor dst = p.value();
    if (it == from.end()) {
      report.kept.push_back(p.key());
    } else if (it->second.sizes().equals(dst.sizes())) {
      dst.copy_(it->second.to(dst.device(), dst.scalar_type()));
      report.copied.push_back(p.key());
    } else if (dst.dim() == 2 && it->second.dim() == 2 && it->second.size(1) == dst.size(1)) {
      const int64_t rows = std::min(dst.size(0), it->second.size(0));
      dst.narrow(0, 0, rows).copy_(it->second.narrow(0, 0, rows).to(dst.device(), dst.scalar_type()));
      report.partly_copied.push_back(p.key());
    } else {
      report.kept.push_back(p.key());
    }
  }
  return report;
}

ModelConfig config_from_model_args(const std::string& model_args_json, const std::string& path) {
  nlohmann::json a;
  try {
    a = nlohmann::json::parse(model_args_json);
  } catch (const nlohmann::json::exception&) {
    throw Error(shown_path(path) + ": model_args is not readable");
  }
  if (!a.is_object() || a.empty()) throw Error(shown_path(path) + ": checkpoint has no model_args (not a nanoGPT-style checkpoint)");
  auto integer = [&](const char* key, std::optional<int64_t> fallback) -> int64_t {
    if (!a.contains(key) || a[key].is_null()) {
      if (fallback) return *fallback;
      throw Error(shown_path(path) + ": model_args has no '" + key + "'");
    }
    if (!a[key].is_number_integer()) throw Error(shown_path(path) + ": model_args '" + key + "' must be an integer");
    return a[key].get<int64_t>();
  };
  ModelConfig c;
  c.kind = ModelKind::text;
  c.n_layer = integer("n_layer", std::nullopt);
  c.n_head = integer("n_head", std::nullopt);
  c.n_embd = integer("n_embd", std::nullopt);
  c.block_size = integer("block_size", std::nullopt);
  c.vocab_size = integer("vocab_size", std::nullopt);
  c.bias = a.contains("bias") && a["bias"].is_boolean() ? a["bias"].get<bool>() : true;
  const bool fma = a.contains("m") && !a["m"].is_null();
  c.attention_kind = fma ? AttentionKind::fma : AttentionKind::dense;
  if (fma) {
    c.attention.variant = Variant::causal;
    c.attention.boundary = Boundary::zero_pad;  // what the reference computes
    c.attention.m = integer("m", std::nullopt);
    c.attention.p = integer("p", std::nullopt);
    c.attention.downsampling = Downsampling::groupedconv;
    if (a.contains("downsampling") && a["downsampling"].is_string()) {
      try {
        c.attention.downsampling = downsampling_from_string(a["downsampling"].get<std::string>());
      } catch (const ConfigError& e) {
        throw Error(shown_path(path) + ": " + e.what());
      }
    }
    c.attention.scale_attn = a.contains("scale_attn") && a["scale_attn"].is_boolean() ? a["scale_attn"].get<bool>() : true;
  }
  try {
    validate(c);
  } catch (const ConfigError& e) {
    throw Error(shown_path(path) + ": " + e.what());
  }
  return c;
}

namespace {

LoadedNetwork load_safetensors_network(const std::string& path) {
  SafeTensorsFile file = read_safetensors(path);
  auto it = file.metadata.find("fmalens_config");
  if (it == file.metadata.end())
    throw Error(shown_path(path) + ": no 'fmalens_config' in the safetensors metadata (not an FMA Lens model)");
  ModelConfig config;
  try {
    config = model_config_from_json(it->second);
  } catch (const ConfigError& e) {
    throw Error(shown_path(path) + ": " + e.what());
  }
  LoadedNetwork out;
  out.network = std::make_unique<Network>(config);
  TensorMap model;
  for (auto& kv : file.tensors)
    if (kv.first.rfind("optim.", 0) != 0) model.emplace(kv.first, std::move(kv.second));
  load_module_tensors(out.network->module(), model, path);
  out.format = "safetensors";
  out.metadata = std::move(file.metadata);
  return out;
}

LoadedNetwork load_torch_network(const std::string& path) {
  TorchCheckpoint ckpt = read_torch_checkpoint(path);
  ModelConfig config = config_from_model_args(ckpt.model_args_json, path);
  TensorMap tensors;
  for (auto& kv : ckpt.state_dict) {
    std::string key = kv.first;
    if (key.rfind("_orig_mod.", 0) == 0) key = key.substr(10);
    // nanoGPT's causal-mask buffer (without flash attention): not a parameter.
    const std::string mask_suffix = ".attn.bias";
    if (key.size() > mask_suffix.size() &&
        key.compare(key.size() - mask_suffix.size(), mask_suffix.size(), mask_suffix) == 0 &&
        key.find(".attn.attn.") == std::string::npos && kv.second.shape.size() == 4)
      continue;
    if (!tensors.emplace(key, std::move(kv.second)).second) throw Error(shown_path(path) + ": tensor " + quote(key) + " appears twice");
  }
  auto head = tensors.find("lm_head.weight");
  if (head != tensors.end()) {
    auto wte = tensors.find("transformer.wte.weight");
    if (wte == tensors.end() || head->second.bytes != wte->second.bytes || head->second.dtype != wte->second.dtype)
      throw Error(shown_path(path) + ": lm_head.weight is not tied to transformer.wte.weight (untied heads are not supported)");
    tensors.erase(head);
  }
  LoadedNetwork out;
  out.network = std::make_unique<Network>(config);
  load_module_tensors(out.network->module(), tensors, path);
  out.format = "torch_zip";
  out.metadata["fmalens_config"] = to_json(config);
  out.metadata["source"] = "reference / nanoGPT checkpoint (torch.save)";
  out.metadata["model_args"] = ckpt.model_args_json;
  out.metadata["reference_extras"] = ckpt.extras_json;
  return out;
}

}  // namespace

LoadedNetwork load_network(const std::string& path) {
  switch (detect_checkpoint_format(path)) {
    case CheckpointFormat::safetensors: return load_safetensors_network(path);
    case CheckpointFormat::torch_zip: return load_torch_network(path);
    case CheckpointFormat::unknown: break;
  }
  throw Error(shown_path(path) + ": not a checkpoint (neither safetensors nor a torch.save zip)");
}

void save_network(const std::string& path, Network& network, std::map<std::string, std::string> metadata,
                  const TensorMap& extra_tensors) {
  SafeTensorsFile file;
  file.tensors = module_tensors(network.module());
  for (const auto& kv : extra_tensors) file.tensors[kv.first] = kv.second;
  metadata["fmalens_config"] = to_json(network.config());
  metadata["format"] = "fmalens";
  file.metadata = std::move(metadata);
  write_safetensors(path, file);
}

}  // namespace fmalens
