// The durable spool under the agent's names. The code lives in
// stores/detail/spool.hpp, where the PostgreSQL store can use it too (stores/
// may not include agent/).
#pragma once

#include "vitals/stores/detail/spool.hpp"

namespace vitals::agent {

using stores::detail::dead_record;
using stores::detail::default_max_refusals;
using stores::detail::max_spool_error;
using stores::detail::pending_record;
using stores::detail::spool;
using stores::detail::spool_cleanup_policy;
using stores::detail::spool_cleanup_result;
using stores::detail::spool_record;

}  // namespace vitals::agent
