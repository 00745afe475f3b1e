#include "usage_events.hpp"
VITALS_FUZZ_MAIN(vitals::fuzz::usage_events)
