// What the core of `hone serve` adds to a model run: p50 / p99 of InferenceServer::infer (validation, queue, hand-off
// to an instance thread and back) against Session::run on the same input, for a lone client on an idle server.
// Runs alternate between the two, so drifting machine load hits both alike. Then closed-loop throughput of 64
// in-process clients for a few server configurations (batching off / on, instances x threads), without any wire
// protocol: the ceiling the front ends work under.
//
//   build/serve_core_overhead [MODEL.onnx ...]   (default: the Fashion-MNIST MLP and CNN fixtures)
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <string>
#include <vector>

#include "hone/hone.h"
#include "serve/inference_server.h"

using Clock = std::chrono::steady_clock;

namespace {

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

void measure(const std::string& path, int max_batch_size, int iterations) {
  hone::serve::ServerOptions options;
  options.defaults.max_batch_size = max_batch_size;
  hone::serve::InferenceServer server(options);
  server.add_model("m", path);
  // The same thread count as the server's one instance.
  hone::Session session = hone::Session::load(path, {.threads = hone::available_cores()});
  const hone::ValueInfo& in = session.inputs().at(0);
  hone::Shape shape;
  for (const hone::Dim& d : *in.type.shape) shape.push_back(d.known() ? d.value : 1);
  hone::Tensor x(in.type.elem, shape);
  std::vector<double> run_us, infer_us;
  for (int i = 0; i < iterations + 100; ++i) {
    auto t0 = Clock::now();
    session.run({{in.name, x}});
    auto t1 = Clock::now();
    hone::serve::InferRequest r;
    r.model = "m";
    r.inputs.push_back({in.name, x});
    server.infer(std::move(r));
    auto t2 = Clock::now();
    if (i < 100) continue;  // warm-up: plans, caches, thread start
    run_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    infer_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
  }
  fmt::print("{:<28} batch {} max_batch_size {:>2} threads {}: Session::run p50 {:7.1f} us p99 {:7.1f} | "
             "server.infer p50 {:7.1f} us p99 {:7.1f} | overhead p50 {:5.1f} us\n",
             path.substr(path.rfind('/') + 1), shape[0], max_batch_size, session.threads(), percentile(run_us, 0.5),
             percentile(run_us, 0.99), percentile(infer_us, 0.5), percentile(infer_us, 0.99),
             percentile(infer_us, 0.5) - percentile(run_us, 0.5));
}

void throughput(const std::string& path, int max_batch_size, int instances, int threads, int clients,
                double seconds) {
  hone::serve::ServerOptions options;
  options.defaults.max_batch_size = max_batch_size;
  options.defaults.instances = instances;
  options.defaults.threads = threads;
  hone::serve::InferenceServer server(options);
  server.add_model("m", path);
  hone::serve::ModelMetadata md = server.model_metadata("m", "");
  hone::Shape shape;
  for (int64_t d : md.inputs[0].shape) shape.push_back(d < 0 ? 1 : d);
  hone::Tensor x(hone::serve::dtype_from_kserve(md.inputs[0].datatype), shape);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(clients));
  std::vector<std::thread> pool;
  for (int c = 0; c < clients; ++c)
    pool.emplace_back([&, c] {
      while (!stop.load(std::memory_order_relaxed)) {
        hone::serve::InferRequest r;
        r.model = "m";
        r.inputs.push_back({md.inputs[0].name, x});
        auto t0 = Clock::now();
        server.infer(std::move(r));
        latencies[static_cast<size_t>(c)].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : pool) t.join();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  fmt::print("{:<28} {} clients, max_batch_size {:>2}, {} instance(s) x {} thread(s): {:8.0f} requests/s, "
             "p50 {:7.0f} us, p99 {:7.0f} us\n",
             path.substr(path.rfind('/') + 1), clients, max_batch_size, instances, threads,
             static_cast<double>(done.load()) / seconds, percentile(all, 0.5), percentile(all, 0.99));
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> models(argv + 1, argv + argc);
  if (models.empty())
    models = {HONE_SOURCE_DIR "/tests/fixtures/fashion_mnist_mlp.onnx",
              HONE_SOURCE_DIR "/tests/fixtures/fashion_mnist_cnn.onnx"};
  for (const std::string& m : models)
    for (int max_batch_size : {1, 8}) measure(m, max_batch_size, 2000);
  for (const std::string& m : models) {
    const int cores = hone::available_cores();
    throughput(m, 1, 1, cores, 64, 3);
    throughput(m, 8, 1, cores, 64, 3);
    throughput(m, 32, 1, cores, 64, 3);
    if (cores > 1) {
      throughput(m, 1, cores, 1, 64, 3);
      throughput(m, 8, cores, 1, 64, 3);
    }
  }
}
