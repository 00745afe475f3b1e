#include "exposition.hpp"
VITALS_FUZZ_MAIN(vitals::fuzz::exposition)
