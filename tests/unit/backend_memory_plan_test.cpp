// Memory planning: buffers that are live at the same time never share bytes,
// buffers that are not do, and the arena is reported next to the sum of the
// intermediates. Checked on random graphs (both placement strategies) and on
// shapes where the answer is known.
#include <gtest/gtest.h>

#include <algorithm>
#include <unordered_map>

#include "nabla/compiler/lower.h"
#include "nabla/compiler/memory_plan.h"
#include "nabla/ir/clone.h"
#include "nabla/ir/fused.h"
#include "nabla/ir/loop.h"
#include "nabla/passes/pass_manager.h"
#include "tests/support/backend_testing.h"
#include "tests/support/random_graph.h"

namespace nabla {
namespace NABLA_UNITY_ID {

// Checks the plan against its own schedule: a workspace buffer lives from its
// kernel to its last reader (through aliases; to the end when a result copy
// reads it); two buffers live at once must not overlap in the arena.
void expect_consistent(const Function& f, const MemoryPlan& plan) {
  struct Live {
    int64_t offset, bytes, def, last;
  };
  std::unordered_map<const Node*, Live> live;
  std::unordered_map<const Node*, int64_t> pos;
  int64_t end = static_cast<int64_t>(plan.kernels.size());
  // The nodes of a fused group are written together, by the kernel at the
  // first of them.
  std::unordered_map<const Function*, int64_t> group_pos;
  for (int64_t i = end - 1; i >= 0; --i) {
    const Node* k = plan.kernels[i];
    if (k->body() && k->body()->results().size() > 1) group_pos[k->body()] = i;
  }
  auto def_pos = [&](const Node* k) {
    auto it = k->body() ? group_pos.find(k->body()) : group_pos.end();
    return it == group_pos.end() ? pos[k] : it->second;
  };
  for (int64_t i = 0; i < end; ++i) pos[plan.kernels[i]] = i;
  auto root = [](const Node* n) {
    while (is_alias_op(n->op())) n = n->operand(0);
    return n;
  };
  for (const Node* k : plan.kernels) {
    const Storage& s = plan.storage.at(k);
    if (s.kind != StorageKind::Workspace) continue;
    int64_t bytes = k->type().numel() * static_cast<int64_t>(dtype_size(k->dtype()));
    live[k] = {s.offset, bytes, def_pos(k), pos[k]};
    EXPECT_EQ(s.offset % kBufferAlign, 0);
    EXPECT_LE(s.offset + bytes, plan.workspace_bytes);
  }
  for (const Node* k : plan.kernels)
    for (const Node* o : k->operands())
      if (auto it = live.find(root(o)); it != live.end()) it->second.last = std::max(it->second.last, pos[k]);
  for (const MemoryPlan::Copy& c : plan.result_copies)
    if (auto it = live.find(root(c.from)); it != live.end()) it->second.last = end;
  // A loop's carry result may take the buffer of its initial value, which the
  // loop reads last (memory_plan.cpp, share_carry_buffers).
  auto carried = [&](const Node* m, const Node* o) {
    return is_loop(m->op()) && static_cast<size_t>(m->body_result()) < loop_layout(*m).carry &&
           root(m->operand(static_cast<size_t>(m->body_result()))) == o && live.at(o).last <= pos[fused_group(m).back()];
  };
  std::vector<std::pair<const Node*, Live>> all(live.begin(), live.end());
  for (size_t i = 0; i < all.size(); ++i)
    for (size_t j = i + 1; j < all.size(); ++j) {
      const Live &a = all[i].second, &b = all[j].second;
      if (a.offset == b.offset && (carried(all[i].first, all[j].first) || carried(all[j].first, all[i].first))) continue;
      bool same_time = a.def <= b.last && b.def <= a.last;
      bool same_bytes = a.offset < b.offset + b.bytes && b.offset < a.offset + a.bytes;
      ASSERT_FALSE(same_time && same_bytes) << "buffers overlap in time and space";
    }
  EXPECT_LE(plan.peak_live_bytes, plan.workspace_bytes);
  EXPECT_LE(plan.workspace_bytes, plan.intermediate_bytes);
}

MemoryPlan plan_for(const Function& f) {
  LowerOptions o;
  return plan_memory(f, [&](const Node& n) { return describe_kernel(n, o).scratch_bytes; });
}

TEST(BackendMemoryPlan, AChainNeedsTwoBuffers) {
  Module m = test::make_function({f32({1000})}, [](std::vector<Value>& x) {
    Value v = x[0];
    for (int i = 0; i < 6; ++i) v = exp(v + 1.0);
    return std::vector<Value>{v};
  });
  CompileOptions o = test::test_options();
  o.pipeline = "";
  o.fuse = false;
  Executable exe = compile(m, "f", o);
  // 11 intermediates of 4000 bytes (aligned to 4032), all but the result in
  // the arena; at most two live at once.
  EXPECT_EQ(exe.intermediate_bytes(), 11 * 4032);
  EXPECT_EQ(exe.workspace_bytes(), 2 * 4032);
  EXPECT_EQ(exe.peak_live_bytes(), 2 * 4032);
  expect_consistent(exe.function(), plan_for(exe.function()));
}

TEST(BackendMemoryPlan, RandomGraphsNeverShareLiveBytes) {
  int64_t saved = 0, total = 0, groups = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    test::RandomGraphOptions options;
    options.num_steps = 60;
    options.grad_rate = 0.3;
    Module m = test::random_graph(seed, options);
    PassManager pm;
    std::string rest(default_pipeline());
    pm.add("build-grad{allow-disconnected}" + rest.substr(rest.find(',')) + ",fuse");
    pm.run(m);
    const Function& f = *m.find("random");
    MemoryPlan plan = plan_for(f);
    expect_consistent(f, plan);
    for (const Node* n : f) groups += n->body() && n->body_result() == 1;
    saved += plan.intermediate_bytes - plan.workspace_bytes;
    total += plan.intermediate_bytes;
  }
  EXPECT_GT(saved, total / 4) << "sharing saves little";
  EXPECT_GT(groups, 0) << "no sibling groups: the fused groups' buffers go unchecked";
}

TEST(BackendMemoryPlan, LargeGraphsUseTheLinearScan) {
  // 6000 buffers: above the greedy-by-size limit.
  Module m = test::make_function({f32({16})}, [](std::vector<Value>& x) {
    std::vector<Value> pool{x[0]};
    for (int i = 0; i < 6000; ++i) {
      Value a = pool[static_cast<size_t>(i * 7919 % pool.size())];
      Value b = pool[pool.size() - 1];
      pool.push_back(i % 3 ? a * b : concat(std::vector<Value>{slice(a, {0}, {8}), slice(b, {8}, {16})}, 0));
    }
    return std::vector<Value>{pool.back(), pool[pool.size() / 2]};
  });
  const Function& f = *m.functions()[0];
  MemoryPlan plan = plan_for(f);
  EXPECT_GT(plan.kernels.size(), 4096u);
  expect_consistent(f, plan);
  EXPECT_LT(plan.workspace_bytes, plan.intermediate_bytes / 4);
}

// A concat result whose operands are computed for it alone is assembled in
// place: each operand's kernel writes its block of the output (no concat
// kernel); the interleave of ba's residuals (a concat along axis 1, itself
// written into the first block) and a fused region into the second. An
// operand read elsewhere too keeps the concat's copy.
TEST(BackendMemoryPlan, ConcatResultsAreAssembledInPlace) {
  Module m = test::make_function({f64({6}), f64({6})}, [](std::vector<Value>& x) {
    Value a = reshape(x[0] * 2.0 + 1.0, {6, 1}), b = reshape(sin(x[1]) - x[0], {6, 1});
    Value e = reshape(concat(std::vector<Value>{a, b}, 1), {12});
    Value assembled = concat(std::vector<Value>{e, exp(x[1]) * x[0]}, 0);
    Value shared = tanh(x[0]);
    Value copied = concat(std::vector<Value>{shared, x[1] + 1.0}, 0);
    return std::vector<Value>{assembled, copied, shared * 3.0};
  });
  CompileOptions o = test::test_options();
  Executable exe = compile(m, "f", o);
  const Function& f = exe.function();
  MemoryPlan plan = plan_for(f);
  expect_consistent(f, plan);
  ASSERT_EQ(plan.assembled.size(), 1u);
  const Node* c = *plan.assembled.begin();
  EXPECT_EQ(c, f.results()[0]);
  EXPECT_EQ(std::count(plan.kernels.begin(), plan.kernels.end(), c), 0);
  int64_t at = 0;
  for (const Node* o : c->operands()) {
    while (is_alias_op(o->op())) o = o->operand(0);
    const Storage& s = plan.storage.at(o);
    EXPECT_EQ(s.kind, StorageKind::Output);
    EXPECT_EQ(s.index, 0);
    EXPECT_EQ(s.offset, at);
    at += o->type().numel() * 8;
  }
  EXPECT_EQ(at, 18 * 8);
  std::vector<Tensor> in = test::random_inputs(*m.find("f"), 7, 0.0);
  EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), in, o), "");
}

