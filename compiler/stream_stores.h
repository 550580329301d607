#pragma once
// Streaming (non-temporal) stores for elementwise kernels whose results are
// larger than the last-level cache. An ordinary store first reads the line it
// writes (read for ownership), so a kernel that reads x and writes y moves
// three bytes of memory per byte of y; a non-temporal store writes the line
// without reading it and without keeping it in cache. On x86 a non-temporal
// vector store must be aligned to its size, so the kernel's range is split:
// the ordinary loop up to the first element where every result is aligned,
// a vector loop with non-temporal stores, and the ordinary loop for the rest.
// docs/backend.md#streaming-stores.
#include <functional>
#include <span>

namespace llvm {
class Value;
}

namespace nabla {

struct ElementProgram;
struct KernelEnv;
struct LoopNest;

// True when the kernel can stream: the module's target is x86-64;
// options.stream_store_bytes > 0 and its results take at least that many bytes; one contiguous loop (the nest merged
// to one axis, every operand read contiguously or as a scalar); one float
// dtype for every operand and result; no libm calls.
bool can_stream(const KernelEnv& env, const ElementProgram& p, const LoopNest& nest);

// Emits the kernel's range [env.begin, env.end) as described above.
// regular(lo, hi) emits the ordinary loop over [lo, hi); results are the
// result pointers (one per value of p); interleave is the number of vectors
// each iteration of the streaming loop computes.
void emit_streaming(KernelEnv& env, const ElementProgram& p, const LoopNest& nest,
                    std::span<llvm::Value* const> leaf_ptrs, std::span<llvm::Value* const> results,
                    const std::function<void(llvm::Value*, llvm::Value*)>& regular, int interleave);

}  // namespace nabla
