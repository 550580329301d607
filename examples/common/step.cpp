#include "examples/common/step.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "nabla/ir/builder.h"
#include "nabla/ir/printer.h"
#include "nabla/passes/build_grad.h"
#include "nabla/passes/data_parallel.h"
#include "nabla/runtime/error.h"
#include "nabla/runtime/npy.h"

namespace nabla::demo {
namespace {

std::vector<Value> parameter_inputs(Function& f, const Model& model) {
  std::vector<Value> params;
  for (size_t i = 0; i < model.parameters.size(); ++i)
    params.push_back(f.input(model.names[i], f32(model.parameters[i])));
  return params;
}

}  // namespace

TrainStep build_train_step(Function& f, const Model& model, int64_t features, int64_t batch,
                           const OptimizerOptions& o, bool data_parallel) {
  Value x = f.input("X", f32({batch, features}));
  Value y = f.input("y", i32({batch}));
  std::vector<Value> params = parameter_inputs(f, model);
  Value loss = model.loss ? model.loss(x, y, params) : cross_entropy(model.logits(x, params), y);
  loss->set_name("loss");
  TrainStep step;
  step.forward_nodes = f.size();
  std::vector<Value> grads = data_parallel ? data_parallel_grad(loss, params) : grad(loss, params);
  UpdateRule rule = build_update(f, o, params, grads);
  f.output(loss);
  for (Value p : rule.new_params) f.output(p);
  for (Value s : rule.new_state) f.output(s);
  step.state_names = rule.state_names;
  step.has_t = rule.t.node != nullptr;
  return step;
}

void build_logits(Function& f, const Model& model, int64_t features, int64_t n) {
  Value x = f.input("X", f32({n, features}));
  f.output(model.logits(x, parameter_inputs(f, model)));
}

void build_classifier(Function& f, const Model& model, int64_t features, int64_t n,
                      const std::vector<Tensor>& params) {
  Value x = f.input("X", f32({n, features}));
  std::vector<Value> weights;
  for (size_t i = 0; i < params.size(); ++i) {
    weights.push_back(constant(f, params[i]));
    weights.back()->set_name(model.names[i]);
  }
  Value logits = model.logits(x, weights);
  logits->set_name("logits");
  Value cls = argmax(logits, 1);
  cls->set_name("class");
  f.output(logits);
  f.output(cls);
}

void export_classifier(const std::string& dir, const Model& model, const Dataset& test,
                       const std::vector<int32_t>& predicted, int64_t n, const std::vector<Tensor>& params) {
  if (n > test.count) throw Error(fmt::format("--export-batch {} exceeds the {} test images", n, test.count));
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the directory (" + ec.message() + ")");
  Module m;
  build_classifier(m.function("classify"), model, test.features, n, params);
  std::string path = dir + "/classifier.nabla";
  std::ofstream out(path, std::ios::trunc);
  out << "// The classifier exported by --export: " << n << " images of " << test.features
      << " pixels -> their logits and classes; the trained parameters are the constants.\n"
      << print(m);
  if (!(out << std::flush)) throw Error(path + ": cannot write");
  Tensor images(DType::f32, {n, test.features}), classes(DType::i64, {n});
  std::copy_n(test.images.data(), n * test.features, images.data_as<float>());
  std::copy_n(predicted.data(), n, classes.data_as<int64_t>());
  write_npy(dir + "/sample_images.npy", images);
  write_npy(dir + "/sample_predictions.npy", classes);
}

}  // namespace nabla::demo
