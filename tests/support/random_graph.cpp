#include "tests/support/random_graph.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "nabla/ir/hash.h"
#include "tests/support/random_graph_impl.h"

namespace nabla::test {
namespace {

// One element for a float constant or input: mostly uniform in [-2, 2].
double random_float(std::mt19937_64& rng, double special_rate) {
  std::uniform_real_distribution<double> u(0, 1);
  if (u(rng) < special_rate) {
    constexpr double kSpecial[] = {0.0, -0.0, 1.0, std::numeric_limits<double>::infinity(),
                                   -std::numeric_limits<double>::infinity(),
                                   std::numeric_limits<double>::quiet_NaN()};
    return kSpecial[std::uniform_int_distribution<int>(0, 5)(rng)];
  }
  return std::uniform_real_distribution<double>(-2, 2)(rng);
}

Tensor random_tensor(std::mt19937_64& rng, DType t, const Shape& s, double special_rate) {
  Tensor x(t, s);
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (is_float(t)) x.set(i, random_float(rng, special_rate));
    else if (t == DType::bool_) x.set(i, std::uniform_int_distribution<int>(0, 1)(rng));
    else x.set(i, std::uniform_int_distribution<int>(-4, 4)(rng));
  }
  return x;
}

}  // namespace

Generator::Generator(uint64_t seed, const RandomGraphOptions& options, Function& fn)
    : f(fn), rng_(seed), options_(options) {
  float_ = chance(0.5) ? DType::f32 : DType::f64;
}

int64_t Generator::uniform(int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
}

bool Generator::chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

Shape Generator::random_shape(int min_rank) {
  Shape s(static_cast<size_t>(uniform(min_rank, std::max(min_rank, options_.max_rank))));
  for (int64_t& d : s) d = chance(0.25) ? 1 : uniform(1, options_.max_dim);
  return s;
}

Shape Generator::partner_shape(const Shape& s) {
  switch (uniform(0, 3)) {
    case 0: return s;
    case 1: {
      Shape p = s;
      for (int64_t& d : p)
        if (chance(0.5)) d = 1;
      return p;
    }
    case 2: return Shape(s.begin() + uniform(0, static_cast<int64_t>(s.size())), s.end());
    default: return {};
  }
}

Shape Generator::widened_shape(const Shape& s) {
  Shape w = s;
  for (int64_t& d : w)
    if (d == 1 && chance(0.5)) d = uniform(1, options_.max_dim);
  if (static_cast<int>(w.size()) <= options_.max_rank && chance(0.5))
    w.insert(w.begin(), uniform(1, options_.max_dim));
  return w;
}

Shape Generator::reshaped(const Shape& s) {
  // Split the element count into prime factors and deal them out to new axes.
  int64_t n = num_elements(s);
  std::vector<int64_t> factors;
  for (int64_t p = 2; n > 1; ++p)
    while (n % p == 0) factors.push_back(p), n /= p;
  std::shuffle(factors.begin(), factors.end(), rng_);
  Shape out(static_cast<size_t>(uniform(factors.empty() ? 0 : 1, options_.max_rank)), 1);
  for (int64_t p : factors) {
    if (out.empty()) out.push_back(1);
    out[static_cast<size_t>(uniform(0, static_cast<int64_t>(out.size()) - 1))] *= p;
  }
  return out;
}

std::vector<int64_t> Generator::random_perm(int64_t rank) {
  std::vector<int64_t> p(static_cast<size_t>(rank));
  std::iota(p.begin(), p.end(), 0);
  std::shuffle(p.begin(), p.end(), rng_);
  return p;
}

DType Generator::random_dtype() { return pick(std::vector<DType>(std::begin(kAllDTypes), std::end(kAllDTypes))); }

Node* Generator::keep(Value v) {
  pool_.push_back(v.node);
  return v.node;
}

Node* Generator::new_input(DType t, Shape s) {
  return keep(f.input("in" + std::to_string(f.inputs().size()), {t, std::move(s)}));
}

Node* Generator::new_constant(DType t, Shape s) {
  return keep(constant(f, random_tensor(rng_, t, s, options_.special_rate)));
}

Node* Generator::splat(DType t, Shape s, double v) {
  Tensor x(t, s);
  for (int64_t i = 0; i < x.numel(); ++i) x.set(i, v);
  return constant(f, x);
}

Node* Generator::find(const std::function<bool(const Node*)>& ok) {
  std::vector<Node*> fits;
  for (Node* n : pool_)
    if (ok(n)) fits.push_back(n);
  if (fits.empty()) return nullptr;
  // Half of the time one of the four newest, for deeper graphs.
  int64_t lo = chance(0.5) ? std::max<int64_t>(0, static_cast<int64_t>(fits.size()) - 4) : 0;
  return fits[static_cast<size_t>(uniform(lo, static_cast<int64_t>(fits.size()) - 1))];
}

Node* Generator::any_value() {
  Node* n = find([](const Node*) { return true; });
  return n ? n : new_input(float_, random_shape());
}

Node* Generator::numeric_value() {
  Node* n = find([](const Node* m) { return m->dtype() != DType::bool_; });
  return n ? n : float_value();
}

Node* Generator::float_value() {
  if (Node* n = find([](const Node* m) { return is_float(m->dtype()); })) return n;
  if (static_cast<int>(f.inputs().size()) < options_.max_inputs)
    return new_input(float_, random_shape());
  return keep(cast(any_value(), float_));
}

Node* Generator::int_value() {
  if (Node* n = find([](const Node* m) { return is_int(m->dtype()); })) return n;
  DType t = chance(0.5) ? DType::i32 : DType::i64;
  return keep(cast(any_value(), t));
}

