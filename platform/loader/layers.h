// Reading network.layers of a training workload: each layer's type and the keys the layer
// catalogue (cestvp/layer_catalogue.h) gives that type, its input, and its shapes, inferred
// from the dataset's; every problem reported at its line (docs/workloads.md, "Layers").
#pragma once
#include <vector>

#include "config/yaml_reader.h"
#include "loader/workload.h"

namespace cestvp {

std::vector<TrainLayer> read_layers(const YamlValue& network, const TrainDataset& data);

}  // namespace cestvp
