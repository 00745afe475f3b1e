// Must not compile: the diagnostic has to name the missing requirement.
#include "../support/archetypes.hpp"

template <vitals::sink S>
void use(S&) {}

int main() {
  vitals::archetypes::sink_without_flush s;
  use(s);
}
