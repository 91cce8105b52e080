// parse + validate throughput (docs/performance.md "Targets": >= 10,000 app.toml files per second
// per core). Each iteration is one whole file through parse_app, the same call `portway validate`
// and `portway apply` make; the files are the shipped examples plus a 12-port app.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/app_parser.h"

namespace {

std::string read_example(const std::string& name) {
  std::ifstream in(std::string(PORTWAY_EXAMPLES_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string large_app() {
  std::string t = "name = \"big\"\n";
  for (int s = 0; s < 4; ++s) {
    t += "[services.svc" + std::to_string(s) + "]\ncommand = \"./run\"\n";
    for (int p = 0; p < 3; ++p) {
      const int port = 7000 + s * 10 + p;
      t += "[[services.svc" + std::to_string(s) + ".ports]]\nport = " + std::to_string(port) +
           "\nname = \"p" + std::to_string(p) + "\"\ntype = \"" + (p == 1 ? "udp" : "tcp") +
           "\"\nnode_port = " + std::to_string(30000 + port) + "\n";
    }
  }
  return t;
}

void parse_files(benchmark::State& state, const std::vector<std::string>& files) {
  const portway::config::ValidationOptions options;
  std::size_t bytes = 0;
  for (auto _ : state) {
    for (const std::string& f : files) {
      auto out = portway::config::parse_app(f, "app.toml", options);
      if (!out.ok()) state.SkipWithError("benchmark input is invalid");
      benchmark::DoNotOptimize(out);
      bytes += f.size();
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * files.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}

void BM_ParseValidate_Examples(benchmark::State& state) {
  static const std::vector<std::string> files{
      read_example("irc.toml"), read_example("tcp-echo.toml"), read_example("game.toml"),
      read_example("dns.toml"), read_example("legacy-worker.toml")};
  parse_files(state, files);
}
BENCHMARK(BM_ParseValidate_Examples);

void BM_ParseValidate_TwelvePortApp(benchmark::State& state) {
  static const std::vector<std::string> files{large_app()};
  parse_files(state, files);
}
BENCHMARK(BM_ParseValidate_TwelvePortApp);

void BM_ParseValidate_InvalidFile(benchmark::State& state) {
  static const std::string bad =
      "name = \"Bad\"\n[services.s]\nport = 1\n[[services.s.ports]]\nport = 0\nprotocol = \"udp\"\n";
  const portway::config::ValidationOptions options;
  for (auto _ : state) benchmark::DoNotOptimize(portway::config::parse_app(bad, "f", options));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_ParseValidate_InvalidFile);

}  // namespace

BENCHMARK_MAIN();
