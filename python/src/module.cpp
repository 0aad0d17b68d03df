// igx._C: the engine's methods for Python. The Python package (python/igx) turns Captum-style
// calls into these; here only conversion happens: options from keyword arguments, results to
// tensors and dicts. Every engine call runs with the GIL released (a ScriptModule runs entirely in
// C++; a Python model takes the GIL back for its own forward) and with autograd enabled.

#include <pybind11/stl.h>
#include <torch/extension.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "igx/distribution.h"
#include "igx/error.h"
#include "igx/explainer.h"
#include "igx/integrated_gradients.h"
#include "igx/layer.h"
#include "igx/runtime.h"
#include "igx/dig.h"
#include "igx/sequential_ig.h"
#include "python_model.h"

namespace py = pybind11;

namespace igx::python {
namespace {

using ModelPtr = std::shared_ptr<Model>;

// Runs `compute` without the GIL; a Python exception raised by a PythonModel comes back as itself.
template <class Compute>
auto without_gil(const std::vector<ModelPtr>& models, Compute&& compute) -> decltype(compute()) {
  try {
    py::gil_scoped_release release;
    torch::AutoGradMode grad_enabled(true);  // attribution needs gradients even under torch.no_grad()
    return compute();
  } catch (...) {
    for (const auto& model : models) {
      if (auto* python_model = dynamic_cast<PythonModel*>(model.get())) python_model->raise_pending_error();
    }
    throw;
  }
}

Target target_from(py::handle value) {
  if (value.is_none()) return Target::predicted();
  if (py::isinstance<py::int_>(value)) return Target::index(value.cast<int64_t>());
  return Target::per_example(value.cast<std::vector<int64_t>>());
}

Baseline baseline_from(py::handle value) {
  if (value.is_none()) return Baseline::zero();
  if (THPVariable_Check(value.ptr())) return Baseline::tensor(THPVariable_Unpack(value.ptr()));
  return Baseline::scalar(value.cast<double>());
}

// IgOptions from keyword arguments named as its fields, enums by their igx names.
IgOptions ig_options(const py::kwargs& kwargs) {
  IgOptions options;
  for (const auto& item : kwargs) {
    const std::string key = py::str(item.first);
    const py::handle value = item.second;
    if (key == "n_steps") options.n_steps(value.cast<int64_t>());
    else if (key == "method") options.method(parse_rule(value.cast<std::string>()));
    else if (key == "baseline") options.baseline(baseline_from(value));
    else if (key == "target") options.target(target_from(value));
    else if (key == "output") options.output(parse_output_kind(value.cast<std::string>()));
    else if (key == "internal_batch_size") options.internal_batch_size(value.cast<int64_t>());
    else if (key == "multiply_by_inputs") options.multiply_by_inputs(value.cast<bool>());
    else if (key == "min_output_gap") options.min_output_gap(value.cast<double>());
    else if (key == "strategy") options.strategy(parse_strategy(value.cast<std::string>()));
    else if (key == "tolerance") options.tolerance(value.cast<double>());
    else if (key == "max_steps") options.max_steps(value.cast<int64_t>());
    else if (key == "initial_steps") options.initial_steps(value.cast<int64_t>());
    else if (key == "initial_intervals") options.initial_intervals(value.cast<int64_t>());
    else if (key == "certify") options.certify(parse_certify(value.cast<std::string>()));
    else if (key == "attribution_tolerance") options.attribution_tolerance(value.cast<double>());
    else if (key == "memory_budget") options.memory_budget(value.cast<int64_t>());
    else throw py::type_error("igx._C: unknown option '" + key + "'");
  }
  return options;
}

py::dict report_dict(const ExampleReport& report) {
  py::dict dict;
  dict["target"] = report.target;
  dict["output_input"] = report.output_input;
  dict["output_baseline"] = report.output_baseline;
  dict["attribution_sum"] = report.attribution_sum;
  dict["delta"] = report.delta;
  dict["relative_error"] = report.relative_error;
  dict["steps"] = report.steps;
  dict["certified"] = report.certified;
  dict["error_bound"] = report.error_bound;
  dict["absolute_error_bound"] = report.absolute_error_bound;
  dict["attribution_error"] = report.attribution_error;
  return dict;
}

py::dict counts_dict(const EvaluationCounts& counts) {
  py::dict dict;
  dict["gradient_rows"] = counts.gradient_rows;
  dict["forward_rows"] = counts.forward_rows;
  dict["batches"] = counts.batches;
  return dict;
}

// (values, [report dict per example], counts dict)
py::tuple to_python(const Attribution& attribution) {
  py::list reports;
  for (const auto& report : attribution.examples) reports.append(report_dict(report));
  return py::make_tuple(attribution.values, reports, counts_dict(attribution.counts));
}

SplitModel split_model(ModelPtr lower, ModelPtr upper, std::string layer) {
  SplitModel split;
  split.lower = std::move(lower);
  split.upper = std::move(upper);
  split.layer = std::move(layer);
  return split;
}

// One ExplainRequest from the Python package's arguments: options by name with their values as
// text (igx::set_explain_option parses and checks them, as for the CLI's flags).
ExplainRequest explain_request(const std::vector<std::string>& texts, const std::vector<std::string>& image_paths,
                               const py::object& images, const py::object& inputs, const std::vector<std::string>& ids,
                               const std::vector<std::pair<std::string, std::string>>& options,
                               const py::object& baseline, const py::object& baselines) {
  const auto tensor_or_undefined = [](const py::object& value) {
    return value.is_none() ? torch::Tensor() : THPVariable_Unpack(value.ptr());
  };
  ExplainRequest request;
  request.texts = texts;
  request.image_paths = image_paths;
  request.images = tensor_or_undefined(images);
  request.inputs = tensor_or_undefined(inputs);
  request.ids = ids;
  for (const auto& [name, value] : options) set_explain_option(request.options, name, value);
  request.baseline = tensor_or_undefined(baseline);
  request.baselines = tensor_or_undefined(baselines);
  return request;
}

// Sequential IG: per example, the report of every moving token's own path (empty lists otherwise).
py::list token_report_dicts(const Explanation& explanation) {
  py::list per_example;
  for (const ExampleExplanation& example : explanation.examples) {
    py::list tokens;
    for (const TokenReport& token : example.token_reports) {
      py::dict report = report_dict(token.report);
      report["position"] = token.position;
      tokens.append(report);
    }
    per_example.append(tokens);
  }
  return per_example;
}

}  // namespace
}  // namespace igx::python

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  using namespace igx;
  using namespace igx::python;
  m.doc() = "igx engine (C++): Integrated Gradients with a measured, controlled error";
  m.attr("__version__") = IGX_VERSION;

  // Every igx error is a ValueError with igx's message (bad input, or a model that does not fit).
  py::register_exception<igx::Error>(m, "Error", PyExc_ValueError);

  py::class_<Model, ModelPtr>(m, "Model")
      .def("describe", &Model::describe)
      .def("__repr__", [](const Model& model) { return "<igx model: " + model.describe() + ">"; });

  m.def(
      "script_model",
      [](torch::jit::Module module, const std::string& method, const std::string& name, const std::string& device) {
        return ModelPtr(TorchScriptModel::from_module(std::move(module), name, method, torch::Device(device)));
      },
      py::arg("module"), py::arg("method"), py::arg("name"), py::arg("device"),
      "A TorchScript module (torch._C.ScriptModule) shared with the caller; runs without the GIL.");
  m.def(
      "python_model",
      [](py::object function, const std::string& name, const std::string& device, py::object float64_factory) {
        return ModelPtr(std::make_shared<PythonModel>(std::move(function), name, torch::Device(device),
                                                      std::move(float64_factory)));
      },
      py::arg("function"), py::arg("name"), py::arg("device"), py::arg("float64_factory") = py::none(),
      "A Python callable function(points, extras) -> Tensor, called for every batch; float64_factory() "
      "returns the same function in float64 (or None) for the certificates' float64 ends.");

  m.def("set_num_threads", &igx::set_num_threads, py::arg("threads") = 0, py::arg("allow_more_than_cores") = false,
        "Sets LibTorch's and OpenBLAS's thread counts (igx.set_num_threads, which warns when it caps them, "
        "calls it); 0 = all cores. Returns the count in force.");
  m.def("available_cores", &igx::available_cores, "The cores this process may run on (its CPU affinity).");

  m.def(
      "integrated_gradients",
      [](ModelPtr model, const torch::Tensor& inputs, const ExtraInputs& extras, const py::kwargs& kwargs) {
        const IgOptions options = ig_options(kwargs);
        return to_python(without_gil({model}, [&] { return integrated_gradients(*model, inputs, options, extras); }));
      },
      py::arg("model"), py::arg("inputs"), py::arg("extras"));

  m.def(
      "gradient_method",
      [](const std::string& kind, ModelPtr model, const torch::Tensor& inputs, const ExtraInputs& extras,
         py::object target, const std::string& output, int64_t internal_batch_size, bool absolute) {
        const auto options = GradientOptions()
                                 .target(target_from(target))
                                 .output(parse_output_kind(output))
                                 .internal_batch_size(internal_batch_size)
                                 .absolute(absolute);
        return to_python(without_gil({model}, [&] {
          if (kind == "saliency") return saliency(*model, inputs, options, extras);
          if (kind == "inputxgradient") return input_x_gradient(*model, inputs, options, extras);
          throw Error("unknown gradient method '" + kind + "'; expected saliency or inputxgradient");
        }));
      },
      py::arg("kind"), py::arg("model"), py::arg("inputs"), py::arg("extras"), py::arg("target"),
      py::arg("output"), py::arg("internal_batch_size"), py::arg("absolute"),
      "Saliency (|dF/dx|, or signed) or Input x Gradient.");

  m.def(
      "noise_tunnel",
      [](ModelPtr model, const torch::Tensor& inputs, const std::string& attribution_method, const ExtraInputs& extras,
         int64_t samples, double stddev, const std::string& aggregate, uint64_t seed, const py::kwargs& kwargs) {
        const IgOptions options = ig_options(kwargs);
        const auto noise =
            NoiseOptions().samples(samples).stddev(stddev).aggregate(parse_noise_aggregate(aggregate)).seed(seed);
        return to_python(
            without_gil({model}, [&] { return noise_tunnel(*model, inputs, attribution_method, options, noise, extras); }));
      },
      py::arg("model"), py::arg("inputs"), py::arg("attribution_method"), py::arg("extras"), py::arg("samples"),
      py::arg("stddev"), py::arg("aggregate"), py::arg("seed"));

  m.def(
      "distribution_integrated_gradients",
      [](ModelPtr model, const torch::Tensor& inputs, const torch::Tensor& baselines, const ExtraInputs& extras,
         const py::kwargs& kwargs) {
        const IgOptions options = ig_options(kwargs);
        return to_python(without_gil(
            {model}, [&] { return distribution_integrated_gradients(*model, inputs, baselines, options, extras); }));
      },
      py::arg("model"), py::arg("inputs"), py::arg("baselines"), py::arg("extras"));

  m.def(
      "expected_gradients",
      [](ModelPtr model, const torch::Tensor& inputs, const torch::Tensor& baselines, const ExtraInputs& extras,
         int64_t samples, uint64_t seed, py::object target, const std::string& output, int64_t internal_batch_size) {
        const auto options = ExpectedGradientsOptions()
                                 .samples(samples)
                                 .seed(seed)
                                 .target(target_from(target))
                                 .output(parse_output_kind(output))
                                 .internal_batch_size(internal_batch_size);
        const ExpectedGradients result =
            without_gil({model}, [&] { return expected_gradients(*model, inputs, baselines, options, extras); });
        return py::make_tuple(to_python(result.attribution), result.standard_error, result.sum_standard_error);
      },
      py::arg("model"), py::arg("inputs"), py::arg("baselines"), py::arg("extras"), py::arg("samples"),
      py::arg("seed"), py::arg("target"), py::arg("output"), py::arg("internal_batch_size"));

  m.def(
      "layer_method",
      [](const std::string& kind, ModelPtr lower, ModelPtr upper, const std::string& layer,
         const torch::Tensor& inputs, const ExtraInputs& extras, const py::kwargs& kwargs) {
        const IgOptions options = ig_options(kwargs);
        SplitModel split = split_model(lower, upper, layer);
        return to_python(without_gil({lower, upper}, [&] {
          if (kind == "conductance") return layer_conductance(split, inputs, options, extras);
          if (kind == "internal_influence") return internal_influence(split, inputs, options, extras);
          throw Error("unknown layer method '" + kind + "'; expected conductance or internal_influence");
        }));
      },
      py::arg("kind"), py::arg("lower"), py::arg("upper"), py::arg("layer"), py::arg("inputs"), py::arg("extras"),
      "Layer conductance or internal influence of F = upper(lower(x)).");

  m.def(
      "neuron_conductance",
      [](ModelPtr lower, ModelPtr upper, const std::string& layer, const torch::Tensor& inputs,
         const std::vector<int64_t>& neurons, const ExtraInputs& extras, const py::kwargs& kwargs) {
        const IgOptions options = ig_options(kwargs);
        SplitModel split = split_model(lower, upper, layer);
        return to_python(
            without_gil({lower, upper}, [&] { return neuron_conductance(split, inputs, neurons, options, extras); }));
      },
      py::arg("lower"), py::arg("upper"), py::arg("layer"), py::arg("inputs"), py::arg("neurons"), py::arg("extras"));

  m.def(
      "sequential_integrated_gradients",
      [](ModelPtr model, const torch::Tensor& inputs, const torch::Tensor& baselines, const torch::Tensor& moving,
         const ExtraInputs& extras, const py::kwargs& kwargs) {
        const IgOptions options = ig_options(kwargs);
        const SequentialAttribution result = without_gil({model}, [&] {
          return sequential_integrated_gradients(*model, inputs, baselines, moving, options, extras);
        });
        py::list tokens;
        for (const auto& example : result.tokens) {
          py::list per_example;
          for (const auto& token : example) {
            py::dict report = report_dict(token.report);
            report["position"] = token.position;
            per_example.append(report);
          }
          tokens.append(per_example);
        }
        return py::make_tuple(to_python(result.attribution), tokens);
      },
      py::arg("model"), py::arg("inputs"), py::arg("baselines"), py::arg("moving"), py::arg("extras"));

  py::class_<NeighbourIndex, std::shared_ptr<NeighbourIndex>>(m, "NeighbourIndex")
      .def(py::init<torch::Tensor, int64_t>(), py::arg("vocabulary"), py::arg("neighbours"))
      .def_property_readonly("neighbours", &NeighbourIndex::neighbours)
      .def_property_readonly("known", &NeighbourIndex::known)
      .def("of", &NeighbourIndex::of, py::arg("word"), "The word's nearest neighbours, nearest first.");

  m.def(
      "discretized_integrated_gradients",
      [](ModelPtr model, std::shared_ptr<NeighbourIndex> index, const torch::Tensor& ids, const torch::Tensor& moving,
         int64_t baseline_word, const ExtraInputs& extras, const std::string& strategy, int64_t anchors,
         int64_t upscale, py::object target, const std::string& output, int64_t internal_batch_size) {
        const auto options = DigOptions()
                                 .strategy(parse_anchor_strategy(strategy))
                                 .anchors(anchors)
                                 .neighbours(index->neighbours())
                                 .upscale(upscale)
                                 .target(target_from(target))
                                 .output(parse_output_kind(output))
                                 .internal_batch_size(internal_batch_size);
        return to_python(without_gil({model}, [&] {
          return discretized_integrated_gradients(*model, *index, ids, moving, baseline_word, options, extras);
        }));
      },
      py::arg("model"), py::arg("index"), py::arg("ids"), py::arg("moving"), py::arg("baseline_word"),
      py::arg("extras"), py::arg("strategy"), py::arg("anchors"), py::arg("upscale"), py::arg("target"),
      py::arg("output"), py::arg("internal_batch_size"));

  // The explanation service (igx/explainer.h): what igx explain runs, for bundles and model files.
  py::class_<Explanation, std::shared_ptr<Explanation>>(m, "Explanation")
      .def_readonly("attributions", &Explanation::attributions)
      .def_readonly("standard_errors", &Explanation::standard_errors)
      .def("json", [](const Explanation& explanation) { return to_json(explanation).dump(); },
           "The explanation as JSON text, schema igx.explanation/1.")
      .def("reports", [](const Explanation& explanation) {
        py::list reports;
        for (const ExampleExplanation& example : explanation.examples) reports.append(report_dict(example.report));
        return reports;
      })
      .def("token_reports", &token_report_dicts)
      .def("html", [](const Explanation& explanation, const std::string& title) {
        return render_html(text_page_views(explanation), title);
      }, py::arg("title"), "Texts: the HTML page of igx explain's explanation.html.")
      .def("summary", [](const Explanation& explanation, int top, int max_examples) {
        return summarize(explanation, top, max_examples);
      }, py::arg("top"), py::arg("max_examples"));

  py::class_<Explainer, std::shared_ptr<Explainer>>(m, "Explainer")
      .def_static(
          "load",
          [](const std::string& model, const std::string& entry, const std::string& device) {
            const auto options = LoadOptions().entry(entry).device(torch::Device(device));
            py::gil_scoped_release release;
            return Explainer::load(model, options);
          },
          py::arg("model"), py::arg("entry"), py::arg("device"))
      .def_property_readonly("name", &Explainer::name)
      .def_property_readonly("modality", [](const Explainer& explainer) { return modality_name(explainer.modality()); })
      .def("label", &Explainer::label, py::arg("index"))
      .def(
          "explain",
          [](Explainer& explainer, const std::vector<std::string>& texts, const std::vector<std::string>& image_paths,
             const py::object& images, const py::object& inputs, const std::vector<std::string>& ids,
             const std::vector<std::pair<std::string, std::string>>& options, const py::object& baseline,
             const py::object& baselines) {
            const ExplainRequest request =
                explain_request(texts, image_paths, images, inputs, ids, options, baseline, baselines);
            return std::make_shared<Explanation>(without_gil({}, [&] { return explainer.explain(request); }));
          },
          py::arg("texts"), py::arg("image_paths"), py::arg("images"), py::arg("inputs"), py::arg("ids"),
          py::arg("options"), py::arg("baseline"), py::arg("baselines"),
          "Explains one request (igx::ExplainRequest); options are (name, value as text) pairs.");

  m.def("explain_options", [] {
    py::list options;
    for (const ExplainOptionInfo& info : explain_option_table()) {
      std::string name = info.name;
      std::replace(name.begin(), name.end(), '-', '_');
      py::dict option;
      option["name"] = name;
      option["placeholder"] = info.placeholder;
      option["default"] = info.default_value;
      option["help"] = info.help;
      options.append(option);
    }
    return options;
  }, "The options of a request, as igx explain --help lists them, with Python's names.");
}
