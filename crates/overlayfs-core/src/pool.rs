//! The mount threads: a small set of `std::thread`s that the core owns.
//!
//! Each thread gives itself a private fs state once, then takes jobs from one queue, so a
//! mount costs a channel hop rather than a thread spawn. No job ever runs on a thread of
//! Node's (libuv's pool, the main thread) or of an async runtime.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock};

use crate::fs_state;

type Job = Box<dyn FnOnce() + Send>;

/// A queue of jobs and the threads that drain it, grown on demand up to `max` threads.
pub struct Pool {
  sender: Mutex<Sender<Job>>,
  receiver: Arc<Mutex<Receiver<Job>>>,
  idle: Arc<AtomicUsize>,
  live: AtomicUsize,
  max: usize,
}

/// The most mount threads the process-wide pool keeps. Mounts serialize on the kernel's
/// mount lock, so more threads than this buy no throughput.
pub const DEFAULT_THREADS: usize = 4;

/// The process-wide pool's size: one thread fewer than the CPUs this process may run on,
/// from 1 to [`DEFAULT_THREADS`]. Building an overlay is CPU work in the kernel, and mount
/// threads on every CPU starve the event loop: with 256 mounts in flight on 2 CPUs, 4
/// threads held its p99 delay near 8 ms, 1 thread under 1 ms.
pub fn default_threads() -> usize {
  let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
  cpus.saturating_sub(1).clamp(1, DEFAULT_THREADS)
}

impl Pool {
  /// A pool that starts no thread until the first job.
  pub fn new(max: usize) -> Pool {
    let (sender, receiver) = channel();
    Pool {
      sender: Mutex::new(sender),
      receiver: Arc::new(Mutex::new(receiver)),
      idle: Arc::new(AtomicUsize::new(0)),
      live: AtomicUsize::new(0),
      max: max.max(1),
    }
  }

  /// The process-wide pool.
  pub fn global() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool::new(default_threads()))
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
    std::thread::Builder::new()
      .name(format!("overlayfs-mount-{live}"))
      .spawn(move || worker(&receiver, &idle))
      .expect("spawning a mount thread");
  }
}

fn worker(receiver: &Mutex<Receiver<Job>>, idle: &AtomicUsize) {
  // A thread that cannot unshare still runs jobs: each job's own make_private()
  // reports the failure to its caller.
  let _ = fs_state::make_private();
  loop {
    idle.fetch_add(1, Ordering::SeqCst);
    let job = receiver.lock().expect("pool receiver").recv();
    idle.fetch_sub(1, Ordering::SeqCst);
    match job {
      // A panicking job must not take the thread's place in the pool with it.
      Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
      Err(_) => return,
    }
  }
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
    let pool = Pool::new(2);
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
}
