#include "importers.hpp"
VITALS_FUZZ_MAIN(vitals::fuzz::importers)
