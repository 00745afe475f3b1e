// Must not compile: the diagnostic has to name the missing requirement
// (route 3: a 405 carries Allow).
#include "../support/layer_archetypes.hpp"

template <vitals::http::route R>
void use(R&) {}

int main() {
  vitals::archetypes::route_without_allow r;
  use(r);
}
