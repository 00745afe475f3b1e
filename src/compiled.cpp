// vitals::compiled (CMake option VITALS_SEPARATE_COMPILATION): Asio's and
// Beast's compiled parts, vitals' HTTP server, registry and exposition
// writers, built once here instead of in every translation unit that
// includes them. The target defines VITALS_SEPARATE_COMPILATION,
// BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION for
// this file and every one linking it, so all agree on what the headers only
// declare (core/detail/config.hpp).
#if !defined(VITALS_SEPARATE_COMPILATION)
#error \
    "src/compiled.cpp is built by the vitals::compiled target, which defines VITALS_SEPARATE_COMPILATION"
#endif

#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>

#include "vitals/core/detail/labels_impl.hpp"
#include "vitals/format/detail/families_impl.hpp"
#include "vitals/format/detail/negotiate_impl.hpp"
#include "vitals/format/detail/openmetrics_impl.hpp"
#include "vitals/format/detail/protobuf_impl.hpp"
#include "vitals/format/detail/text_impl.hpp"
#include "vitals/http/api.hpp"
#include "vitals/http/detail/exchange_impl.hpp"
#include "vitals/http/detail/exporter_impl.hpp"
#include "vitals/http/detail/server_impl.hpp"
#include "vitals/instruments/detail/family_impl.hpp"
#include "vitals/instruments/detail/registry_impl.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/null.hpp"

// The class templates that registry.hpp, api.hpp and metrics_route.hpp
// declare `extern template` in this mode.
template class vitals::family<vitals::counter>;
template class vitals::family<vitals::gauge>;
template class vitals::family<vitals::histogram>;
template class vitals::family<vitals::exponential_histogram>;
template class vitals::http::metrics_route<vitals::registry, vitals::stores::memory_store>;
template class vitals::http::metrics_route<vitals::registry, vitals::stores::null_store>;
template class vitals::http::query_routes<vitals::stores::memory_store>;
