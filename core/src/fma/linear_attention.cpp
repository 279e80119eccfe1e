// The elu_linear baseline (attention.h): causal linear attention in chunks, and one row of its
// weights for the viewer.
#include "fma/attention.h"

namespace fmalens {
namespace {

// phi(x) = elu(x) + 1 > 0, in the math dtype.
torch::Tensor feature_map(const torch::Tensor& x, torch::ScalarType math) { return torch::elu(x.to(math)) + 1; }

torch::ScalarType math_dtype(const torch::Tensor& q) { return q.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat; }

constexpr double kDenominatorFloor = 1e-6;  // phi > 0 keeps it positive; this keeps it away from 0

}  // namespace

torch::Tensor elu_linear_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, bool causal,
                                   int64_t chunk) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes() && v.dim() == 4 && v.size(2) == q.size(2), "elu_linear: q, k, v must be (b, h, n, d)");
  TORCH_CHECK(chunk >= 1, "elu_linear: chunk must be at least 1");
  const auto math = math_dtype(q);
  const auto fq = feature_map(q, math), fk = feature_map(k, math), vv = v.to(math);  // (b, h, n, d)
  if (!causal) {
    const auto S = torch::matmul(fk.transpose(2, 3), vv);           // (b, h, d, dv)
    const auto z = fk.sum(2).unsqueeze(-1);                          // (b, h, d, 1)
    const auto den = torch::matmul(fq, z).clamp_min(kDenominatorFloor);  // (b, h, n, 1)
    return (torch::matmul(fq, S) / den).to(q.scalar_type());
  }
  auto S = torch::zeros({q.size(0), q.size(1), q.size(3), v.size(3)}, fq.options());  // keys before the chunk
  auto z = torch::zeros({q.size(0), q.size(1), q.size(3), 1}, fq.options());
  const auto lower = torch::ones({chunk, chunk}, fq.options()).tril();
  // One split per input, not a narrow per chunk: a narrow's backward writes a gradient of the
  // whole sequence, which made the backward O(n^2 / chunk); a split's backward is one concat.
  const auto qs = fq.split(chunk, 2), ks = fk.split(chunk, 2), vs = vv.split(chunk, 2);
  std::vector<torch::Tensor> out;
  for (size_t c = 0; c < qs.size(); ++c) {
    const int64_t len = qs[c].size(2);
    const auto& qc = qs[c];
    const auto& kc = ks[c];
    const auto& vc = vs[c];
    const auto A = torch::matmul(qc, kc.transpose(2, 3)) * lower.narrow(0, 0, len).narrow(1, 0, len);  // (b, h, len, len)
    const auto num = torch::matmul(A, vc) + torch::matmul(qc, S);
    const auto den = (A.sum(-1, true) + torch::matmul(qc, z)).clamp_min(kDenominatorFloor);
    out.push_back(num / den);
    S = S + torch::matmul(kc.transpose(2, 3), vc);
    z = z + kc.sum(2).unsqueeze(-1);
  }
  return torch::cat(out, 2).to(q.scalar_type());
}

torch::Tensor elu_linear_row(const torch::Tensor& q, const torch::Tensor& k, int64_t i, bool causal) {
  TORCH_CHECK(q.dim() == 4 && k.sizes() == q.sizes(), "elu_linear_row: q and k must be (b, h, n, d)");
  TORCH_CHECK(i >= 0 && i < q.size(2), "elu_linear_row: query out of range");
  const auto math = math_dtype(q);
  const auto fqi = feature_map(q.narrow(2, i, 1), math);                      // (b, h, 1, d)
  auto scores = torch::matmul(fqi, feature_map(k, math).transpose(2, 3)).squeeze(2);  // (b, h, n)
  if (causal && i + 1 < q.size(2)) scores.narrow(-1, i + 1, q.size(2) - i - 1).zero_();
  return scores / scores.sum(-1, true).clamp_min(kDenominatorFloor);
}

}  // namespace fmalens
