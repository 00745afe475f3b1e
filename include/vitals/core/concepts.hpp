// The extension points of vitals, as concepts: this header includes every
// topic's file, so `#include "vitals/core/concepts.hpp"` still gives them all.
// Each requirement is numbered and carries its reason, so a compile error
// points at a sentence. A backend proves itself with
// `static_assert(vitals::store<my_store>)`; tests/support/archetypes.hpp has
// the smallest type that models each concept, tests/concepts_test.cpp a near
// miss for each requirement.
//
// Where each concept lives:
//   core/sampling.hpp       sampler, async_sampler, any_sampler_kind, snapshot_source
//   core/storage.hpp        point, store and its optional capabilities:
//                           latest_all_store, versioned_store,
//                           aggregating_store, downsampling_store,
//                           label_dropping_store; hot_tier
//   core/watching.hpp       watch_subscription, watchable
//   core/sinking.hpp        sink
//   core/event_storage.hpp  event_store
// Three homes above core, because their requirements name types of a higher
// layer (core is std only, see shared/DESIGN.md):
//   runtime/targets.hpp     target_manager (target_spec, target_info)
//   agent/usage_store.hpp   usage_store (usage_event, usage_query, usage_row)
//   http/concepts.hpp       route, request_handler, event_ingest,
//                           usage_reports, spool_source (the HTTP layer's own
//                           contract: requests, exchanges, JSON answers)
#pragma once

#include "vitals/core/event_storage.hpp"
#include "vitals/core/sampling.hpp"
#include "vitals/core/sinking.hpp"
#include "vitals/core/storage.hpp"
#include "vitals/core/watching.hpp"
