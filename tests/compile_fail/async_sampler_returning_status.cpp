// Must not compile: the diagnostic has to name the missing requirement
// (async_sampler 1: async_collect returns an awaitable of status).
#include "../support/archetypes.hpp"

static_assert(vitals::async_sampler<vitals::archetypes::async_sampler_returning_status>,
              "async_sampler_returning_status is not a vitals::async_sampler");
int main() {}
