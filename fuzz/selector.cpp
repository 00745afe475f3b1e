#include "selector.hpp"
VITALS_FUZZ_MAIN(vitals::fuzz::selector)
