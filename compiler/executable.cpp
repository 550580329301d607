// Executable: argument checks, the call through the kernel ABI, and the
// translation of error statuses into nabla errors.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include <fmt/format.h>
#include <llvm/ADT/SmallVector.h>

#include "nabla/compiler/executable_impl.h"
#include "nabla/ir/printer.h"
#include "nabla/ir/interpreter.h"
#include "nabla/runtime/communicator.h"
#include "nabla/runtime/error.h"
#include "nabla/runtime/large_alloc.h"

namespace nabla {

std::shared_ptr<ThreadPool> shared_thread_pool(int num_threads) {
  static std::mutex mutex;
  static std::map<int, std::weak_ptr<ThreadPool>> pools;
  std::lock_guard<std::mutex> lock(mutex);
  std::shared_ptr<ThreadPool> pool = pools[num_threads].lock();
  if (!pool) {
    pool = std::make_shared<ThreadPool>(num_threads);
    pools[num_threads] = pool;
  }
  return pool;
}

WorkspacePool::~WorkspacePool() { free_owned(); }

void WorkspacePool::free_owned() {
  for (void* p : free_)
    if (p != lent_) std::free(p);
}

void WorkspacePool::lend(void* data) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_owned();
  free_.assign(1, data);
  lent_ = data;
}

void WorkspacePool::init(size_t bytes, const std::string& what) {
  bytes_ = (bytes + NABLA_WORKSPACE_ALIGN - 1) / NABLA_WORKSPACE_ALIGN * NABLA_WORKSPACE_ALIGN;
  what_ = what;
  if (bytes_ > 0) free_.push_back(allocate());
}

// From 4 MiB on on huge pages (runtime/large_alloc.h): a run's first touch of
// the workspace pays a page fault per page (ba10's jacobian, 0.5 GB of
// workspace: about 1.2 s on 4 KiB pages here).
void* WorkspacePool::allocate() {
  void* p = aligned_alloc_large(NABLA_WORKSPACE_ALIGN, bytes_);
  if (!p) throw Error(fmt::format("{}: cannot allocate a workspace of {} bytes", what_, bytes_));
  return p;
}

WorkspacePool::Lease WorkspacePool::take_one() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!free_.empty()) {
      void* p = free_.back();
      free_.pop_back();
      return Lease(*this, p);
    }
  }
  return Lease(*this, allocate());  // another run holds each one
}

void WorkspacePool::give_back(void* data) {
  std::lock_guard<std::mutex> lock(mutex_);
  free_.push_back(data);
}

Executable::Executable() = default;
Executable::~Executable() = default;
Executable::Executable(Executable&&) noexcept = default;
Executable& Executable::operator=(Executable&&) noexcept = default;

namespace {

const Executable::Impl& checked(const std::unique_ptr<Executable::Impl>& impl) {
  if (!impl) throw Error("executable: empty (not the result of compile)");
  return *impl;
}

bool overlap(const Tensor& a, const Tensor& b) {
  if (a.nbytes() == 0 || b.nbytes() == 0) return false;
  auto* pa = static_cast<const std::byte*>(a.data());
  auto* pb = static_cast<const std::byte*>(b.data());
  return pa < pb + b.nbytes() && pb < pa + a.nbytes();
}

bool misaligned(const Tensor& t) {
  return t.nbytes() > 0 && reinterpret_cast<uintptr_t>(t.data()) % dtype_size(t.dtype()) != 0;
}

}  // namespace

