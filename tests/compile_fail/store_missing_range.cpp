// Must not compile: the diagnostic has to name the missing requirement.
#include "../support/archetypes.hpp"

static_assert(vitals::store<vitals::archetypes::store_missing_range>,
              "store_missing_range is not a vitals::store");
int main() {}
