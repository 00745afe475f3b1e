// Thread-owned counter cells: the storage behind every counter and histogram.
//
// Each thread that writes gets a slot of its own: a flat array of cells that
// only it writes. Each instrument owns a small range of cell ids. An increment
// is therefore one TLS load and a plain load/add/store on memory no other
// thread writes: no lock prefix, no shared cache line. Readers sum a cell over
// all slots. Slot arrays come from calloc, so on Linux a page costs memory
// only once a thread writes into it.
//
// Threads beyond `max_slots` (and code that runs while a thread exits) share
// one overflow array and use atomic read-modify-writes on it instead.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

namespace vitals::detail {

inline constexpr std::size_t max_cells = std::size_t{1} << 21;  // 16 MiB of address space a slot
inline constexpr std::size_t max_slots = 256;                   // threads with cells of their own

using cell_ref = std::atomic_ref<std::uint64_t>;

/// Process-wide state: slot arrays, their owners, and the allocation of cell
/// ids. Leaked on purpose, so that no exiting thread can outlive it.
class cell_space {
 public:
  static cell_space& get() {
    static cell_space* s = new cell_space;
    return *s;
  }

  /// A slot for the calling thread, or nullptr when every slot is taken.
  std::uint64_t* acquire_slot() {
    std::lock_guard lock(mu_);
    if (free_slots_.empty()) return nullptr;
    std::size_t i = free_slots_.back();
    free_slots_.pop_back();
    if (!slots_[i].load(std::memory_order_relaxed)) {
      slots_[i].store(new_array(), std::memory_order_release);
      used_.store(std::max(used_.load(std::memory_order_relaxed), i + 1),
                  std::memory_order_release);
    }
    return slots_[i].load(std::memory_order_relaxed);
  }

  /// The thread is gone; its values stay and count, and the next thread
  /// continues adding to them.
  void release_slot(std::uint64_t* cells) {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < used_.load(std::memory_order_relaxed); ++i)
      if (slots_[i].load(std::memory_order_relaxed) == cells) free_slots_.push_back(i);
  }

  std::uint64_t* overflow() noexcept { return overflow_; }

  /// `n` contiguous cells, zero in every slot.
  std::uint32_t allocate(std::size_t n) {
    std::lock_guard lock(mu_);
    if (auto it = free_ranges_.find(n); it != free_ranges_.end() && !it->second.empty()) {
      auto id = it->second.back();
      it->second.pop_back();
      return id;
    }
    if (n == 0 || next_ + n > max_cells)
      throw std::length_error("vitals: out of instrument cells (max_cells)");
    auto id = static_cast<std::uint32_t>(next_);
    next_ += n;
    return id;
  }

  /// Returns a range for reuse, zeroed first so that the next instrument
  /// starts at zero. The caller guarantees that no writer still uses it.
  void free(std::uint32_t id, std::size_t n) {
    std::lock_guard lock(mu_);
    for_each_array([&](std::uint64_t* cells) {
      for (std::size_t i = id; i < id + n; ++i)  // read first: never commit an untouched page
        if (cell_ref(cells[i]).load(std::memory_order_relaxed) != 0)
          cell_ref(cells[i]).store(0, std::memory_order_relaxed);
    });
    free_ranges_[n].push_back(id);
  }

  /// Visits every slot array ever handed out, and the overflow array.
  template <class F>
  void for_each_array(F&& f) {
    const std::size_t used = used_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < used; ++i)
      if (std::uint64_t* cells = slots_[i].load(std::memory_order_acquire)) f(cells);
    f(overflow_);
  }

 private:
  cell_space() : overflow_(new_array()) {
    for (std::size_t i = max_slots; i > 0; --i) free_slots_.push_back(i - 1);
  }

  static std::uint64_t* new_array() {
    void* p = std::calloc(max_cells, sizeof(std::uint64_t));
    if (!p) throw std::bad_alloc();
    return static_cast<std::uint64_t*>(p);
  }

  std::mutex mu_;
  std::atomic<std::uint64_t*> slots_[max_slots] = {};
  std::atomic<std::size_t> used_{0};
  std::vector<std::size_t> free_slots_;
  std::uint64_t* overflow_;
  std::size_t next_ = 0;
  std::map<std::size_t, std::vector<std::uint32_t>> free_ranges_;
};

