#include "nabla/compiler/stream_stores.h"

#include <algorithm>

#include <llvm/IR/IntrinsicsX86.h>
#include <llvm/IR/Module.h>
#include <llvm/TargetParser/Triple.h>

#include "nabla/compiler/element_program.h"
#include "nabla/compiler/kernel_builder.h"
#include "nabla/compiler/loop_nest.h"
#include "nabla/compiler/lower.h"

namespace nabla {

bool can_stream(const KernelEnv& env, const ElementProgram& p, const LoopNest& nest) {
  const LowerOptions& o = env.kb.options;
  if (o.stream_store_bytes <= 0 || nest.shape.size() != 1 || calls_libm(p) || !p.gathers.empty()) return false;
  // The module's target (compiler/codegen.h, prepare_module): the loop ends in x86's sfence.
  if (llvm::Triple(env.kb.module.getTargetTriple()).getArch() != llvm::Triple::x86_64) return false;
  DType t = p.values[0]->dtype();
  if (!is_float(t) || o.vector_bits / 8 < 2 * static_cast<int>(dtype_size(t))) return false;
  for (const Node* v : p.values)
    if (v->dtype() != t) return false;
  for (const Node* l : p.leaves)
    if (l->dtype() != t) return false;
  // Accessors: the leaves, then the results (which share one).
  for (size_t a = 0; a < nest.strides.size(); ++a) {
    int64_t s = nest.strides[a][0];
    bool ok = a < p.leaves.size() ? s == 0 || s == 1 : s == 1 && nest.offsets[a] == 0;
    if (!ok) return false;
  }
  int64_t bytes = nest.numel() * dtype_size(t) * static_cast<int64_t>(p.values.size());
  return bytes >= o.stream_store_bytes;
}

namespace {

// x86-64's base page, and how far ahead of the stores the loop touches the
// pages it will write (see prefetch_page_ahead).
constexpr int64_t kPageBytes = 4096;
constexpr int64_t kPagesAhead = 2;

// A prefetch (non-temporal) of the first line of the page kPagesAhead pages
// after `ptr`'s, so that the page walk is done before the stores get there:
// with 4 KiB pages, non-temporal stores waiting for page walks cost a long
// loop 5-15% of its time (docs/backend.md, "Streaming stores"). A prefetch
// never faults, so it may run past the end of the results.
void prefetch_page_ahead(KernelBuilder& kb, llvm::Value* ptr) {
  auto& b = kb.b;
  llvm::Value* address = b.CreatePtrToInt(ptr, kb.i64_type());
  llvm::Value* target = b.CreateAnd(b.CreateAdd(address, kb.i64(kPagesAhead * kPageBytes)), kb.i64(-kPageBytes));
  llvm::Value* ahead = b.CreateGEP(b.getInt8Ty(), ptr, b.CreateSub(target, address));
  b.CreateIntrinsic(llvm::Intrinsic::prefetch, {ahead->getType()},
                    {ahead, b.getInt32(0), b.getInt32(0), b.getInt32(1)});  // read, no locality, data
}

// The vector loop over [from, to) (a whole number of iterations, every
// result aligned at `from`): `interleave` vectors per iteration, loaded
// unaligned, computed by the element program on vectors, stored
// non-temporally.
void emit_vector_loop(KernelBuilder& kb, const ElementProgram& p, const LoopNest& nest,
                      std::span<llvm::Value* const> leaf_ptrs, std::span<llvm::Value* const> results,
                      llvm::Value* from, llvm::Value* to, int64_t lanes, int interleave) {
  auto& b = kb.b;
  DType t = p.values[0]->dtype();
  int64_t size = dtype_size(t);
  llvm::Type* vector = llvm::FixedVectorType::get(kb.value_type(t), static_cast<unsigned>(lanes));
  llvm::MDNode* nontemporal = llvm::MDNode::get(kb.ctx, llvm::ConstantAsMetadata::get(b.getInt32(1)));
  // A leaf read with stride 0 is one scalar for every element: splat it once.
  std::vector<llvm::Value*> splats(p.leaves.size());
  for (size_t l = 0; l < p.leaves.size(); ++l)
    if (nest.strides[l][0] == 0)
      splats[l] = b.CreateVectorSplat(static_cast<unsigned>(lanes), kb.load(t, leaf_ptrs[l], kb.i64(nest.offsets[l])));
  ScalarLoops already_vectors(kb, true);  // no vectorizing or unrolling of this loop
  int64_t step = lanes * interleave;
  auto vectors = [&](llvm::Value* i) {
    std::vector<llvm::Value*> at(static_cast<size_t>(interleave));  // each vector's first element
    std::vector<std::vector<llvm::Value*>> leaves(at.size());
    for (size_t u = 0; u < at.size(); ++u) {
      at[u] = b.CreateAdd(i, kb.i64(static_cast<int64_t>(u) * lanes));
      for (size_t l = 0; l < p.leaves.size(); ++l) {
        if (splats[l]) {
          leaves[u].push_back(splats[l]);
          continue;
        }
        llvm::Value* ptr = kb.element_ptr(t, leaf_ptrs[l], b.CreateAdd(kb.i64(nest.offsets[l]), at[u]));
        leaves[u].push_back(b.CreateAlignedLoad(vector, ptr, llvm::Align(size)));
      }
    }
    std::vector<std::vector<llvm::Value*>> values = compute_program(kb, p, leaves);
    for (size_t u = 0; u < at.size(); ++u) {
      for (size_t r = 0; r < results.size(); ++r) {
        llvm::StoreInst* s =
            b.CreateAlignedStore(values[u][r], kb.element_ptr(t, results[r], at[u]), llvm::Align(lanes * size));
        s->setMetadata(llvm::LLVMContext::MD_nontemporal, nontemporal);
      }
    }
  };
  // An outer loop over a page's worth of elements at a time, which touches
  // the pages ahead of the stores (prefetch_page_ahead).
  int64_t chunk = std::max<int64_t>(step, kPageBytes / size / step * step);
  kb.loop(from, to, [&](llvm::Value* c) {
    for (llvm::Value* r : results) prefetch_page_ahead(kb, kb.element_ptr(t, r, c));
    llvm::Value* chunk_end = b.CreateAdd(c, kb.i64(chunk));
    kb.loop(c, b.CreateSelect(b.CreateICmpSLT(chunk_end, to), chunk_end, to), vectors, step, "s");
  }, chunk, "page");
}

}  // namespace

void emit_streaming(KernelEnv& env, const ElementProgram& p, const LoopNest& nest,
                    std::span<llvm::Value* const> leaf_ptrs, std::span<llvm::Value* const> results,
                    const std::function<void(llvm::Value*, llvm::Value*)>& regular, int interleave) {
  KernelBuilder& kb = env.kb;
  auto& b = kb.b;
  int64_t size = dtype_size(p.values[0]->dtype());
  int64_t lanes = kb.options.vector_bits / 8 / size;
  // A non-temporal store needs its vector's alignment. The streaming loop
  // starts at a cache line (or vector, if wider), which also keeps the head's
  // ordinary stores off the lines it streams.
  int64_t align = std::max<int64_t>(lanes * size, 64);
  int64_t step = lanes * interleave;
  llvm::Value* begin = env.begin ? env.begin : kb.i64(0);
  llvm::Value* end = env.end ? env.end : kb.i64(nest.numel());

  // mid: the first element at or after begin where the first result is
  // aligned; the streaming loop runs when every result is aligned there.
  auto misalignment = [&](llvm::Value* base, llvm::Value* index) {
    llvm::Value* address = b.CreateAdd(b.CreatePtrToInt(base, kb.i64_type()), b.CreateMul(index, kb.i64(size)));
    return b.CreateAnd(address, kb.i64(align - 1));
  };
  llvm::Value* peel_bytes = b.CreateAnd(b.CreateSub(kb.i64(align), misalignment(results[0], begin)), kb.i64(align - 1));
  llvm::Value* mid = b.CreateAdd(begin, b.CreateUDiv(peel_bytes, kb.i64(size)));
  llvm::Value* ok = b.CreateICmpSLE(mid, end);
  for (llvm::Value* r : results) ok = b.CreateAnd(ok, b.CreateICmpEQ(misalignment(r, mid), kb.i64(0)));

  kb.when(b.CreateNot(ok), [&] { regular(begin, end); });
  kb.when(ok, [&] {
    llvm::Value* whole = b.CreateMul(b.CreateSDiv(b.CreateSub(end, mid), kb.i64(step)), kb.i64(step));
    llvm::Value* vector_end = b.CreateAdd(mid, whole);
    // The head (less than a line) and the tail (less than an iteration) are
    // short: scalar loops, which keep the kernel's compile time down.
    ScalarLoops short_loops(kb, true);
    regular(begin, mid);
    emit_vector_loop(kb, p, nest, leaf_ptrs, results, mid, vector_end, lanes, interleave);
    // Non-temporal stores are weakly ordered: fence them before the kernel
    // returns (and the thread pool reports the task done).
    b.CreateIntrinsic(llvm::Intrinsic::x86_sse_sfence, {}, {});
    regular(vector_end, end);
  });
}

}  // namespace nabla