const std::string& Executable::name() const { return checked(impl_).function->name(); }
const std::vector<TensorType>& Executable::input_types() const { return checked(impl_).input_types; }
const std::vector<TensorType>& Executable::output_types() const { return checked(impl_).output_types; }
const std::vector<std::string>& Executable::input_names() const { return checked(impl_).input_names; }
int64_t Executable::workspace_bytes() const { return checked(impl_).plan.workspace_bytes; }
int64_t Executable::intermediate_bytes() const { return checked(impl_).plan.intermediate_bytes; }
int64_t Executable::peak_live_bytes() const { return checked(impl_).plan.peak_live_bytes; }
int Executable::num_threads() const { return checked(impl_).num_threads; }
const CompileStats& Executable::stats() const { return checked(impl_).stats; }
const Function& Executable::function() const { return *checked(impl_).function; }
nabla_entry_fn Executable::entry() const { return checked(impl_).entry; }
// Computed when asked (data-parallel start-up): the text of a function with
// large constants takes long to print (ba3's jacobian: 56 MB of them).
uint64_t Executable::program_hash() const {
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a of the compiled function's text
  for (unsigned char c : print(*checked(impl_).function)) hash = (hash ^ c) * 0x100000001b3ull;
  return hash;
}
void Executable::set_workspace(void* data, int64_t bytes) {
  checked(impl_);
  Impl& impl = *impl_;
  if (bytes < impl.plan.workspace_bytes || (!data && impl.plan.workspace_bytes > 0))
    throw Error(fmt::format("{}: the workspace given has {} bytes, the function needs {}", name(), bytes,
                            impl.plan.workspace_bytes));
  if (reinterpret_cast<uintptr_t>(data) % NABLA_WORKSPACE_ALIGN != 0)
    throw Error(fmt::format("{}: the workspace given is not {}-byte aligned", name(), NABLA_WORKSPACE_ALIGN));
  impl.workspaces.lend(data);
}
const nabla_communicator* Executable::communicator() const { return checked(impl_).comm; }
void Executable::set_communicator(const nabla_communicator* comm) {
  checked(impl_);
  impl_->comm = comm;
}

namespace {

// The checks of run() in their order, each throwing its message: run calls
// this only when the fast pass below found a problem.
[[noreturn, gnu::cold, gnu::noinline]] void check_slowly(const Executable::Impl& impl, std::span<const Tensor> inputs,
                                                          std::span<Tensor> outputs) {
  const Function& f = *impl.function;
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_input(f, i, inputs[i]);
    if (misaligned(inputs[i]))
      throw Error(fmt::format("@{}: input %{} is not aligned to its element size ({} bytes)", f.name(),
                              impl.input_names[i], dtype_size(inputs[i].dtype())));
  }
  for (size_t j = 0; j < outputs.size(); ++j) {
    const Tensor& out = outputs[j];
    const TensorType& want = impl.output_types[j];
    if (type_of(out) != want)
      throw Error(fmt::format("@{}: result {} is {}, but the output tensor is {}", f.name(), j, want.str(),
                              type_of(out).str()));
    if (misaligned(out))
      throw Error(fmt::format("@{}: output tensor {} is not aligned to its element size ({} bytes)", f.name(),
                              j, dtype_size(out.dtype())));
    for (size_t i = 0; i < inputs.size(); ++i)
      if (overlap(out, inputs[i]))
        throw Error(fmt::format("@{}: output tensor {} overlaps input %{}", f.name(), j, impl.input_names[i]));
    for (size_t k = 0; k < j; ++k)
      if (overlap(out, outputs[k]))
        throw Error(fmt::format("@{}: output tensors {} and {} overlap", f.name(), k, j));
  }
  throw InternalError(fmt::format("@{}: run's argument checks disagree", f.name()));
}

// Whether t has the argument's dtype and shape and is aligned to its element
// size: inline, so that a cold call touches no other code page (no memcmp, no
// num_elements).
[[gnu::always_inline]] inline bool matches(const Tensor& t, const ArgSpec& s, const int64_t* dims) {
  if (!t.defined() || t.dtype() != s.dtype || t.shape().size() != s.rank) return false;
  const int64_t* d = t.shape().data();
  for (uint32_t i = 0; i < s.rank; ++i)
    if (d[i] != dims[i]) return false;
  return s.bytes == 0 || reinterpret_cast<uintptr_t>(t.data()) % s.elem == 0;
}

// An argument's bytes, [begin, end).
struct ByteRange {
  uintptr_t begin, end;
  bool output;
};

// Whether an output shares a byte with an input or another output (inputs
// may share bytes among themselves): one sweep over the ranges by address.
bool sweep_overlaps(llvm::SmallVectorImpl<ByteRange>& ranges) {
  std::sort(ranges.begin(), ranges.end(), [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; });
  uintptr_t end_any = 0, end_output = 0;
  for (const ByteRange& r : ranges) {
    if (r.begin < (r.output ? end_any : end_output)) return true;
    end_any = std::max(end_any, r.end);
    if (r.output) end_output = std::max(end_output, r.end);
  }
  return false;
}

// The same answer: pairwise when there are few arguments (no sort), else the
// sweep.
bool any_output_overlaps(llvm::SmallVectorImpl<ByteRange>& ranges) {
  if (ranges.size() > 8) return sweep_overlaps(ranges);
  for (size_t j = 0; j < ranges.size(); ++j)
    for (size_t k = 0; ranges[j].output && k < ranges.size(); ++k)
      if (k != j && (k < j || !ranges[k].output) && ranges[j].begin < ranges[k].end &&
          ranges[k].begin < ranges[j].end)
        return true;
  return false;
}

