//! The mount threads: a small set of `std::thread`s that the core owns.
//!
//! Each thread gives itself a private fs state once, then takes jobs from one queue, so a
//! mount costs a channel hop rather than a thread spawn. No job ever runs on a thread of
//! Node's (libuv's pool, the main thread) or of an async runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::fs_state;

type Job = Box<dyn FnOnce() + Send>;

/// A queue of jobs and the threads that drain it, grown on demand up to `max` threads.
pub struct Pool {
  sender: Mutex<Sender<Job>>,
  receiver: Arc<Mutex<Receiver<Job>>>,
  idle: Arc<AtomicUsize>,
  live: AtomicUsize,
  max: usize,
  spin: Duration,
}

/// The most mount threads the process-wide pool keeps. Mounts serialize on the kernel's
/// mount lock, so more threads than this buy no throughput.
pub const DEFAULT_THREADS: usize = 4;

/// How long a mount thread that has run out of jobs keeps polling the queue before it
/// sleeps. A caller mounting one overlay after another sends the next job some 50 µs after
/// the last one's result: a thread still polling then takes it at once, and the cycle skips
/// a wake-up of a sleeping thread. On the 2-CPU VMs here that made a 2-layer mount+unmount
/// 1.2 to 1.4 times as fast (327 to 256 µs), for at most this much CPU time per idle spell.
pub const SPIN: Duration = Duration::from_micros(100);

/// The process-wide pool's polling time: [`SPIN`], or none on a single CPU, where a polling
/// thread would only hold back the caller that is to send the next job.
pub fn default_spin() -> Duration {
  let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
  if cpus > 1 {
    SPIN
  } else {
    Duration::ZERO
  }
}

/// The process-wide pool's size: one thread fewer than the CPUs this process may run on,
/// from 1 to [`DEFAULT_THREADS`]. Building an overlay is CPU work in the kernel, and mount
/// threads on every CPU starve the event loop: with 256 mounts in flight on 2 CPUs, 4
/// threads held its p99 delay near 8 ms, 1 thread under 1 ms.
pub fn default_threads() -> usize {
  let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
  cpus.saturating_sub(1).clamp(1, DEFAULT_THREADS)
}

impl Pool {
  /// A pool that starts no thread until the first job, whose idle threads poll the queue
  /// for `spin` before they sleep.
  pub fn new(max: usize, spin: Duration) -> Pool {
    let (sender, receiver) = channel();
    Pool {
      sender: Mutex::new(sender),
      receiver: Arc::new(Mutex::new(receiver)),
      idle: Arc::new(AtomicUsize::new(0)),
      live: AtomicUsize::new(0),
      max: max.max(1),
      spin,
    }
  }

  /// The process-wide pool.
  pub fn global() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(default_threads(), default_spin()))
  }

  /// How many threads the pool has started.
  pub fn threads(&self) -> usize {
    self.live.load(Ordering::SeqCst)
  }

  /// Queues `job` for a mount thread, starting one if none is idle and the pool may grow.
  pub fn submit(&self, job: impl FnOnce() + Send + 'static) {
    if self.idle.load(Ordering::SeqCst) == 0 {
      self.grow();
    }
    let sent = self.sender.lock().expect("pool sender").send(Box::new(job));
    sent.expect("the pool's threads outlive its sender");
  }

  fn grow(&self) {
    let live = self.live.load(Ordering::SeqCst);
    if live >= self.max
      || self
        .live
        .compare_exchange(live, live + 1, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
      return;
    }
    let receiver = Arc::clone(&self.receiver);
    let idle = Arc::clone(&self.idle);
    let spin = self.spin;
    std::thread::Builder::new()
      .name(format!("overlayfs-mount-{live}"))
      .spawn(move || worker(&receiver, &idle, spin))
      .expect("spawning a mount thread");
  }
}

fn worker(receiver: &Mutex<Receiver<Job>>, idle: &AtomicUsize, spin: Duration) {
  // A thread that cannot unshare still runs jobs: each job's own make_private()
  // reports the failure to its caller.
  let _ = fs_state::make_private();
  loop {
    idle.fetch_add(1, Ordering::SeqCst);
    let job = next_job(receiver, spin);
    idle.fetch_sub(1, Ordering::SeqCst);
    match job {
      // A panicking job must not take the thread's place in the pool with it.
      Some(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
      None => return,
    }
  }
}

/// The next job: polled for during `spin`, then waited for asleep. None once the pool is
/// gone.
fn next_job(receiver: &Mutex<Receiver<Job>>, spin: Duration) -> Option<Job> {
  let until = Instant::now() + spin;
  loop {
    match receiver.lock().expect("pool receiver").try_recv() {
      Ok(job) => return Some(job),
      Err(TryRecvError::Disconnected) => return None,
      Err(TryRecvError::Empty) if Instant::now() < until => std::hint::spin_loop(),
      Err(TryRecvError::Empty) => break,
    }
  }
  receiver.lock().expect("pool receiver").recv().ok()
}

/// Runs `job` on a new thread of its own, unshared for this one job: the design the pool
/// replaces, kept to measure against it.
pub fn spawn_one(job: impl FnOnce() + Send + 'static) {
  std::thread::spawn(move || {
    let _ = fs_state::make_private();
    job();
  });
}

#[cfg(test)]
mod tests {
  use super::*;
  use std::sync::mpsc::sync_channel;

  #[test]
  fn the_default_size_leaves_a_cpu_to_the_caller() {
    let cpus = std::thread::available_parallelism().unwrap().get();
    let threads = default_threads();
    assert!((1..=DEFAULT_THREADS).contains(&threads), "{threads}");
    assert!(
      threads < cpus || threads == 1,
      "{threads} threads on {cpus} CPUs"
    );
  }

  #[test]
  fn jobs_run_on_private_pool_threads_only() {
    let pool = Pool::new(2, SPIN);
    let (tx, rx) = sync_channel(16);
    for _ in 0..16 {
      let tx = tx.clone();
      pool.submit(move || {
        let name = std::thread::current().name().unwrap_or("").to_string();
        tx.send((name, fs_state::is_private())).unwrap();
      });
    }
    for _ in 0..16 {
      let (name, private) = rx.recv().unwrap();
      assert!(name.starts_with("overlayfs-mount-"), "{name}");
      assert!(private);
    }
    assert!(pool.threads() <= 2);
  }

  #[test]
  fn a_job_is_taken_while_a_thread_polls_and_after_it_sleeps() {
    // Room for two threads: a second would start if the polling one did not count as idle.
    let pool = Pool::new(2, Duration::from_millis(20));
    let (tx, rx) = sync_channel(4);
    for pause in [
      Duration::ZERO,
      Duration::from_millis(5),
      Duration::from_millis(60),
    ] {
      if pool.threads() > 0 {
        let deadline = Instant::now() + Duration::from_secs(10);
        while pool.idle.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
          std::thread::yield_now();
        }
      }
      std::thread::sleep(pause);
      let tx = tx.clone();
      pool.submit(move || {
        tx.send(std::thread::current().name().map(str::to_string))
          .unwrap()
      });
      let name = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the job ran");
      assert_eq!(
        name.as_deref(),
        Some("overlayfs-mount-0"),
        "after {pause:?}"
      );
    }
    assert_eq!(
      pool.threads(),
      1,
      "one thread took every job, polling or asleep"
    );
  }

  #[test]
  fn a_single_cpu_gets_no_polling() {
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(default_spin().is_zero(), cpus == 1);
  }
}