// ba's interleave from one sibling group: x and y are computed in one loop
// that stores every other element of the output (from one base pointer, so
// that the stores vectorize as an interleaved pair), and the concat has no
// kernel; the JIT matches the interpreter bit for bit over sizes and threads.
// A group with a third result that the concat does not take, or a block also
// read elsewhere, keeps the concat's kernel. Blocks [n, 3] side by side in
// [n, 6] (variant 3) are stored by a nest of two axes, which row-major
// results would have merged into one: the kernel's tasks are the strided
// nest's outer axis.
Module side_by_side(int64_t n) {
  return test::make_function({f64({n, 3}), f64({n, 3})}, [&](std::vector<Value>& x) {
    Value a = x[0] * x[1] + 1.0, b = x[0] - x[1] * 2.0;
    return std::vector<Value>{concat(std::vector<Value>{a, b}, 1)};
  });
}

Module interleaved(int64_t n, int variant) {
  if (variant == 3) return side_by_side(n);
  return test::make_function({f64({n}), f64({n}), f64({n})}, [&](std::vector<Value>& x) {
    Value ex = x[0] * x[1] + 1.0, ey = x[0] - x[1] * 2.0;
    Value e = concat(std::vector<Value>{reshape(ex, {n, 1}), reshape(ey, {n, 1})}, 1);
    std::vector<Value> out{concat(std::vector<Value>{reshape(e, {2 * n}), x[2] * x[2]}, 0)};
    if (variant == 1) out.push_back(x[0] * x[1] * 3.0);  // a third sibling
    if (variant == 2) out.push_back(ey);                 // the block read elsewhere
    return out;
  });
}

