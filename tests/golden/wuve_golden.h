// Golden weight update: one step of torch.optim.SGD(lr, momentum, dampening=0, weight_decay,
// nesterov=False) on one parameter tensor, as PyTorch's _single_tensor_sgd writes it, written
// independently of models/sat/wuve.cpp:
//   d_p = grad;  if wd != 0: d_p = d_p.add(p, alpha=wd)
//   buf = clone(d_p) on the first step, else buf.mul_(momentum).add_(d_p)
//   p.add_(buf, alpha=-lr)
// with the gradient first unscaled from FP16 (AMP's grad * inv_scale). Every operation rounds
// once to FP32, computed in double then narrowed: a product of two floats is exact in double,
// and a sum rounded to double then to float is still correctly rounded (53 >= 2 x 24 + 2);
// this also keeps the compiler from fusing a multiply-add.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include <Imath/half.h>

namespace cestvp::golden {

struct SgdParams {
  float lr = 0, momentum = 0, weight_decay = 0, grad_scale = 1;  // momentum != 0
};

struct SgdState {
  std::vector<float> weight, buffer;
  bool started = false;  // false: no momentum buffer yet (PyTorch's first step)
};

inline float fp32(double x) { return static_cast<float>(x); }

inline void sgd_step(SgdState& s, const std::vector<std::uint16_t>& grad16, const SgdParams& p) {
  s.buffer.resize(s.weight.size());
  for (std::size_t i = 0; i < s.weight.size(); ++i) {
    Imath::half h;
    h.setBits(grad16[i]);
    float d_p = fp32(double{static_cast<float>(h)} * p.grad_scale);
    if (p.weight_decay != 0) d_p = fp32(double{d_p} + fp32(double{p.weight_decay} * s.weight[i]));
    s.buffer[i] = s.started ? fp32(double{fp32(double{s.buffer[i]} * p.momentum)} + d_p) : d_p;
    s.weight[i] = fp32(double{s.weight[i]} + fp32(double{-p.lr} * s.buffer[i]));
  }
  s.started = true;
}

}  // namespace cestvp::golden
