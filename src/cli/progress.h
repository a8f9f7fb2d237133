// Progress of a long run (batch, bench) on stderr: a redrawn bar with rate and ETA on a terminal,
// periodic plain log lines otherwise (logs of a Slurm job or a container), and a summary.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace terrascope::cli {

// Whether `stream` is a terminal (bars and colours only then).
bool is_terminal(std::FILE* stream);

// "1:02:03" / "2:03" / "45s"-style durations for people.
std::string format_duration(double seconds);

class ProgressReporter {
 public:
  // `total` items to do in this run (skipped ones excluded), `label` names the run in log lines.
  // `log_every_s`: seconds between log lines when not on a terminal.
  ProgressReporter(std::string label, int total, bool terminal, double log_every_s = 30.0,
                   std::FILE* stream = stderr);

  void item_done(bool ok);             // one more item finished (ok or failed)
  void note(const std::string& line);  // a line of its own (e.g. an item's error), bar redrawn
  void finish();                       // final bar / log line and a newline

  int done() const { return done_; }
  int failed() const { return failed_; }
  double elapsed_s() const;
  double seconds_per_item() const;  // over the items finished in this run; 0 before the first

 private:
  void draw(bool force);
  std::string status_text() const;

  std::string label_;
  int total_;
  bool terminal_;
  double log_every_s_;
  std::FILE* stream_;
  int done_ = 0;
  int failed_ = 0;
  bool bar_drawn_ = false;
  int last_drawn_done_ = -1;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace terrascope::cli
