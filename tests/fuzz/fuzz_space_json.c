/*
 * fuzz_space_json.c - libFuzzer target for the reader of fresh's own space
 * format (fresh_space_read_json_string, docs/space-format.md). Accepted
 * spaces are written back, re-read, sampled, encoded and decoded
 * (fuzz_common.h). Build and run with scripts/fuzz.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_one(data, size, fresh_space_read_json_string);
}
