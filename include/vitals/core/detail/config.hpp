// Header-only (the default) or separately compiled, the way Asio does it.
// With VITALS_SEPARATE_COMPILATION defined (the CMake target vitals::compiled
// defines it for every translation unit that links it, beside
// BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION), the
// headers declare the functions marked VITALS_DECL and the class templates
// listed as `extern template`; src/compiled.cpp defines them once. Without it
// they are `inline` in the headers and nothing needs linking.
#pragma once

#if defined(VITALS_SEPARATE_COMPILATION)
#define VITALS_DECL
#else
#define VITALS_HEADER_ONLY 1
#define VITALS_DECL inline
#endif