// This thread's cells; null until the first write, and for threads that got
// no slot. Trivially initialised, so reading it is one TLS load with no guard.
inline thread_local std::uint64_t* tls_cells = nullptr;
inline thread_local bool tls_shared = false;  // gave up on a slot of its own

struct slot_owner {
  std::uint64_t* cells;
  ~slot_owner() {
    tls_cells = nullptr;
    tls_shared = true;  // writes from later thread-exit code go to the overflow array
    cell_space::get().release_slot(cells);
  }
};

/// The cells of the calling thread, or nullptr when it must share.
[[gnu::noinline]] inline std::uint64_t* acquire_tls_cells() {
  if (tls_shared) return nullptr;
  std::uint64_t* cells = cell_space::get().acquire_slot();
  if (!cells) {
    tls_shared = true;
    return nullptr;
  }
  thread_local slot_owner owner{cells};
  tls_cells = cells;
  return cells;
}

[[gnu::noinline]] inline void add_u64_shared(std::size_t id, std::uint64_t n) noexcept {
  if (std::uint64_t* own = acquire_tls_cells()) {
    cell_ref(own[id]).fetch_add(n, std::memory_order_relaxed);  // first write of this thread
    return;
  }
  cell_ref(cell_space::get().overflow()[id]).fetch_add(n, std::memory_order_relaxed);
}

[[gnu::noinline]] inline void add_f64_shared(std::size_t id, double d) noexcept {
  std::uint64_t* cells = acquire_tls_cells();
  if (!cells) cells = cell_space::get().overflow();
  cell_ref c(cells[id]);
  std::uint64_t old = c.load(std::memory_order_relaxed);
  while (!c.compare_exchange_weak(old, std::bit_cast<std::uint64_t>(std::bit_cast<double>(old) + d),
                                  std::memory_order_relaxed)) {
  }
}

inline void add_u64(std::size_t id, std::uint64_t n) noexcept {
  std::uint64_t* cells = tls_cells;
  if (!cells) [[unlikely]]
    return add_u64_shared(id, n);
  cell_ref c(cells[id]);
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

inline void add_f64(std::size_t id, double d) noexcept {
  std::uint64_t* cells = tls_cells;
  if (!cells) [[unlikely]]
    return add_f64_shared(id, d);
  cell_ref c(cells[id]);
  c.store(
      std::bit_cast<std::uint64_t>(std::bit_cast<double>(c.load(std::memory_order_relaxed)) + d),
      std::memory_order_relaxed);
}

/// Sums cells [id, id + n) over all slots into `out`.
inline void sum_u64(std::size_t id, std::size_t n, std::uint64_t* out) {
  for (std::size_t i = 0; i < n; ++i) out[i] = 0;
  cell_space::get().for_each_array([&](std::uint64_t* cells) {
    for (std::size_t i = 0; i < n; ++i)
      out[i] += cell_ref(cells[id + i]).load(std::memory_order_relaxed);
  });
}

inline double sum_f64(std::size_t id) {
  double total = 0;
  cell_space::get().for_each_array([&](std::uint64_t* cells) {
    total += std::bit_cast<double>(cell_ref(cells[id]).load(std::memory_order_relaxed));
  });
  return total;
}

/// Owns a range of cells for the lifetime of one instrument.
class cell_range {
 public:
  explicit cell_range(std::size_t n) : id_(cell_space::get().allocate(n)), n_(n) {}
  ~cell_range() { cell_space::get().free(id_, n_); }
  cell_range(const cell_range&) = delete;
  cell_range& operator=(const cell_range&) = delete;

  std::size_t id() const noexcept { return id_; }
  std::size_t size() const noexcept { return n_; }

 private:
  std::uint32_t id_;
  std::size_t n_;
};

}  // namespace vitals::detail
