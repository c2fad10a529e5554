/*
 * fuzz_configspace.c - libFuzzer target for the ConfigSpace JSON reader
 * (fresh_space_read_configspace_string, docs/space-format.md). Accepted
 * spaces are written in fresh's format, re-read, sampled, encoded and
 * decoded (fuzz_common.h). Build and run with scripts/fuzz.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_one(data, size, fresh_space_read_configspace_string);
}
