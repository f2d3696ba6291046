// Training workloads (program: train): the workload's network, dataset and scheme, the loader
// that turns them into the DDR image of firmware/include/cestvp/model.h, and the export of
// what the firmware measured. Work in progress (issue 4).
#pragma once
