// Must not compile: the diagnostic has to name the missing requirement
// (target_manager 3).
#include "../support/layer_archetypes.hpp"

static_assert(vitals::target_manager<vitals::archetypes::target_manager_without_list>,
              "target_manager_without_list is not a vitals::target_manager");
int main() {}
