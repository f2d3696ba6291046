// Dataset reader speed: reads the Fashion-MNIST training set (60000 images) as the training
// workloads will, and prints wall and CPU time. Figures: docs/performance.md.
#include <chrono>
#include <cstdio>
#include <ctime>

#include "data/dataset.h"

int main() {
  const std::string dir = cestvp::fashion_mnist_dir();
  const auto wall0 = std::chrono::steady_clock::now();
  const std::clock_t cpu0 = std::clock();
  const cestvp::Dataset d =
      cestvp::read_idx(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz");
  const double cpu = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  std::printf("fashion-mnist train: %zu images of %ux%ux%u read in %.3f s wall, %.3f s CPU (%.1f MB of floats)\n",
              d.count(), d.height, d.width, d.channels, wall, cpu, d.images.size() * 4 / 1e6);
  return 0;
}
