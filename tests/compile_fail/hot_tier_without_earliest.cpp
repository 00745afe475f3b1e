// Must not compile: the diagnostic has to name the missing requirement
// (hot_tier 2: how far back the hot tier reaches).
#include "../support/archetypes.hpp"

using vitals::archetypes::query_archetype;
using vitals::archetypes::selector_archetype;
static_assert(vitals::hot_tier<vitals::archetypes::hot_tier_without_earliest<query_archetype,
                                                                             selector_archetype>,
                               query_archetype, selector_archetype>,
              "hot_tier_without_earliest is not a vitals::hot_tier");
int main() {}
