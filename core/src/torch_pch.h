// Precompiled header for every torch-heavy translation unit of the core and the tests.
// <torch/torch.h> costs ~15 s per file to parse; compiled once here it costs ~1 s.
#pragma once
#include <torch/torch.h>
