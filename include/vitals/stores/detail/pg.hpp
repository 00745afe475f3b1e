// The schema of the sample and the event stores (stores/postgres.hpp,
// stores/event_postgres.hpp), versioned in `vitals_schema`, and the helpers
// only they use. The libpq plumbing is stores/pg_connection.hpp. The agent's
// usage tables were step 3 here; agent/usage_postgres.hpp owns them now (a
// database that ran that step keeps its tables and opens as before).
#pragma once

#include <iterator>

#include "vitals/core/labels.hpp"
#include "vitals/core/series.hpp"
#include "vitals/stores/detail/label_codec.hpp"
#include "vitals/stores/pg_connection.hpp"

namespace vitals::stores::pg {

using detail::decode_series;  // labels as the SQLite store keeps them
using detail::encode_label;
using detail::encode_labels;

// --- schema ----------------------------------------------------------------
// One schema for the sample and the event store (see pg::schema).
inline constexpr const char* migrations[] = {
    // 1: series and samples. BRIN on t serves retention without slowing
    // inserts. No foreign key from samples: its per-row check halved the
    // append rate; drop() deletes both in one statement instead.
    "CREATE TABLE series (id bigserial PRIMARY KEY, name text NOT NULL, labels text NOT NULL, "
    "UNIQUE (name, labels));"
    "CREATE TABLE samples (series_id bigint NOT NULL, "
    "t timestamptz NOT NULL, value double precision, PRIMARY KEY (series_id, t));"
    "CREATE INDEX samples_t ON samples USING brin (t);",
    // 2: events in streams with per-stream versions.
    "CREATE TABLE events (stream text NOT NULL, version bigint NOT NULL, type text NOT NULL, "
    "t timestamptz NOT NULL, session text NOT NULL, plan text NOT NULL, task text NOT NULL, "
    "data text NOT NULL, PRIMARY KEY (stream, version));"
    "CREATE INDEX events_type ON events (stream, type, version);",
};

/// Step 3 of `vitals_schema` created the agent's usage tables before they
/// moved to agent/usage_postgres.hpp: a database at version 3 is current.
inline constexpr int schema_version = static_cast<int>(std::size(migrations));
inline constexpr schema store_schema{"vitals_schema", 7305872611, migrations};

inline status migrate(connection& c) { return pg::migrate(c, store_schema); }

/// Whether the timescaledb extension can be used; creates it when it can.
inline bool enable_timescale(connection& c) {
  auto r = c.query("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'");
  if (!r || r->int64(0, 0) == 0) return false;
  if (!c.exec("CREATE EXTENSION IF NOT EXISTS timescaledb")) return false;
  return bool(c.query(
      "SELECT create_hypertable('samples', 't', if_not_exists => TRUE, migrate_data => TRUE)"));
}

}  // namespace vitals::stores::pg
