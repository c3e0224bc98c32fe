//! What the core's integration tests share: a private mount namespace per test, and the
//! strategies the running kernel has.

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use overlayfs_core::{features, Strategy};

/// Runs `test` on a new thread in a private mount namespace of its own, so that whatever
/// the test mounts dies with that thread, even if the test fails.
pub fn in_private_namespace(test: impl FnOnce() + Send + 'static) {
  std::thread::spawn(move || {
    unshare(CloneFlags::CLONE_NEWNS).expect("unshare(CLONE_NEWNS): these tests need root");
    let flags = MsFlags::MS_REC | MsFlags::MS_PRIVATE;
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>).expect("making / private");
    test();
  })
  .join()
  .unwrap_or_else(|e| std::panic::resume_unwind(e));
}

/// `legacy` and then the new-API strategies the running kernel has.
#[allow(dead_code)]
pub fn with_new_api(legacy: &[Strategy]) -> Vec<Strategy> {
  let f = features();
  let mut strategies = legacy.to_vec();
  if f.lowerdir_plus {
    strategies.push(Strategy::LowerdirPlus);
  }
  if f.fd_layers {
    strategies.push(Strategy::Fd);
  }
  strategies
}
