// Must not compile: the diagnostic has to name the missing requirement
// (usage_store 4).
#include "../support/layer_archetypes.hpp"

static_assert(vitals::agent::usage_store<vitals::archetypes::usage_store_without_count>,
              "usage_store_without_count is not a vitals::agent::usage_store");
int main() {}
