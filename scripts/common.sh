# Sourced by the scripts beside it: the repository root and one build
# environment for all of them (Ninja, ccache shared between clones, 2 jobs).
# shellcheck shell=bash

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=${VITALS_JOBS:-2}

export CMAKE_GENERATOR=${CMAKE_GENERATOR:-Ninja}
export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
export CMAKE_BUILD_PARALLEL_LEVEL=$jobs
export CTEST_PARALLEL_LEVEL=$jobs
export CCACHE_DIR=${CCACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/vitals-ccache}
# CI builds a fresh clone in another folder: relative paths let it reuse the cache.
# Always this checkout: a base_dir inherited from another clone would make every
# path here absolute again (VITALS_CCACHE_BASEDIR overrides it on purpose).
export CCACHE_BASEDIR=${VITALS_CCACHE_BASEDIR:-$root}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
# The test build's precompiled header: ccache caches it and the files that use
# it only with these (ccache manual, "Precompiled headers").
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}

banner() { printf '\n======== %s ========\n' "$*"; }