// run()'s argument checks without allocating (a call's overhead was mostly
// these: 1.3 us for the MLP step's 15 tensors, bench/call_bench.cpp), from
// impl.signature: fills the pointer arrays, allocates undefined outputs, and
// returns false at the first check that fails.
bool arguments_ok(const Executable::Impl& impl, std::span<const Tensor> inputs, std::span<Tensor> outputs,
                  llvm::SmallVectorImpl<const void*>& in_ptrs, llvm::SmallVectorImpl<void*>& out_ptrs) {
  llvm::SmallVector<ByteRange, 32> ranges;
  const ArgSpec* spec = impl.signature.data();
  const int64_t* dims = impl.signature_dims.data();
  auto add = [&](const Tensor& t, const ArgSpec& s, bool output) {
    __builtin_prefetch(t.data());  // its first line and page, while the checks go on
    auto begin = reinterpret_cast<uintptr_t>(t.data());
    if (s.bytes > 0) ranges.push_back({begin, begin + s.bytes, output});
  };
  for (size_t i = 0; i < inputs.size(); ++i, ++spec) {
    if (!matches(inputs[i], *spec, dims + spec->dims)) return false;
    add(inputs[i], *spec, false);
    in_ptrs.push_back(inputs[i].data());
  }
  for (size_t j = 0; j < outputs.size(); ++j, ++spec) {
    Tensor& out = outputs[j];
    if (!out.defined()) out = Tensor(impl.output_types[j].dtype, impl.output_types[j].shape);
    if (!matches(out, *spec, dims + spec->dims)) return false;
    add(out, *spec, true);
    out_ptrs.push_back(out.data());
  }
  return !any_output_overlaps(ranges);
}

}  // namespace

void make_signature(Executable::Impl& impl) {
  impl.num_inputs = impl.input_types.size();
  impl.signature.clear();
  impl.signature_dims.clear();
  for (const auto* types : {&impl.input_types, &impl.output_types})
    for (const TensorType& t : *types) {
      ArgSpec s{t.dtype, static_cast<uint32_t>(t.shape.size()), static_cast<uint32_t>(impl.signature_dims.size()),
                static_cast<uint32_t>(dtype_size(t.dtype)), static_cast<size_t>(t.numel()) * dtype_size(t.dtype)};
      impl.signature.push_back(s);
      impl.signature_dims.insert(impl.signature_dims.end(), t.shape.begin(), t.shape.end());
    }
}

namespace {

// run()'s failures, out of its way (a call that succeeds runs none of this code).
[[noreturn, gnu::cold, gnu::noinline]] void throw_counts(const Executable::Impl& impl, size_t inputs, size_t outputs) {
  const std::string& name = impl.function->name();
  size_t want_in = impl.input_types.size(), want_out = impl.output_types.size();
  if (inputs != want_in)
    throw Error(fmt::format("@{}: expected {} input{}, got {}", name, want_in, want_in == 1 ? "" : "s", inputs));
  throw Error(fmt::format("@{}: expected {} output tensor{}, got {}", name, want_out, want_out == 1 ? "" : "s",
                          outputs));
}

[[noreturn, gnu::cold, gnu::noinline]] void throw_status(const Executable::Impl& impl, int32_t status,
                                                          const nabla_context& ctx) {
  const nabla_error_info& e = ctx.error;
  const Node* node = e.node >= 0 && static_cast<size_t>(e.node) < impl.nodes.size() ? impl.nodes[e.node] : nullptr;
  if (status == NABLA_COLLECTIVE_FAILED)
    throw EvaluationError(fmt::format("all_reduce: {}", collective_error(communicator_or_single(impl.comm))), node);
  if (status == NABLA_LABEL_OUT_OF_RANGE || status == NABLA_INDEX_OUT_OF_RANGE ||
      status == NABLA_TRIP_COUNT_EXCEEDED || status == NABLA_TRIP_COUNT_OUT_OF_RANGE) {
    char message[256];
    nabla_error_message(&e, message, sizeof message);
    throw EvaluationError(message, node);
  }
  throw EvaluationError(
      fmt::format("@{}: the compiled function failed with status {}", impl.function->name(), status), node);
}

}  // namespace

