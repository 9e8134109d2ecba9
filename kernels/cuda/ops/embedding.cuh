// Embedding gather: out[t] = dequantize(table row token_ids[t]).
#pragma once

#include <cstdint>

#include "kernels/cpu/ggml_type.h"
#include "kernels/cuda/common/device.cuh"
#include "kernels/cuda/ops/act_type.cuh"

namespace loom::cuda {

// table:     [n_vocab][dim] in `type`, raw GGUF blocks (Q8_0, Q4_0, Q4_1: dim a
//            multiple of 32; F16: any dim). Rows are read as stored in the file.
// token_ids: [n_tokens] int32, device.
// out:       [n_tokens][dim] fp16 or fp32 (out_type), device.
// status:    optional device int32; set to 1 when an id is outside [0, n_vocab)
//            (that row is written as zeros). Never cleared by the kernel.
// One block per token, threads stride over the row's blocks of 32.
cudaError_t launch_embedding_gather(const void* table, GgmlType type, int64_t n_vocab, int32_t dim,
                                    const int32_t* token_ids, int32_t n_tokens, void* out,
                                    ActType out_type, int32_t* status, cudaStream_t stream);

}  // namespace loom::cuda
