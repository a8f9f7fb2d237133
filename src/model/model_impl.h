// What a loaded Model holds (internal): the verified bundle and where it runs.
#pragma once

#include <torch/script.h>

#include <string>

#include "model/bundle.h"
#include "terrascope/error.h"
#include "terrascope/model.h"

namespace terrascope {

struct Model::Impl {
  Bundle bundle;
  torch::Device device;
  torch::ScalarType dtype;
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

// "<bundle dir>/<file>" of a module named in the manifest.
inline std::string module_file(const Model::Impl& model, const std::string& name) {
  return model.bundle.dir + "/" + model.bundle.manifest.modules.at(name).file;
}

}  // namespace terrascope