namespace {

// The call itself, once the pointers are checked.
[[gnu::always_inline]] inline void call(Executable::Impl& impl, const void** in_ptrs, void** out_ptrs) {
  nabla_context ctx = impl.pool ? impl.pool->context() : nabla_context{};
  ctx.comm = impl.comm;
  WorkspacePool::Lease workspace = impl.workspaces.take();
  int32_t status = impl.entry(in_ptrs, out_ptrs, workspace.data(), &ctx);
  if (status != NABLA_OK) throw_status(impl, status, ctx);
}

// run() with any number of arguments and undefined outputs (allocated here).
[[gnu::noinline]] void run_general(Executable::Impl& impl, std::span<const Tensor> inputs,
                                   std::span<Tensor> outputs) {
  llvm::SmallVector<const void*, 16> in_ptrs;
  llvm::SmallVector<void*, 16> out_ptrs;
  if (!arguments_ok(impl, inputs, outputs, in_ptrs, out_ptrs)) check_slowly(impl, inputs, outputs);
  call(impl, in_ptrs.data(), out_ptrs.data());
}

constexpr size_t kFastArguments = 8;

// The checks of arguments_ok for at most kFastArguments arguments, every
// output defined: no allocation, no sort, no call; false sends the call to
// run_general (which allocates undefined outputs and names a failed check).
[[gnu::always_inline]] inline bool fast_arguments_ok(const Executable::Impl& impl, std::span<const Tensor> inputs,
                                                     std::span<Tensor> outputs, const void** in_ptrs,
                                                     void** out_ptrs) {
  const ArgSpec* spec = impl.signature.data();
  const int64_t* dims = impl.signature_dims.data();
  const size_t n_in = inputs.size(), n = n_in + outputs.size();
  for (size_t i = 0; i < n_in; ++i) {
    if (!matches(inputs[i], spec[i], dims + spec[i].dims)) return false;
    in_ptrs[i] = inputs[i].data();
  }
  for (size_t j = n_in; j < n; ++j) {
    if (!matches(outputs[j - n_in], spec[j], dims + spec[j].dims)) return false;
    out_ptrs[j - n_in] = outputs[j - n_in].data();
  }
  // An output shares no byte with an input or an earlier output.
  auto address = [&](size_t i) {
    return reinterpret_cast<uintptr_t>(i < n_in ? in_ptrs[i] : out_ptrs[i - n_in]);
  };
  for (size_t j = n_in; j < n; ++j) {
    uintptr_t bj = address(j), ej = bj + spec[j].bytes;
    for (size_t k = 0; k < j; ++k) {
      uintptr_t bk = address(k), ek = bk + spec[k].bytes;
      if (spec[j].bytes > 0 && spec[k].bytes > 0 && bj < ek && bk < ej) return false;
    }
  }
  return true;
}

[[noreturn, gnu::cold, gnu::noinline]] void throw_empty() {
  throw Error("executable: empty (not the result of compile)");
}

}  // namespace

// A call of few arguments, all outputs given, reads the Impl's first lines,
// the tensors and the machine code, and calls nothing else: a short path in
// few lines of code (docs/performance.md, "Call overhead": a cold call pays
// for each line and page it touches). Others go through run_general.
void Executable::run(std::span<const Tensor> inputs, std::span<Tensor> outputs) {
  Impl* p = impl_.get();
  if (!p) [[unlikely]] throw_empty();
  Impl& impl = *p;
  // The machine code's page and first line, while the checks go on (a cold
  // call misses in the TLB on each page it touches: the code's page walk
  // then finds its tables in the cache).
  __builtin_prefetch(reinterpret_cast<const void*>(impl.entry));
  const size_t n = inputs.size() + outputs.size();
  if (inputs.size() != impl.num_inputs || n != impl.signature.size()) [[unlikely]]
    throw_counts(impl, inputs.size(), outputs.size());
  const void* in_ptrs[kFastArguments];
  void* out_ptrs[kFastArguments];
  if (n <= kFastArguments && fast_arguments_ok(impl, inputs, outputs, in_ptrs, out_ptrs)) [[likely]]
    return call(impl, in_ptrs, out_ptrs);
  run_general(impl, inputs, outputs);
}

std::vector<Tensor> Executable::run(std::span<const Tensor> inputs) {
  std::vector<Tensor> outputs(checked(impl_).output_types.size());
  run(inputs, outputs);
  return outputs;
}

}  // namespace nabla
