#include "router.hpp"
VITALS_FUZZ_MAIN(vitals::fuzz::router)