TEST(BackendMemoryPlan, InterleavedBlocksAreStoredAtStrides) {
  for (int64_t n : {int64_t{2}, int64_t{17}, int64_t{4099}}) {  // n = 1: contiguous blocks
    for (int variant : {0, 1, 2, 3}) {
      Module m = interleaved(n, variant);
      CompileOptions o = test::test_options();
      Executable exe = compile(m, "f", o);
      const Function& f = exe.function();
      MemoryPlan plan = plan_for(f);
      expect_consistent(f, plan);
      size_t concat_kernels = 0;
      for (const Node* k : plan.kernels) concat_kernels += k->op() == Op::Concat;
      bool assembled = variant == 0 || variant == 3;
      EXPECT_EQ(concat_kernels, assembled ? 0u : 1u) << n << " " << variant;
      EXPECT_EQ(exe.stats().num_kernels, variant == 3 ? 1 : assembled ? 2 : 3) << n << " " << variant;
      for (int threads : {1, 2}) {
        CompileOptions t = test::test_options(threads);
        t.min_parallel_work = 1;
        for (uint64_t seed : {1, 2})
          EXPECT_EQ(test::compare_with_interpreter(*m.find("f"), test::random_inputs(*m.find("f"), seed, 0.0), t), "")
              << n << " " << variant << " " << threads;
      }
    }
  }
}

}  // namespace
}  // namespace nabla
