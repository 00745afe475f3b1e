// Must not compile: the diagnostic has to name the missing requirement
// (event_store 3).
#include "../support/archetypes.hpp"

static_assert(vitals::event_store<vitals::archetypes::event_store_without_read_by_type>,
              "event_store_without_read_by_type is not a vitals::event_store");
int main() {}
