/* MPI start-up and end under AddressSanitizer, for the mains run under
 * mpiexec (examples/common/cluster.cpp, tests/mpi/): Open MPI 4.1 keeps some
 * allocations of MPI_Init unfreed, many made by components it unloads again
 * at MPI_Finalize (their stacks then end in "unknown module"). So MPI_Init's
 * allocations on this thread are left out of the leak check, and the check
 * runs before MPI_Finalize, while Open MPI is still loaded; everything else
 * is checked (docs/distributed.md). C and C++; nothing without ASan. */
#ifndef NABLA_EXAMPLES_COMMON_MPI_LEAK_CHECK_H
#define NABLA_EXAMPLES_COMMON_MPI_LEAK_CHECK_H

#include <mpi.h>

/* GCC defines __SANITIZE_ADDRESS__ under ASan; clang 19 does not, and tells
 * it through __has_feature instead. */
#if defined(__SANITIZE_ADDRESS__)
#define NABLA_MPI_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NABLA_MPI_ASAN 1
#endif
#endif

#if defined(NABLA_MPI_ASAN)
#include <sanitizer/lsan_interface.h>
#define NABLA_LSAN(call) call
#else
#define NABLA_LSAN(call)
#endif

/* MPI_Init_thread at MPI_THREAD_SERIALIZED. */
static inline void nabla_mpi_init_serialized(int* argc, char*** argv) {
  int provided = 0;
  NABLA_LSAN(__lsan_disable());
  MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
  NABLA_LSAN(__lsan_enable());
}

/* The leak check (under ASan), then MPI_Finalize. */
static inline void nabla_mpi_finalize_checked(void) {
  NABLA_LSAN(__lsan_do_leak_check());
  MPI_Finalize();
}

#endif
