// What a loaded Model holds (internal): the verified bundle and where it runs.
#pragma once

#include <torch/script.h>

#include <string>
#include <utility>

#include "model/bundle.h"
#include "terrascope/error.h"
#include "terrascope/model.h"

namespace terrascope {

struct Model::Impl {
  Bundle bundle;
  torch::Device device;
  torch::ScalarType dtype;
  bool cuda_graphs;  // one-token llm steps replay a CUDA graph (cuda_graph_step.h)
};

}  // namespace terrascope

namespace terrascope {

// Runs `fn` (a call into a bundle module); a libtorch error becomes an Error naming the module file
// and the first line of libtorch's message.
template <typename Fn>
auto call_module(const std::string& file, const std::string& method, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    throw Error(file, method + " failed: " + what.substr(0, what.find('\n')));
  }
}

// (logits, hidden) of what the llm module's forward returned; an Error naming `file` unless it
// is a tuple of two.
inline std::pair<torch::Tensor, torch::Tensor> llm_step_outputs(const c10::IValue& out,
                                                                const std::string& file) {
  if (!out.isTuple() || out.toTuple()->elements().size() != 2) {
    throw Error(file, "forward must return a tuple (logits, hidden)");
  }
  return {out.toTuple()->elements()[0].toTensor(), out.toTuple()->elements()[1].toTensor()};
}

// "<bundle dir>/<file>" of a module named in the manifest.
inline std::string module_file(const Model::Impl& model, const std::string& name) {
  return model.bundle.dir + "/" + model.bundle.manifest.modules.at(name).file;
}

}  // namespace terrascope
