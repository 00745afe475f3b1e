// Simulates coding agents for the demo and the tests: N worker processes cycle through idle,
// thinking (one busy core, extra memory) and tool-call (CPU burst, temp-file I/O) phases; the
// parent registers each as a monitor target, each worker posts its usage events. With
// --history DAYS the parent first posts the usage a fleet would have left over those days.
//   agent_simulator [--monitor http://127.0.0.1:9464] [--agents 3] [--token T]
//                   [--duration SECONDS, 0 = until SIGINT] [--speed X] [--seed S]
//                   [--history DAYS, 0 to 30]
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vitals/agent/pricing.hpp"
#include "vitals/net/client.hpp"

namespace json = boost::json;
using clock_type = std::chrono::steady_clock;
using vitals::net::client;

namespace {

struct options {
  std::string monitor = "http://127.0.0.1:9464", token;
  int agents = 3;
  double duration = 0, speed = 1;
  int history_days = 0;
  unsigned seed = std::random_device{}();
};

struct model {
  const char *name, *provider;
  bool cache_writes;  // the provider charges for writing its prompt cache
};
constexpr model models[] = {{"claude-sonnet-4-5", "anthropic", true},
                            {"claude-opus-4-1", "anthropic", true},
                            {"gpt-5", "openai", false},
                            {"gpt-5-mini", "openai", false}};
constexpr const char* tools[] = {"Bash", "Read", "Edit", "Grep", "WebFetch"};

volatile std::sig_atomic_t stop_requested = 0;
extern "C" void on_signal(int) { stop_requested = 1; }

// No SA_RESTART: a signal cuts a sleep short instead of waiting it out.
void install_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

clock_type::time_point after(double seconds) {
  return clock_type::now() +
         std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
}

// Sleeps in slices so a stop request is seen within 50 ms; false when stopped.
bool nap(double seconds) {
  const auto end = after(seconds);
  while (!stop_requested && clock_type::now() < end)
    std::this_thread::sleep_for(
        std::min<clock_type::duration>(std::chrono::milliseconds(50), end - clock_type::now()));
  return !stop_requested;
}

// Busy-loops for `seconds` at `duty` of one core, reading `mem` so it stays resident.
void burn(double seconds, double duty, const char* mem = nullptr, std::size_t size = 0) {
  const auto end = after(seconds);
  const auto slice = std::chrono::milliseconds(100);
  volatile std::uint64_t sink = 0;
  std::size_t page = 0;
  while (!stop_requested && clock_type::now() < end) {
    const auto busy_until =
        clock_type::now() + std::chrono::duration_cast<clock_type::duration>(slice * duty);
    while (clock_type::now() < busy_until)
      for (int i = 0; i < 1000; ++i) {
        sink = sink * 6364136223846793005u + 1442695040888963407u;
        if (size) sink = sink + static_cast<unsigned char>(mem[(page += 4096) % size]);
      }
    nap(std::chrono::duration<double>(slice * (1 - duty)).count());
  }
}

std::string rfc3339(std::chrono::system_clock::time_point at) {
  const std::time_t t = std::chrono::system_clock::to_time_t(at);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

// One model call's tokens, and the cost at the list prices the monitor knows too (what the
// agent reports it paid).
void add_model_call(json::object& e, std::mt19937& rng, const model& m,
                    const vitals::agent::price_table& prices) {
  auto between = [&](long lo, long hi) { return std::uniform_int_distribution(lo, hi)(rng); };
  auto chance = [&](double p) { return std::uniform_real_distribution(0.0, 1.0)(rng) < p; };
  const long in = between(2000, 40000), out = between(200, 4000);
  const long cache_read = chance(0.7) ? between(10000, 150000) : 0;
  const long cache_write = m.cache_writes && chance(0.3) ? between(1000, 20000) : 0;
  e["provider_id"] = m.provider;
  e["model_raw"] = m.name;
  e["input_tokens"] = in;
  e["output_tokens"] = out;
  e["cache_read_tokens"] = cache_read;
  e["cache_write_tokens"] = cache_write;
  vitals::agent::usage_event u;
  u.model_raw = m.name;
  u.input_tokens = in, u.output_tokens = out;
  u.cache_read_tokens = cache_read, u.cache_write_tokens = cache_write;
  e["cost_usd"] = prices.cost(u).value_or(0);
}

// Neighbouring agents use different models, so a demo with three shows three.
std::size_t usual_model(unsigned seed, int agent) { return (seed + agent) % std::size(models); }

// Prints a monitor failure at most once a minute, so an absent monitor is no flood.
void report(const std::string& who, const std::string& what) {
  static clock_type::time_point last{};
  static bool any = false;
  if (any && clock_type::now() - last < std::chrono::minutes(1)) return;
  any = true, last = clock_type::now();
  std::fprintf(stderr, "%s: %s (retrying; repeats hidden for a minute)\n", who.c_str(),
               what.c_str());
}

// ---- the worker -----------------------------------------------------------------------------

class worker {
 public:
  worker(const options& o, int index)
      : name_("agent-" + std::to_string(index)),
        // The pid keeps the sessions (and so the message ids) of two
        // simulators started in the same second apart.
        session_("sim-" + std::to_string(::getpid()) + "-" + std::to_string(index) + "-" +
                 std::to_string(std::time(nullptr))),
        rng_(o.seed + index),
        speed_(o.speed),
        client_(client::from_url(o.monitor, std::chrono::seconds(3)).value()),
        model_(usual_model(o.seed, index)) {
    client_.set_token(o.token);
  }

  void run() {
    while (nap(uniform(2, 6) / speed_) && think()) {
      flush();
      if (!use_tool()) break;
      flush();
    }
  }

 private:
  double uniform(double lo, double hi) { return std::uniform_real_distribution(lo, hi)(rng_); }
  long between(long lo, long hi) { return std::uniform_int_distribution(lo, hi)(rng_); }
  bool chance(double p) { return uniform(0, 1) < p; }

  json::object event(const char* type, double seconds) {
    return {{"occurred_at", rfc3339(std::chrono::system_clock::now())},
            {"source_system", "simulator"},
            {"source_channel", "api"},
            {"event_type", type},
            {"agent_name", name_},
            {"session_id", session_},
            {"duration_ms", static_cast<std::int64_t>(seconds * 1000)}};
  }

  bool think() {
    const double seconds = uniform(3, 10) / speed_;
    const std::size_t size = static_cast<std::size_t>(between(20, 120)) << 20;
    auto mem = std::make_unique<char[]>(size);
    std::memset(mem.get(), 0x5a, size);
    burn(seconds, uniform(0.6, 1.0), mem.get(), size);
    mem.reset();
    if (stop_requested) return false;

    const auto& m = models[chance(0.1) ? between(0, std::size(models) - 1) : model_];
    auto e = event("message_usage", seconds);
    e["message_id"] = session_ + "-msg-" + std::to_string(++messages_);
    add_model_call(e, rng_, m, prices_);
    queue(std::move(e));
    return true;
  }

  bool use_tool() {
    const double seconds = uniform(0.5, 3) / speed_;
    const auto start = clock_type::now();
    burn(seconds * 0.3, 1.0);
    file_io(static_cast<std::size_t>(between(2, 8)) << 20);
    nap(seconds - std::chrono::duration<double>(clock_type::now() - start).count());
    if (stop_requested) return false;

    auto e = event("tool_usage", seconds);
    e["tool_call_id"] = session_ + "-tool-" + std::to_string(++tool_calls_);
    e["tool_name"] = tools[between(0, std::size(tools) - 1)];
    e["status"] = chance(0.1) ? "error" : "ok";
    queue(std::move(e));
    return true;
  }

  // Written, synced and dropped from the page cache, so the reads reach the disk as well.
  void file_io(std::size_t bytes) {
    char path[] = "/tmp/vitals-sim-XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) return;
    unlink(path);  // gone even if we are killed mid-phase
    std::vector<char> chunk(1 << 20, 'a');
    bool ok = true;
    for (std::size_t done = 0; ok && done < bytes; done += chunk.size())
      ok = write(fd, chunk.data(), chunk.size()) == static_cast<ssize_t>(chunk.size());
    fsync(fd);
    posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    lseek(fd, 0, SEEK_SET);
    while (ok && read(fd, chunk.data(), chunk.size()) > 0) {
    }
    close(fd);
  }

  // Unsent events wait for the next phase; message ids let the monitor drop a repeat.
  void queue(json::object e) {
    if (pending_.size() >= 1000) pending_.erase(pending_.begin());
    pending_.push_back(std::move(e));
  }

  void flush() {
    auto r = client_.post("/api/v1/events", json::serialize(pending_));
    if (!r) return report(name_, r.error().message);
    if (r->status / 100 != 2)
      return report(name_,
                    "POST /api/v1/events: HTTP " + std::to_string(r->status) + " " + r->body);
    pending_.clear();  // rejected events would be rejected again
    boost::system::error_code ec;
    const auto answer = json::parse(r->body, ec);
    const auto* rejected =
        ec || !answer.is_object() ? nullptr : answer.as_object().if_contains("rejected");
    if (rejected && rejected->is_array() && !rejected->as_array().empty())
      report(name_, "POST /api/v1/events rejected: " + json::serialize(*rejected));
  }

  std::string name_, session_;
  std::mt19937 rng_;
  double speed_;
  client client_;
  const vitals::agent::price_table prices_ = vitals::agent::price_table::builtin();
  std::size_t model_;
  long messages_ = 0, tool_calls_ = 0;
  json::array pending_;
};

// ---- the parent -----------------------------------------------------------------------------

struct agent {
  std::string id;
  pid_t pid = 0;
  bool registered = false;
};

void register_target(client& c, agent& a) {
  // `role`, `tool` and `runtime` show in the monitor's usage summary.
  const json::object body{
      {"id", a.id},
      {"kind", "process"},
      {"pid", a.pid},
      {"labels",
       {{"agent", a.id}, {"role", "worker"}, {"tool", "agent_simulator"}, {"runtime", "process"}}}};
  auto r = c.post("/api/v1/targets", json::serialize(body));
  if (r && r->status == 409) {  // left over from an earlier run: replace it
    (void)c.del("/api/v1/targets/" + a.id);
    r = c.post("/api/v1/targets", json::serialize(body));
  }
  if (!r) return report("simulator", r.error().message);
  if (r->status != 201)
    return report("simulator",
                  "register " + a.id + ": HTTP " + std::to_string(r->status) + " " + r->body);
  a.registered = true;
}

// Posts a batch of usage events; false (and a line on stderr) when the monitor refused it.
bool post_events(client& c, const json::array& batch) {
  auto r = c.post("/api/v1/events", json::serialize(batch));
  if (!r) return std::fprintf(stderr, "history: %s\n", r.error().message.c_str()), false;
  if (r->status / 100 != 2)
    return std::fprintf(stderr, "history: HTTP %u %s\n", r->status, r->body.c_str()), false;
  return true;
}

// The usage `days` of work left: per agent and hour, a few model calls each followed by a tool
// call, more in the UTC working day. Each hour's events come from the seed, the agent and the
// hour, and their ids from the hour, so a second run adds no duplicates.
bool post_history(client& c, const options& o) {
  using namespace std::chrono;
  const auto prices = vitals::agent::price_table::builtin();
  const auto now = system_clock::now();
  const auto this_hour = floor<hours>(now);
  json::array batch;
  for (int i = 1; i <= o.agents; ++i) {
    const std::string name = "agent-" + std::to_string(i);
    for (auto h = this_hour - hours(24 * o.history_days); h <= this_hour; h += hours(1)) {
      const auto hour_index = duration_cast<hours>(h.time_since_epoch()).count();
      std::mt19937 rng(o.seed + 1000003u * i + static_cast<unsigned>(hour_index));
      auto between = [&](long lo, long hi) { return std::uniform_int_distribution(lo, hi)(rng); };
      const long hour_of_day = hour_index % 24;
      const long calls = hour_of_day >= 8 && hour_of_day < 20 ? between(1, 6) : between(0, 1);
      for (long k = 0; k < calls; ++k) {
        const auto at = h + minutes(between(0, 59)) + seconds(between(0, 59));
        if (at > now - minutes(1)) continue;
        const std::string id =
            "hist-" + name + "-" + std::to_string(hour_index) + "-" + std::to_string(k);
        json::object e{{"occurred_at", rfc3339(at)}, {"source_system", "simulator"},
                       {"source_channel", "api"},    {"event_type", "message_usage"},
                       {"agent_name", name},         {"session_id", "hist-" + name},
                       {"message_id", id + "-msg"},  {"duration_ms", between(3000, 10000)}};
        const std::size_t usual = usual_model(o.seed, i);
        add_model_call(e, rng, models[between(0, 9) == 0 ? between(0, 3) : long(usual)], prices);
        batch.push_back(std::move(e));
        batch.push_back(json::object{{"occurred_at", rfc3339(at + seconds(20))},
                                     {"source_system", "simulator"},
                                     {"source_channel", "api"},
                                     {"event_type", "tool_usage"},
                                     {"agent_name", name},
                                     {"session_id", "hist-" + name},
                                     {"tool_call_id", id + "-tool"},
                                     {"tool_name", tools[between(0, std::size(tools) - 1)]},
                                     {"status", between(0, 9) == 0 ? "error" : "ok"},
                                     {"duration_ms", between(500, 3000)}});
        if (batch.size() >= 500) {
          if (!post_events(c, batch)) return false;
          batch.clear();
        }
      }
    }
  }
  return batch.empty() || post_events(c, batch);
}

template <class T>
bool parse_number(const char* s, T& out) {
  const char* end = s + std::strlen(s);
  auto [p, ec] = std::from_chars(s, end, out);
  return ec == std::errc{} && p == end && *s != '\0';
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h")
      return std::printf(
                 "usage: %s [--monitor URL] [--agents N] [--token T] [--duration SECONDS] "
                 "[--speed X] [--seed S] [--history DAYS]\n",
                 argv[0]),
             0;
    if (i + 1 >= argc) return std::fprintf(stderr, "%s: needs a value\n", a.c_str()), 2;
    const char* v = argv[++i];
    bool ok = true;
    if (a == "--monitor")
      o.monitor = v, ok = bool(client::from_url(v));
    else if (a == "--token")
      o.token = v;
    else if (a == "--agents")
      ok = parse_number(v, o.agents) && o.agents >= 1 && o.agents <= 256;
    else if (a == "--duration")
      ok = parse_number(v, o.duration) && o.duration >= 0;
    else if (a == "--speed")
      ok = parse_number(v, o.speed) && o.speed > 0 && o.speed <= 1000;
    else if (a == "--seed")
      ok = parse_number(v, o.seed);
    else if (a == "--history")
      ok = parse_number(v, o.history_days) && o.history_days >= 0 && o.history_days <= 30;
    else
      return std::fprintf(stderr, "unknown flag '%s'; see --help\n", a.c_str()), 2;
    if (!ok) return std::fprintf(stderr, "%s: bad value '%s'\n", a.c_str(), v), 2;
  }

  install_handlers();
  if (o.history_days > 0) {
    client c = client::from_url(o.monitor, std::chrono::seconds(10)).value();
    c.set_token(o.token);
    if (!post_history(c, o)) return 1;
  }
  const pid_t parent = getpid();
  std::vector<agent> agents;
  for (int i = 1; i <= o.agents && !stop_requested; ++i) {
    const pid_t pid = fork();
    if (pid < 0) return std::perror("fork"), 1;
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(0);  // the parent died before prctl took effect
      worker(o, i).run();
      _exit(0);  // not exit(): the parent's atexit handlers and buffers are not ours
    }
    agents.push_back({"agent-" + std::to_string(i), pid});
    std::printf("agent-%d pid %d model %s\n", i, static_cast<int>(pid),
                models[usual_model(o.seed, i)].name);
    std::fflush(stdout);  // before the next fork copies the buffer
  }

