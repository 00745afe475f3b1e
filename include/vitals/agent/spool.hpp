// The durable spool under the agent's names. The code lives in
// core/detail/spool.hpp, shared plumbing the PostgreSQL store's failover
// uses too.
#pragma once

#include "vitals/core/detail/spool.hpp"

namespace vitals::agent {

using vitals::detail::dead_record;
using vitals::detail::default_max_refusals;
using vitals::detail::max_spool_error;
using vitals::detail::pending_record;
using vitals::detail::spool;
using vitals::detail::spool_cleanup_policy;
using vitals::detail::spool_cleanup_result;
using vitals::detail::spool_record;

}  // namespace vitals::agent
