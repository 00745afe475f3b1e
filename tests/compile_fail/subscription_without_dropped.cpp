// Must not compile: the diagnostic has to name the missing requirement
// (watch_subscription 2: a loss is counted).
#include "../support/archetypes.hpp"

static_assert(vitals::watch_subscription<vitals::archetypes::subscription_without_dropped>,
              "subscription_without_dropped is not a vitals::watch_subscription");
int main() {}
