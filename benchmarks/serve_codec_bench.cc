// The REST codec on `hone serve`'s hot path: decoding an infer request and encoding its reply, as the HTTP front
// end does for every request, for the Fashion-MNIST CNN's [1,1,28,28] float32 image (784 values, 3136 bytes) and its
// [1,10] logits, with JSON tensors and with the binary-tensor extension. Reported per request, with the request
// body's bytes per second.
//
//   build/serve_codec_bench [--benchmark_filter=REGEX] [--benchmark_min_time=0.5]
#include <benchmark/benchmark.h>

#include <random>

#include "serve/kserve_json.h"

namespace {

using namespace hone;
using namespace hone::serve;

Tensor random_tensor(Shape shape, uint64_t seed) {
  Tensor t(DType::Float32, std::move(shape));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& v : t.span<float>()) v = u(rng);
  return t;
}

void request_and_reply(benchmark::State& state, bool binary) {
  InferRequest req;
  req.model = "cnn";
  req.inputs.push_back({"input", random_tensor({1, 1, 28, 28}, 1)});
  EncodedBody wire = encode_infer_request(req, binary);
  InferResponse resp{"cnn", "1", "", {{"logits", random_tensor({1, 10}, 2)}}};
  size_t bytes = 0;
  for (auto _ : state) {
    DecodedInferRequest d = decode_infer_request(wire.body, wire.json_length);
    EncodedBody reply = encode_infer_response(resp, d.encoding);
    benchmark::DoNotOptimize(reply.body.data());
    bytes += wire.body.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["request_bytes"] = static_cast<double>(wire.body.size());
}

void BM_CnnRequestJson(benchmark::State& state) { request_and_reply(state, false); }
void BM_CnnRequestBinary(benchmark::State& state) { request_and_reply(state, true); }

// The halves alone, to see where the JSON time goes.
void BM_DecodeJsonOnly(benchmark::State& state) {
  InferRequest req;
  req.inputs.push_back({"input", random_tensor({1, 1, 28, 28}, 1)});
  EncodedBody wire = encode_infer_request(req, false);
  for (auto _ : state) benchmark::DoNotOptimize(decode_infer_request(wire.body, std::nullopt));
}
void BM_EncodeJsonReplyOnly(benchmark::State& state) {
  InferResponse resp{"cnn", "1", "", {{"logits", random_tensor({1, 10}, 2)}}};
  OutputEncoding as_json;
  for (auto _ : state) benchmark::DoNotOptimize(encode_infer_response(resp, as_json));
}

BENCHMARK(BM_CnnRequestJson);
BENCHMARK(BM_CnnRequestBinary);
BENCHMARK(BM_DecodeJsonOnly);
BENCHMARK(BM_EncodeJsonReplyOnly);

}  // namespace

BENCHMARK_MAIN();