  client monitor = client::from_url(o.monitor, std::chrono::seconds(5)).value();
  monitor.set_token(o.token);
  const auto end = after(o.duration);
  while (!stop_requested && (o.duration == 0 || clock_type::now() < end)) {
    for (auto& a : agents) {
      if (a.pid > 0 && waitpid(a.pid, nullptr, WNOHANG) == a.pid) {
        if (!stop_requested)
          std::fprintf(stderr, "%s (pid %d) exited\n", a.id.c_str(), static_cast<int>(a.pid));
        a.pid = 0;
      }
      if (a.pid > 0 && !a.registered) register_target(monitor, a);
    }
    nap(o.duration == 0
            ? 2.0
            : std::min(2.0, std::chrono::duration<double>(end - clock_type::now()).count()));
  }

  for (auto& a : agents)
    if (a.registered) (void)monitor.del("/api/v1/targets/" + a.id);
  for (auto& a : agents)
    if (a.pid > 0) kill(a.pid, SIGTERM);
  // Workers stop within a phase slice; one stuck past the grace period is killed.
  const auto grace = clock_type::now() + std::chrono::seconds(5);
  for (auto& a : agents) {
    while (a.pid > 0 && waitpid(a.pid, nullptr, WNOHANG) == 0) {
      if (clock_type::now() > grace)
        kill(a.pid, SIGKILL), waitpid(a.pid, nullptr, 0);
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return 0;
}
