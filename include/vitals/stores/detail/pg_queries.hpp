// The SQL of the PostgreSQL sample store (stores/postgres.hpp) and of its
// writer (detail/pg_writer.hpp): every statement is a constant, or built once
// from constants when the store opens; input is only ever bound as $n.
// Times cross as milliseconds since the epoch (VITALS_PG_MS / VITALS_PG_TS).
#pragma once

#include <iterator>
#include <string>
#include <utility>

#include "vitals/core/series.hpp"
#include "vitals/stores/detail/pg.hpp"
#include "vitals/stores/pg_connection.hpp"
#include "vitals/stores/query.hpp"

namespace vitals::stores::pg {

/// $1 and $2 of every statement about one series: its name and its labels,
/// encoded as the series table keeps them.
inline params series_key(const series& id) {
  return params{}.add(id.name()).add(encode_labels(id.labels()));
}

namespace sql {

// Reads ($1, $2: series_key).
inline constexpr const char* latest =
    "SELECT " VITALS_PG_MS("t") ", value FROM samples WHERE series_id = "
    "(SELECT id FROM series WHERE name = $1 AND labels = $2) ORDER BY t DESC LIMIT 1";
/// The latest point of every series, in one query (DISTINCT ON).
inline constexpr const char* latest_all =
    "SELECT s.name, s.labels, " VITALS_PG_MS(
        "x.t") ", x.value FROM (SELECT DISTINCT ON "
               "(series_id) series_id, t, value FROM samples ORDER BY series_id, t DESC) x "
               "JOIN series s ON s.id = x.series_id ORDER BY s.name COLLATE \"C\", s.labels "
               "COLLATE \"C\"";
/// Every series' points after $1 (milliseconds), at most $2 per series, in
/// series then time order: one index probe per series (the primary key).
inline constexpr const char* since =
    "SELECT x.name, x.labels, " VITALS_PG_MS("s.t") ", s.value FROM series x CROSS JOIN LATERAL "
    "(SELECT t, value FROM samples WHERE series_id = x.id AND t > " VITALS_PG_TS("$1") " ORDER BY "
    "t LIMIT $2) s ORDER BY x.id, s.t";
/// $3, $4: from and to, in milliseconds.
inline constexpr const char* range =
    "SELECT " VITALS_PG_MS("t") ", value FROM samples WHERE series_id = "
    "(SELECT id FROM series WHERE name = $1 AND labels = $2) "
    "AND t >= " VITALS_PG_TS("$3") " AND t <= " VITALS_PG_TS("$4") " ORDER BY t";
inline constexpr const char* list_series =
    "SELECT name, labels FROM series ORDER BY name COLLATE \"C\", labels COLLATE \"C\"";

// Deletes.
/// A series and its samples, in one statement (samples has no foreign key).
inline constexpr const char* drop_series =
    "WITH gone AS (DELETE FROM series WHERE name = $1 AND labels = $2 RETURNING id), "
    "points AS (DELETE FROM samples WHERE series_id IN (SELECT id FROM gone)) "
    "SELECT count(*) FROM gone";
/// $1: one encoded label (encode_label): the candidates of drop_labelled,
/// decoded and checked before they are deleted.
inline constexpr const char* series_with_label =
    "SELECT id, name, labels FROM series WHERE strpos(labels, $1) > 0";
/// $1: series ids as an array literal ({1,2}); the series and their samples.
inline constexpr const char* drop_series_ids =
    "WITH gone AS (DELETE FROM series WHERE id = ANY ($1::bigint[]) RETURNING id), "
    "points AS (DELETE FROM samples WHERE series_id IN (SELECT id FROM gone)) "
    "SELECT count(*) FROM gone";
/// $1: the cutoff in milliseconds. TimescaleDB drops whole chunks and counts them.
inline constexpr const char* prune_timescale =
    "SELECT count(*) FROM drop_chunks('samples', older_than => " VITALS_PG_TS("$1") ")";
inline constexpr const char* prune_plain = "DELETE FROM samples WHERE t < " VITALS_PG_TS("$1");

// The writer's.
/// The id of a series, created when new.
inline constexpr const char* series_id =
    "INSERT INTO series (name, labels) VALUES ($1, $2) ON CONFLICT (name, labels) "
    "DO UPDATE SET name = excluded.name RETURNING id";
/// $1, $2, $3: int8[], timestamptz[], float8[] (pg_binary.hpp's sample_arrays).
inline constexpr const char* insert_samples =
    "INSERT INTO samples (series_id, t, value) SELECT * FROM unnest($1, $2, $3)";
inline constexpr const char* upsert_samples =
    "INSERT INTO samples (series_id, t, value) SELECT * FROM unnest($1, $2, $3) "
    "ON CONFLICT (series_id, t) DO UPDATE SET value = excluded.value";

}  // namespace sql

/// range_aggregated's statements: one per aggregation SQL computes (mean,
/// min, max, sum, count, last) and per bucketing function (date_bin on plain
/// PostgreSQL, time_bucket under TimescaleDB). Bound: $1, $2 series_key;
/// $3, $4 from and to; $5 the step and $6 the origin, in milliseconds.
class aggregated_queries {
 public:
  aggregated_queries() {
    const std::string where =
        " FROM samples WHERE series_id = (SELECT id FROM series WHERE name = $1 AND labels = $2) "
        "AND t >= " VITALS_PG_TS("$3") " AND t <= " VITALS_PG_TS("$4");
    const std::pair<aggregation, std::string> aggs[] = {{aggregation::mean, "avg(value)"},
                                                        {aggregation::min, "min(value)"},
                                                        {aggregation::max, "max(value)"},
                                                        {aggregation::sum, "sum(value)"},
                                                        {aggregation::count, "count(*)"}};
    const std::string stride = "$5::int8 * interval '1 millisecond'", origin = VITALS_PG_TS("$6");
    const std::string fns[] = {"date_bin(" + stride + ", t, " + origin + ")",
                               "time_bucket(" + stride + ", t, origin => " + origin + ")"};
    for (int f = 0; f < 2; ++f) {
      const std::string b = "SELECT " + fns[f] + " AS b, t, value" + where;
      for (const auto& [a, expr] : aggs)
        sql_[f][static_cast<int>(a)] =
            "SELECT " VITALS_PG_MS("b") ", " + expr + " FROM (" + b + ") x GROUP BY b ORDER BY b";
      sql_[f][static_cast<int>(aggregation::last)] =
          "SELECT DISTINCT ON (b) " VITALS_PG_MS("b") ", value FROM (" + b +
          ") x ORDER BY b, t DESC";
    }
  }

  /// For an aggregation that pushes_down(); empty for the others.
  const char* get(bool timescale, aggregation a) const {
    return sql_[timescale ? 1 : 0][static_cast<int>(a)].c_str();
  }

 private:
  std::string sql_[2][std::size(aggregation_names)];
};

}  // namespace vitals::stores::pg
