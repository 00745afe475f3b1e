#include "times.hpp"
VITALS_FUZZ_MAIN(vitals::fuzz::times)
