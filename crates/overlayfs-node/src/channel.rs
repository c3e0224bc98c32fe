//! How jobs reach the mount threads and their results come back: one `Channel` per
//! JavaScript thread (the main thread, or each worker), made once.
//!
//! A job finishes on a mount thread, puts its result in the channel's queue and, unless the
//! JavaScript thread is already due to look at the queue, wakes it through one threadsafe
//! function made with the channel. The JavaScript side then drains the results, a few dozen
//! per call, until none is left. So a call costs a queue push each way and at most one
//! wake-up, and no per-call handle is made on the event loop (a Promise's own deferred would
//! make and close one every time).
//!
//! The threadsafe function keeps the event loop alive only while jobs are in flight.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Env, Result, Status};
use napi_derive::napi;
use overlayfs_core::mountinfo;
use overlayfs_core::pool::{spawn_one, Pool};

use crate::values::{
  core_request, internal_error, native_entry, native_error, NativeCompletion, NativeError,
  NativeMountEntry, NativeMountRequest,
};

/// Calls the channel's `ready` callback on its JavaScript thread. Weak: it does not keep the
/// event loop alive by itself; the channel refs it while jobs are in flight.
type Wake = ThreadsafeFunction<(), (), (), Status, false, true>;

struct Ready {
  results: VecDeque<NativeCompletion>,
  /// Whether a wake-up is on its way, or the JavaScript side is still draining: either way
  /// `results` will be seen without another wake-up.
  signalled: bool,
}

struct Shared {
  ready: Mutex<Ready>,
  wake: Wake,
}

impl Shared {
  /// Hands a finished job back, waking the JavaScript thread unless a wake-up is pending.
  fn finish(&self, result: NativeCompletion) {
    let wake = {
      let mut ready = self.ready.lock().expect("channel queue");
      ready.results.push_back(result);
      !std::mem::replace(&mut ready.signalled, true)
    };
    // Closing means the JavaScript thread is gone, and with it whoever waited.
    if wake {
      let _ = self.wake.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }
  }
}

/// What a job produced.
enum Outcome {
  Failed(Option<NativeError>),
  Found(Option<NativeMountEntry>),
}

/// Jobs for the mount threads, and their results back, for one JavaScript thread.
#[napi]
pub struct Channel {
  shared: Arc<Shared>,
  /// Jobs submitted and not yet drained. Only the JavaScript thread touches it.
  in_flight: u32,
}

#[napi]
impl Channel {
  /// `ready` is called, with no arguments, when results are waiting for `drain()`.
  #[napi(constructor)]
  pub fn new(ready: Function<(), ()>) -> Result<Self> {
    let wake = ready
      .build_threadsafe_function::<()>()
      .callee_handled::<false>()
      .weak::<true>()
      .build()?;
    let ready = Mutex::new(Ready {
      results: VecDeque::new(),
      signalled: false,
    });
    Ok(Channel {
      shared: Arc::new(Shared { ready, wake }),
      in_flight: 0,
    })
  }

  /// Mounts a planned request, given field by field (see `NativeMountRequest`), on a
  /// fresh thread instead of the pool if `fresh_thread` (to measure the difference only).
  /// Its result is an error, or none on success.
  #[napi]
  #[allow(clippy::too_many_arguments)]
  pub fn mount(
    &mut self,
    env: &Env,
    id: u32,
    strategy: String,
    target: String,
    lower: String,
    lower_count: u32,
    data_layers: String,
    data_count: u32,
    upper: Option<String>,
    work: Option<String>,
    cwd: Option<String>,
    options: String,
    options_count: u32,
    data: Option<String>,
    allow_stacking: bool,
    fresh_thread: bool,
  ) -> Result<()> {
    let request = NativeMountRequest {
      strategy,
      target,
      lower,
      lower_count,
      data_layers,
      data_count,
      upper,
      work,
      cwd,
      options,
      options_count,
      data,
      allow_stacking,
    };
    self.submit(env, id, "a mount", fresh_thread, move || {
      let failed = core_request(request)
        .and_then(|req| overlayfs_core::mount(&req).map_err(native_error))
        .err();
      Outcome::Failed(failed)
    })
  }

  /// Unmounts `target` (`umount2` with `UMOUNT_NOFOLLOW`, and `MNT_DETACH` if asked).
  #[napi]
  pub fn unmount(&mut self, env: &Env, id: u32, target: String, detach: bool) -> Result<()> {
    self.submit(env, id, "an unmount", false, move || {
      let failed = overlayfs_core::unmount(target.as_ref(), detach)
        .map_err(native_error)
        .err();
      Outcome::Failed(failed)
    })
  }

  /// Finds the top-most mount at `target` in this process's mount namespace.
  #[napi]
  pub fn find_mount(&mut self, env: &Env, id: u32, target: String) -> Result<()> {
    self.submit(env, id, "a mount lookup", false, move || {
      Outcome::Found(
        mountinfo::find(target.as_ref())
          .ok()
          .flatten()
          .map(native_entry),
      )
    })
  }

  /// Up to `max` of the results that are ready, oldest first. While more are left, no new
  /// wake-up comes: the caller drains again until a drain comes back empty.
  #[napi]
  pub fn drain(&mut self, env: &Env, max: u32) -> Result<Vec<NativeCompletion>> {
    let results: Vec<NativeCompletion> = {
      let mut ready = self.shared.ready.lock().expect("channel queue");
      let taken = ready.results.len().min(max as usize);
      let results = ready.results.drain(..taken).collect();
      ready.signalled = !ready.results.is_empty();
      results
    };
    self.in_flight = self.in_flight.saturating_sub(results.len() as u32);
    if self.in_flight == 0 && !results.is_empty() {
      self.keep_alive(env, false)?;
    }
    Ok(results)
  }

  fn submit<F>(
    &mut self,
    env: &Env,
    id: u32,
    what: &'static str,
    fresh: bool,
    work: F,
  ) -> Result<()>
  where
    F: FnOnce() -> Outcome + Send + 'static,
  {
    if self.in_flight == 0 {
      self.keep_alive(env, true)?;
    }
    self.in_flight += 1;
    let shared = Arc::clone(&self.shared);
    let job = move || {
      let outcome = catch_unwind(AssertUnwindSafe(work))
        // A bug, never an outcome: still report it rather than leave the caller waiting.
        .unwrap_or_else(|_| Outcome::Failed(Some(internal_error(what))));
      let (error, entry) = match outcome {
        Outcome::Failed(error) => (error, None),
        Outcome::Found(entry) => (None, entry),
      };
      shared.finish(NativeCompletion { id, error, entry });
    };
    if fresh {
      spawn_one(job);
    } else {
      Pool::global().submit(job);
    }
    Ok(())
  }

  /// Refs the wake-up (the event loop stays alive for it) or unrefs it.
  fn keep_alive(&self, env: &Env, alive: bool) -> Result<()> {
    let wake = &self.shared.wake;
    if wake.aborted() {
      return Ok(());
    }
    let status = unsafe {
      if alive {
        sys::napi_ref_threadsafe_function(env.raw(), wake.raw())
      } else {
        sys::napi_unref_threadsafe_function(env.raw(), wake.raw())
      }
    };
    match status {
      sys::Status::napi_ok => Ok(()),
      status => Err(napi::Error::new(
        Status::from(status),
        "overlayfs: cannot ref or unref the channel's wake-up",
      )),
    }
  }
}
