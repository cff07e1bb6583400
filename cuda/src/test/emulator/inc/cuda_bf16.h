#pragma once  // stand-in: the emulation (emu_cuda.h) defines what the kernels use
