#include "cli/progress.h"

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <sstream>

namespace terrascope::cli {
namespace {

constexpr int kBarWidth = 28;
constexpr double kRedrawEveryS = 0.1;  // terminal redraws at most ten times a second

std::string utc_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace

bool is_terminal(std::FILE* stream) {
  return isatty(fileno(stream)) == 1;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long total = std::lround(seconds);
  const long h = total / 3600, m = (total / 60) % 60, s = total % 60;
  char buffer[32];
  if (h > 0) {
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", h, m, s);
  } else if (m > 0) {
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld", m, s);
  } else {
    std::snprintf(buffer, sizeof buffer, "%lds", s);
  }
  return buffer;
}

ProgressReporter::ProgressReporter(std::string label, int total, bool terminal, double log_every_s,
                                   std::FILE* stream)
    : label_(std::move(label)),
      total_(total),
      terminal_(terminal),
      log_every_s_(log_every_s),
      stream_(stream),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  if (!terminal_) {
    std::fprintf(stream_, "%s %s: %d items to do\n", utc_timestamp().c_str(), label_.c_str(),
                 total_);
    std::fflush(stream_);
  } else {
    draw(true);
  }
}

double ProgressReporter::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

double ProgressReporter::seconds_per_item() const {
  return done_ > 0 ? elapsed_s() / done_ : 0.0;
}

std::string ProgressReporter::status_text() const {
  std::ostringstream out;
  out << done_ << "/" << total_;
  if (failed_ > 0) out << " (" << failed_ << " failed)";
  const double elapsed = elapsed_s();
  if (done_ > 0 && elapsed > 0) {
    const double rate = done_ / elapsed;
    char rate_text[48];
    if (rate >= 1.0) {
      std::snprintf(rate_text, sizeof rate_text, "%.2f items/s", rate);
    } else {
      std::snprintf(rate_text, sizeof rate_text, "%.2f s/item", 1.0 / rate);
    }
    out << ", " << rate_text << ", elapsed " << format_duration(elapsed);
    if (done_ < total_) out << ", ETA " << format_duration((total_ - done_) / rate);
  }
  return out.str();
}

void ProgressReporter::draw(bool force) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (terminal_) {
    if (!force && since < kRedrawEveryS) return;
    const int filled = total_ > 0 ? kBarWidth * done_ / total_ : kBarWidth;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kBarWidth, '.');
    const int percent = total_ > 0 ? 100 * done_ / total_ : 100;
    // \r and erase-line redraw the bar in place.
    std::fprintf(stream_, "\r\033[2K%s [%s] %3d%% %s", label_.c_str(), bar.c_str(), percent,
                 status_text().c_str());
    bar_drawn_ = true;
  } else {
    if (!force && since < log_every_s_) return;
    std::fprintf(stream_, "%s %s: %s\n", utc_timestamp().c_str(), label_.c_str(),
                 status_text().c_str());
  }
  std::fflush(stream_);
  last_draw_ = now;
  last_drawn_done_ = done_;
}

void ProgressReporter::item_done(bool ok) {
  ++done_;
  if (!ok) ++failed_;
  draw(done_ == total_);
}

void ProgressReporter::note(const std::string& line) {
  if (terminal_ && bar_drawn_) std::fprintf(stream_, "\r\033[2K");
  std::fprintf(stream_, "%s\n", line.c_str());
  if (terminal_) {
    draw(true);
  } else {
    std::fflush(stream_);
  }
}

void ProgressReporter::finish() {
  if (terminal_ || last_drawn_done_ != done_) draw(true);
  if (terminal_) std::fprintf(stream_, "\n");
  std::fflush(stream_);
}

}  // namespace terrascope::cli