Node* Generator::ranked_value(Node* x, int min_rank) {
  if (x->shape().size() >= static_cast<size_t>(min_rank)) return x;
  Shape s = x->shape();
  while (s.size() < static_cast<size_t>(min_rank)) s.insert(s.begin(), 1);
  return keep(reshape(x, s));
}

Node* Generator::value_of(DType t, const Shape& s) {
  if (chance(0.6))
    if (Node* n = find([&](const Node* m) { return m->dtype() == t && m->shape() == s; }))
      return n;
  if (static_cast<int>(f.inputs().size()) < options_.max_inputs && chance(0.5))
    return new_input(t, s);
  return new_constant(t, s);
}

Node* Generator::partner(Node* x) { return value_of(x->dtype(), partner_shape(x->shape())); }

Node* Generator::int_in(const Shape& s, int64_t lo, int64_t hi) {
  DType t = chance(0.5) ? DType::i32 : DType::i64;
  if (chance(0.5)) {
    // A computed value: an integer value clamped into [lo, hi].
    Node* x = int_value();
    if (x->dtype() != t) x = keep(cast(x, t));
    if (x->shape() != s) x = keep(broadcast_to(reshape(sum(x), {}), s));
    return keep(minimum(maximum(x, static_cast<double>(lo)), static_cast<double>(hi)));
  }
  Tensor l(t, s);
  for (int64_t i = 0; i < l.numel(); ++i) l.set(i, static_cast<double>(uniform(lo, hi)));
  return keep(constant(f, l));
}

void Generator::pick_results() {
  // Most sinks become results, so that most of the graph is live; the others
  // stay dead, for dce.
  std::vector<Node*> sinks;
  for (Node* n : f)
    if (n->users().empty()) sinks.push_back(n);
  std::shuffle(sinks.begin(), sinks.end(), rng_);
  for (Node* n : sinks)
    if (static_cast<int>(f.results().size()) < options_.max_results && chance(0.8)) f.output(n);
  if (f.results().empty()) f.output(sinks.empty() ? any_value() : sinks.front());
}

void Generator::emit_grads() {
  Node* v = find([](const Node* m) { return is_float(m->dtype()) && m->op() != Op::Input; });
  std::vector<Node*> targets;
  for (Node* in : f.inputs())
    if (is_float(in->dtype())) targets.push_back(in);
  if (!v || targets.empty()) return;
  Node* z = keep(sum(v));
  Node* w = pick(targets);
  Node* g = keep(grad_op(z, w));
  // Second order: d/dw of the sum of the gradient.
  if (chance(0.3)) keep(grad_op(keep(sum(g)), w));
}

void Generator::build() {
  new_input(float_, random_shape());
  if (chance(0.5)) {
    Shape s = random_shape();
    new_input(chance(0.5) ? DType::i32 : DType::i64, s);
  }
  // Every op but the leaves and grad (which needs build-grad before it can be
  // evaluated); constants are created along the way.
  std::vector<Op> ops;
  for (int i = 0; i < kNumOps; ++i) {
    Op op = static_cast<Op>(i);
    if (op != Op::Input && op != Op::Grad && op != Op::Fused && !is_collective(op)) ops.push_back(op);
  }
  for (int step = 0; step < options_.num_steps; ++step) {
    if (options_.loop_rate > 0 && chance(options_.loop_rate)) emit_op(chance(0.5) ? Op::Scan : Op::While);
    else if (chance(options_.pattern_rate)) emit_pattern();
    else emit_op(pick(ops));
  }
  if (chance(options_.grad_rate)) emit_grads();
  pick_results();
  // Collectives come last, as an extra result, so that the graphs drawn
  // before them stay what they were when the op list had none.
  if (chance(0.5)) f.output(emit_collective());
}

Module random_graph(uint64_t seed, const RandomGraphOptions& options) {
  Module m;
  Generator(seed, options, m.function("random")).build();
  return m;
}

std::vector<Tensor> random_inputs(const Function& f, uint64_t seed, double special_rate) {
  std::mt19937_64 rng(seed ^ 0x5eed5eed5eedull);
  std::vector<Tensor> out;
  for (const Node* in : f.inputs())
    out.push_back(random_tensor(rng, in->dtype(), in->shape(), special_rate));
  return out;
}

uint64_t structure_hash(const Function& f) {
  std::unordered_map<const Node*, uint64_t> memo;
  auto type_hash = [&](const Node* n) {
    uint64_t h = hash_mix(static_cast<uint64_t>(n->dtype()), n->shape().size());
    for (int64_t d : n->shape()) h = hash_mix(h, static_cast<uint64_t>(d));
    return h;
  };
  for (size_t i = 0; i < f.inputs().size(); ++i) memo[f.inputs()[i]] = hash_mix(i, type_hash(f.inputs()[i]));
  // Operands come before their users in the body list.
  uint64_t unordered = 0;
  for (const Node* n : f) {
    if (n->op() == Op::Input) continue;
    uint64_t h = hash_mix(static_cast<uint64_t>(n->op()), type_hash(n));
    h = hash_mix(h, n->attrs().hash(op_attr_mask(n->op())));
    if (n->body()) h = hash_mix(hash_mix(h, structure_hash(*n->body())), static_cast<uint64_t>(n->body_result()));
    for (const Node* o : n->operands()) h = hash_mix(h, memo.at(o));
    memo[n] = h;
    unordered += h;
  }
  uint64_t h = unordered;
  for (const Node* r : f.results()) h = hash_mix(h, memo.at(r));
  return h;
}

}  // namespace nabla::test
