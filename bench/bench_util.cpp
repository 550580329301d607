#include "bench/bench_util.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace nabla::bench {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::vector<std::pair<std::string, double>> run_results(const std::string& cmd) {
  std::printf("$ %s\n", cmd.c_str());
  std::fflush(stdout);
  std::vector<std::pair<std::string, double>> results;
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen((cmd + " 2>&1").c_str(), "r"), pclose);
  char line[512], name[128];
  while (p && std::fgets(line, sizeof line, p.get())) {
    std::fputs(line, stdout);
    double v;
    if (std::sscanf(line, "RESULT %127s %lf", name, &v) == 2) results.emplace_back(name, v);
  }
  std::fflush(stdout);
  return results;
}

std::vector<std::string> torch_blas_envs(int threads) {
  std::vector<std::string> envs = {""};
  const std::string openblas = "/usr/lib/x86_64-linux-gnu/openblas-pthread";
  if (FILE* f = std::fopen((openblas + "/libblas.so.3").c_str(), "r")) {
    std::fclose(f);
    envs.push_back("LD_LIBRARY_PATH=" + openblas + " OPENBLAS_NUM_THREADS=" + std::to_string(threads) + " ");
  }
  return envs;
}

bool parse_bench_args(int argc, char** argv, const char* usage, BenchArgs& args,
                      const std::function<bool(char**, int&)>& extra) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) {
      args.quick = true;
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      args.threads.clear();
      for (char* p = std::strtok(argv[++i], ","); p; p = std::strtok(nullptr, ",")) args.threads.push_back(std::atoi(p));
    } else if (!extra || !extra(argv, i)) {
      std::fprintf(stderr, "usage: %s\n", usage);
      return false;
    }
  }
  return true;
}

}  // namespace nabla::bench
