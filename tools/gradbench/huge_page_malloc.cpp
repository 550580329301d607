#include "tools/gradbench/huge_page_malloc.h"

#include <cstdlib>
#include <string>

#include <unistd.h>

namespace nabla::gradbench {

void use_huge_page_malloc(char** argv) {
#if defined(__linux__) && defined(__GLIBC__)
  const char* set = std::getenv("GLIBC_TUNABLES");
  std::string tunables = set ? set : "";
  if (tunables.find("glibc.malloc.hugetlb") != std::string::npos) return;
  tunables += tunables.empty() ? "glibc.malloc.hugetlb=1" : ":glibc.malloc.hugetlb=1";
  if (setenv("GLIBC_TUNABLES", tunables.c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only on failure: go on with the default malloc
#else
  (void)argv;
#endif
}

}  // namespace nabla::gradbench
