// Activation functions of the recurrent ops (RNN, GRU, LSTM), named by the `activations` attribute with their
// alpha/beta from `activation_alpha`/`activation_beta`, consumed in order by the activations that take them.
#pragma once
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "ops/op_helpers.h"

namespace hone {

struct RnnActivation {
  enum class Kind { Relu, Tanh, Sigmoid, Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, HardSigmoid, Elu, Softsign, Softplus };
  Kind kind = Kind::Tanh;
  double alpha = 0, beta = 0;

  double operator()(double x) const {
    switch (kind) {
      case Kind::Relu: return x > 0 ? x : 0;
      case Kind::Tanh: return std::tanh(x);
      case Kind::Sigmoid: return 1 / (1 + std::exp(-x));
      case Kind::Affine: return alpha * x + beta;
      case Kind::LeakyRelu: return x >= 0 ? x : alpha * x;
      case Kind::ThresholdedRelu: return x > alpha ? x : 0;
      case Kind::ScaledTanh: return alpha * std::tanh(beta * x);
      case Kind::HardSigmoid: return std::clamp(alpha * x + beta, 0.0, 1.0);
      case Kind::Elu: return x >= 0 ? x : alpha * (std::exp(x) - 1);
      case Kind::Softsign: return x / (1 + std::fabs(x));
      case Kind::Softplus: return x > 30 ? x : std::log1p(std::exp(x));
    }
    return x;
  }
};

// The activations of every direction: `per_direction` functions for each of `directions`; `defaults` when the
// attribute is absent. A list for one direction is repeated for the second (as ONNX Runtime accepts).
inline std::vector<RnnActivation> parse_rnn_activations(const Node& node, const std::vector<std::string>& defaults,
                                                        int directions) {
  struct Info {
    const char* name;
    RnnActivation::Kind kind;
    int uses_alpha, uses_beta;
    double alpha, beta;  // defaults
  };
  static const Info kInfos[] = {
      {"relu", RnnActivation::Kind::Relu, 0, 0, 0, 0},
      {"tanh", RnnActivation::Kind::Tanh, 0, 0, 0, 0},
      {"sigmoid", RnnActivation::Kind::Sigmoid, 0, 0, 0, 0},
      {"affine", RnnActivation::Kind::Affine, 1, 1, 1.0, 0.0},
      {"leakyrelu", RnnActivation::Kind::LeakyRelu, 1, 0, 0.01, 0},
      {"thresholdedrelu", RnnActivation::Kind::ThresholdedRelu, 1, 0, 1.0, 0},
      {"scaledtanh", RnnActivation::Kind::ScaledTanh, 1, 1, 1.0, 1.0},
      {"hardsigmoid", RnnActivation::Kind::HardSigmoid, 1, 1, 0.2, 0.5},
      {"elu", RnnActivation::Kind::Elu, 1, 0, 1.0, 0},
      {"softsign", RnnActivation::Kind::Softsign, 0, 0, 0, 0},
      {"softplus", RnnActivation::Kind::Softplus, 0, 0, 0, 0},
  };
  size_t per_direction = defaults.size();
  std::vector<std::string> names = node.attr_strings("activations");
  if (names.empty()) {
    for (int d = 0; d < directions; ++d) names.insert(names.end(), defaults.begin(), defaults.end());
  } else if (names.size() == per_direction && directions == 2) {
    std::vector<std::string> twice = names;
    names.insert(names.end(), twice.begin(), twice.end());
  }
  if (names.size() != per_direction * static_cast<size_t>(directions))
    fail("{}: 'activations' lists {} functions, expected {}", node.label(), names.size(),
         per_direction * static_cast<size_t>(directions));
  std::vector<float> alphas = node.attr_floats("activation_alpha"), betas = node.attr_floats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  std::vector<RnnActivation> out;
  for (const std::string& raw : names) {
    std::string name = raw;
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const Info* info = nullptr;
    for (const Info& i : kInfos)
      if (name == i.name) info = &i;
    if (!info) fail("{}: unsupported activation '{}'", node.label(), raw);
    RnnActivation a;
    a.kind = info->kind;
    a.alpha = info->alpha;
    a.beta = info->beta;
    if (info->uses_alpha && next_alpha < alphas.size()) a.alpha = alphas[next_alpha++];
    if (info->uses_beta && next_beta < betas.size()) a.beta = betas[next_beta++];
    out.push_back(a);
  }
  return out;
}

}  // namespace hone
