// Must not compile: the diagnostic has to name the missing requirement
// (versioned_store 1: a latest_all_store).
#include "../support/archetypes.hpp"

template <vitals::versioned_store S>
void use(S&) {}

int main() {
  vitals::archetypes::versioned_without_latest_all s;
  use(s);
}
