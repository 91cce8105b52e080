#include "daemon/check_worker.h"

#include <sys/eventfd.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

namespace portway::daemon {

struct CheckWorker::Shared {
  loader::UniqueFd done{::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
  std::mutex mu;
  std::condition_variable wake;
  bool stop = false;
  bool reading_now = false;
  bool trim = false;
  std::unique_ptr<dataplane::KernelReader> job;
  std::vector<std::unique_ptr<dataplane::KernelReading>> garbage;
  std::unique_ptr<dataplane::KernelReading> result;
  std::exception_ptr error;
  std::thread thread;
  pid_t tid = 0;
  std::condition_variable started;

  void run() {
    // Best effort: a failure (a seccomp filter, say) leaves the read at the loop's priority.
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
    std::unique_lock lock(mu);
    tid = ::gettid();
    started.notify_all();
    for (;;) {
      wake.wait(lock, [&] { return stop || job || !garbage.empty() || trim; });
      if (!garbage.empty()) {
        auto dropping = std::move(garbage);
        garbage.clear();
        lock.unlock();
        dropping.clear();
        lock.lock();
        continue;
      }
      if (stop) return;
      if (trim) {
        trim = false;
        lock.unlock();
        (void)::malloc_trim(0);
        lock.lock();
        continue;
      }
      std::unique_ptr<dataplane::KernelReader> reader = std::move(job);
      reading_now = true;
      lock.unlock();
      std::unique_ptr<dataplane::KernelReading> reading;
      std::exception_ptr failed;
      try {
        reading = reader->read();
      } catch (...) {
        failed = std::current_exception();
      }
      reader.reset();
      lock.lock();
      reading_now = false;
      result = std::move(reading);
      error = failed;
      const std::uint64_t one = 1;
      // Only fails when the counter would overflow, which one write per reading never does.
      (void)!::write(done.get(), &one, sizeof one);
    }
  }
};

CheckWorker::CheckWorker() : shared_(std::make_shared<Shared>()) {
  if (!shared_->done) throw std::system_error(errno, std::generic_category(), "eventfd");
  // The thread holds the shared state itself, so a detached thread never outlives it.
  shared_->thread = std::thread([s = shared_] { s->run(); });
}

CheckWorker::~CheckWorker() {
  std::unique_lock lock(shared_->mu);
  shared_->stop = true;
  const bool reading = shared_->reading_now || shared_->job;
  shared_->job.reset();
  lock.unlock();
  shared_->wake.notify_one();
  if (reading) shared_->thread.detach();
  else shared_->thread.join();
}

int CheckWorker::fd() const { return shared_->done.get(); }

pid_t CheckWorker::thread_id() const {
  std::unique_lock lock(shared_->mu);
  shared_->started.wait(lock, [&] { return shared_->tid != 0; });
  return shared_->tid;
}

void CheckWorker::start(std::unique_ptr<dataplane::KernelReader> reader) {
  if (busy_) throw std::logic_error("a check's read is already in flight");
  {
    std::lock_guard lock(shared_->mu);
    shared_->job = std::move(reader);
  }
  busy_ = true;
  shared_->wake.notify_one();
}

std::unique_ptr<dataplane::KernelReading> CheckWorker::take() {
  std::uint64_t count = 0;
  if (::read(shared_->done.get(), &count, sizeof count) < 0 && errno != EAGAIN)
    throw std::system_error(errno, std::generic_category(), "eventfd read");
  std::lock_guard lock(shared_->mu);
  if (shared_->reading_now || shared_->job) throw std::logic_error("take() before the reading is done");
  busy_ = false;
  if (auto e = std::exchange(shared_->error, nullptr)) std::rethrow_exception(e);
  return std::move(shared_->result);
}

void CheckWorker::discard(std::unique_ptr<dataplane::KernelReading> reading) {
  if (!reading) return;
  {
    std::lock_guard lock(shared_->mu);
    shared_->garbage.push_back(std::move(reading));
    shared_->trim = true;
  }
  shared_->wake.notify_one();
}

void CheckWorker::trim_heap() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->trim = true;
  }
  shared_->wake.notify_one();
}

}  // namespace portway::daemon
